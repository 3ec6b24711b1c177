"""What a refusal says about the index: exactly what it holds, in year ranges, naming each
country as a sentence would ("the United States", "Italy's statements from 2015–2024")."""

from __future__ import annotations

from collections.abc import Iterable

from rag.countries import called, possessive


def year_ranges(years: Iterable[int]) -> str:
    """Years as a reader would list them: runs of consecutive years as ranges, the rest one
    by one, the last joined by "and": "1975, 1985 and 2015–2024"."""
    ordered = sorted(set(years))
    runs: list[tuple[int, int]] = []
    for year in ordered:
        if runs and year == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], year)
        else:
            runs.append((year, year))
    parts = [str(a) if a == b else f"{a}–{b}" for a, b in runs]
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def no_country(name: str) -> str:
    return f"No statement by {name} is in the index."


def no_year(label: str, held: Iterable[int]) -> str:
    """No statement at all from the years asked (``label``: "2013", "the 1990s", "since
    2020"): the sentence says which years the index holds."""
    years = sorted(set(held))
    which = label if label.startswith(("since", "before")) else f"from {label}"
    if not years:
        return f"No statement {which} is in the index."
    return f"No statement {which} is in the index; it holds statements from {year_ranges(years)}."


def not_then(code: str, label: str, spoke: Iterable[int]) -> str:
    """The country speaks in the index, never in the years asked: which years it does."""
    which = label if label.startswith(("since", "before")) else f"from {label}"
    return f"The index holds {possessive(code)} statements from {year_ranges(spoke)}, none {which}."


def country_label(code: str, written: str, is_name: bool) -> str:
    """How a refusal names a country the question named: as written when it was written as
    a name ("Turkey", "the US"), the country's own name when it was an adjective ("Afghan")."""
    if not is_name:
        return called(code)
    return written
