"""The package's public surface: every name in __all__ exists, and importing has no side effects."""

import subprocess
import sys
import tomllib
from pathlib import Path

import hessnotes


def test_all_names_exist_and_version_matches_pyproject():
    assert all(hasattr(hessnotes, n) for n in hessnotes.__all__)
    assert len(set(hessnotes.__all__)) == len(hessnotes.__all__)
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert hessnotes.__version__ == pyproject["project"]["version"]


def test_import_is_silent_and_leaves_global_state_alone():
    code = (
        "import matplotlib, torch, numpy as np\n"
        "rc = dict(matplotlib.rcParams); dt = torch.get_default_dtype()\n"
        "state = torch.random.get_rng_state().clone(); npstate = np.random.get_state()[1].copy()\n"
        "import hessnotes, hessnotes.figures.kron, hessnotes.widgets\n"
        "assert dict(matplotlib.rcParams) == rc and torch.get_default_dtype() == dt\n"
        "assert torch.equal(torch.random.get_rng_state(), state)\n"
        "assert (np.random.get_state()[1] == npstate).all()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "" and out.stderr == ""
