"""hessnotes.provenance: the computed closing line of every chapter."""

import re
from importlib import metadata

import numpy as np
import pytest
import torch

import hessnotes
from hessnotes.provenance import provenance


def test_line_names_the_versions_that_are_installed():
    line = str(provenance())
    assert re.fullmatch(r"Executed on \d{4}-\d{2}-\d{2} with .* \(Python 3\.\d+\)\.", line)
    assert f"hessnotes {hessnotes.__version__}" in line
    assert f"torch {metadata.version('torch')}" in line and torch.__version__ in line
    assert f"numpy {np.__version__}" in line
    assert repr(provenance()) == line
    assert line in provenance()._repr_html_()


def test_extra_packages_and_a_wrong_name():
    assert "matplotlib " in str(provenance("matplotlib"))
    with pytest.raises(ValueError, match="'no-such-dist' is not an installed distribution"):
        provenance("no-such-dist")
