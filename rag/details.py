"""What a user says of an uploaded statement (who spoke, for which country, when), kept in
``NAME.meta.json`` beside the upload, where loading reads it (``rag/loading.py``). Only
what a user gave or confirmed is written: the country a text names is offered, never
set on its own."""

from __future__ import annotations

import functools
import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

from rag import countries
from rag.errors import InputError
from rag.loading import checked_metadata, country_code, parse_date, sidecar_of
from rag.types import Document

FIELDS = ("country", "speaker", "date")  # what the app lets a user set
HEAD = 3000  # characters of a statement read for the country it names


def given(path: Path) -> dict[str, Any]:
    """What the file beside ``path`` says of it (nothing when there is none or it is unreadable:
    loading then says why)."""
    try:
        data = json.loads(sidecar_of(path).read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def checked(country: str = "", speaker: str = "", date: str = "") -> dict[str, Any]:
    """A user's entries as metadata, or one sentence (``InputError``) saying which is wrong.
    An empty entry gives nothing: the statement's own text says it."""
    entries: dict[str, Any] = {}
    country, speaker, date = (" ".join(str(v or "").split()) for v in (country, speaker, date))
    if country:
        code = country_code(country)
        if code is None:
            raise InputError(
                f"{country[:60]!r} is not a country's name or three-letter code (such as Kenya or KEN)."
            )
        entries["country"] = code
    if speaker:
        entries["speaker"] = speaker
    if date:
        entries.update(parse_date(date))
    out, problem = checked_metadata(entries, "Your entry")
    if problem:
        raise InputError(problem + ".")
    return out


def keep(path: Path, entries: dict[str, Any], fields: tuple[str, ...] = FIELDS) -> None:
    """Write ``entries`` beside the upload at ``path``: each of ``fields`` as given (absent:
    no longer set), every other key as it was. Whole or not at all."""
    kept = {
        k: v for k, v in given(path).items() if k not in fields and not (k == "year" and "date" in fields)
    }
    kept.update(entries)
    target = sidecar_of(path)
    if not kept:
        target.unlink(missing_ok=True)
        return
    partial = target.with_name(f".{target.name}.part")
    try:
        partial.write_text(json.dumps(kept, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def suggested_country(doc: Document) -> str | None:
    """The country a statement seems to be by, for a user to confirm: one its title names,
    else the one its opening names most often (at least twice); None when unclear."""
    title = str(doc.metadata.get("title") or "")
    in_title = _named(title)
    if in_title:
        return in_title[0]
    counts = Counter(_named(doc.text[:HEAD]))
    top = counts.most_common(2)
    if not top or top[0][1] < 2 or (len(top) > 1 and top[1][1] == top[0][1]):
        return None
    return top[0][0]


def _named(text: str) -> list[str]:
    """The codes of the countries named in ``text``, in order (names and demonyms)."""
    pattern, codes = _names()
    return [codes[m.group(0).lower()] for m in pattern.finditer(text)]


@functools.cache
def _names() -> tuple[re.Pattern[str], dict[str, str]]:
    """Every country name and demonym longer than three letters ("us" is a word) to its code,
    and one pattern finding them, longest first."""
    by_name = countries.names()
    codes = {n: c for n, c in by_name.items() if len(n) > 3}
    codes.update({d: by_name[n] for d, n in countries.demonym_names().items() if n in by_name and len(d) > 3})
    words = sorted(codes, key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b", re.IGNORECASE), codes
