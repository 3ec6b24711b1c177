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


def asked_years_label(first: int, last: int) -> str:
    """The years a question asked about, as the sentence names them."""
    if last >= 9999:
        return f"since {first}"
    return str(first) if first == last else f"{first}–{last}"


def no_country(name: str) -> str:
    return f"No statement by {name} is in the index."


def no_year(first: int, last: int, held: Iterable[int], label: str = "") -> str:
    """No statement at all from the years asked: the sentence says which years it holds."""
    years = sorted(set(held))
    when = label or asked_years_label(first, last)
    which = when if when.startswith(("since", "before")) else f"from {when}"
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
