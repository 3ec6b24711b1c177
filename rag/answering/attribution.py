"""Whose words, and when: every run of answer sentences from one statement is a group under
its speaker and date ("Canada, 2018"), taken from the cited document's metadata, so one
speaker's words are never presented as another's. The lead-in is a field of its group,
never part of the words checked or read for markers, whatever the metadata holds."""

from __future__ import annotations

import re
from dataclasses import replace

from rag.answering.support import MARKERS
from rag.loading import country_name
from rag.types import Answer, Document, Group

_NUMBER = re.compile(r"\d+")


def heading(doc: Document) -> Group:
    """An empty group under a document's lead-in ("Zhang Jun (China), 2020-12-03", "Kenya,
    2021"): speaker (and country), date or year, each on one line."""
    meta = doc.metadata
    country = _one_line(country_name(str(meta["country"]))) if meta.get("country") else ""
    speaker = _one_line(meta.get("speaker") or "")
    if speaker and country and speaker.lower() != country.lower() and country.lower() not in speaker.lower():
        who = f"{speaker} ({country})"
    else:
        who = speaker or country or _one_line(doc.title)
    if meta.get("uploaded"):
        # Someone's upload, whatever its name or text claims: never an official statement.
        who = f"{who} (uploaded file {doc.source.replace(chr(92), '/').rsplit('/', 1)[-1]})"
    date = _one_line(meta.get("date") or meta.get("year") or "")
    lead_in = f"{_one_line(who)[:90]}, {(date or 'undated')[:40]}"
    return Group("", (), lead_in, speaker, country, date)


def _one_line(value: object) -> str:
    return " ".join(str(value).split())


def attribution(doc: Document) -> str:
    """A document's lead-in as the answer's text writes it, before the words: "Kenya, 2021: "."""
    return f"{heading(doc).lead_in}: "


def attribute(answer: Answer) -> Answer:
    """The answer in groups: each run of sentences citing one document under that document's
    lead-in (runs from different documents are paragraphs of their own). What separates
    sentences within a run (a space, or a line before a list item) is kept."""
    if answer.refused or not answer.citations or answer.groups:
        return answer
    docs = {c.n: c.document for c in answer.citations}
    groups: list[Group] = []
    pos = 0
    for m in MARKERS.finditer(answer.text):
        segment = answer.text[pos : m.end()]
        words = segment.lstrip()
        between = segment[: len(segment) - len(words)] or " "
        cites = tuple(int(n) for n in _NUMBER.findall(m.group(0)))
        doc = docs.get(cites[0])
        head = heading(doc) if doc is not None else None
        if groups and (head is None or head.lead_in == groups[-1].lead_in):
            last = groups[-1]
            groups[-1] = replace(
                last, text=last.text + between + words, citations=tuple(dict.fromkeys(last.citations + cites))
            )
        else:
            groups.append(replace(head or Group(""), text=words, citations=tuple(dict.fromkeys(cites))))
        pos = m.end()
    tail = answer.text[pos:].strip()
    if tail and groups:
        groups[-1] = replace(groups[-1], text=f"{groups[-1].text} {tail}")
    elif tail:
        groups.append(Group(tail))
    return answer.grouped(groups)
