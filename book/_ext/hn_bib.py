"""One citation style: author–year in the text *and* in the bibliography (a local extension).

sphinxcontrib-bibtex's ``author_year`` reference style cites "Higham (2002)" in the text, but the
bibliography labels come from the pybtex formatting style, whose label styles are numbers
(``plain``) or abbreviations (``alpha``). This registers a label style giving "Higham 2002" (two
authors "Nocedal & Wright 2006", more "Baydin et al. 2018", with a/b for repeats) and a
formatting style ``hn_author_year`` (``plain`` sorted by author and year, with those labels), used
via ``bibtex_default_style`` in ``_config.yml``.
"""

from __future__ import annotations

from collections import Counter

from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle


def _last(person) -> str:
    names = person.rich_prelast_names + person.rich_last_names
    return " ".join(str(n) for n in names).replace("{", "").replace("}", "")


class AuthorYearLabelStyle(BaseLabelStyle):
    """Labels "Last Year", "Last & Last Year" or "Last et al. Year", unique (a/b suffixes)."""

    def format_labels(self, sorted_entries):
        labels = [self._label(e) for e in sorted_entries]
        seen, total = Counter(), Counter(labels)
        for label in labels:
            if total[label] > 1:
                seen[label] += 1
                yield f"{label}{chr(ord('a') + seen[label] - 1)}"
            else:
                yield label

    @staticmethod
    def _label(entry) -> str:
        people = entry.persons.get("author") or entry.persons.get("editor") or []
        if not people:
            who = entry.fields.get("key") or entry.fields.get("organization") or entry.key
        elif len(people) == 1:
            who = _last(people[0])
        elif len(people) == 2:
            who = f"{_last(people[0])} & {_last(people[1])}"
        else:
            who = f"{_last(people[0])} et al."
        year = entry.fields.get("year", "n.d.")
        return f"{who} {year}"


class AuthorYearStyle(PlainStyle):
    default_label_style = "hn_author_year"
    default_sorting_style = "author_year_title"


def setup(app):
    register_plugin("pybtex.style.labels", "hn_author_year", AuthorYearLabelStyle)
    register_plugin("pybtex.style.formatting", "hn_author_year", AuthorYearStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
