"""Whose words, and when: every run of answer sentences from one statement opens with its
speaker and date ("Canada, 2018: …"), taken from the cited document's metadata, so one
speaker's words are never presented as another's."""

from __future__ import annotations

import re
from dataclasses import replace

from rag.answering.support import MARKERS, strip_lead_in
from rag.loading import country_name
from rag.types import Answer, Document


def attribution(doc: Document) -> str:
    """The lead-in for a document's sentences ("Zhang Jun (China), 2020-12-03: ", "Kenya,
    2021: "): speaker (and country), date or year."""
    meta = doc.metadata
    country = country_name(str(meta["country"])) if meta.get("country") else ""
    speaker = str(meta.get("speaker") or "").strip()
    if speaker and country and speaker.lower() != country.lower() and country.lower() not in speaker.lower():
        who = f"{speaker} ({country})"
    else:
        who = speaker or country or doc.title
    if meta.get("uploaded"):
        # Someone's upload, whatever its name or text claims: never an official statement.
        who = f"{who} (uploaded file {doc.source.replace(chr(92), '/').rsplit('/', 1)[-1]})"
    when = str(meta.get("date") or meta.get("year") or "undated")
    return f"{' '.join(who.split())[:90]}, {when}: "


def answer_body(text: str) -> str:
    """The answer's own words: lead-ins removed (they are metadata, checked separately)."""
    return " ".join(strip_lead_in(part) for part in re.split(r"(?<=\])\s+", text))


def attribute(answer: Answer) -> Answer:
    """Open each run of sentences citing one document with that document's lead-in; runs
    from different documents are paragraphs of their own. What separates sentences within a
    run (a space, or a line before a list item) is kept."""
    if answer.refused or not answer.citations:
        return answer
    docs = {c.n: c.document for c in answer.citations}
    text = ""
    pos, current = 0, None
    for m in MARKERS.finditer(answer.text):
        segment = answer.text[pos : m.end()]
        body = strip_lead_in(segment.lstrip())
        between = segment[: len(segment) - len(segment.lstrip())] or " "
        doc = docs.get(int(re.search(r"\d+", m.group(0)).group(0)))  # type: ignore[union-attr]
        lead = attribution(doc) if doc is not None else ""
        if lead and lead != current:
            text += ("\n\n" if text else "") + lead + body
            current = lead
        else:
            text += (between if text else "") + body
        pos = m.end()
    tail = answer.text[pos:].strip()
    if tail:
        text += " " + tail
    return replace(answer, text=text.strip())
