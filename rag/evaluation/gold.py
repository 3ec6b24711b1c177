"""Gold question sets: JSON lines with the answer, its key facts and verbatim evidence."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rag.errors import InputError
from rag.evaluation.metrics import Span
from rag.types import Document


@dataclass(frozen=True)
class GoldQuestion:
    id: str
    question: str
    answerable: bool
    answer: str
    key_facts: tuple[str, ...]
    evidence: tuple[tuple[str, str], ...]  # (source file name, verbatim quote)
    filters: dict[str, Any] = field(default_factory=dict)
    split: str = ""  # "dev" (thresholds and rules are tuned on it) or "test" (reported)
    # A several-part question's parts: (what it asks about, its key facts, whether the
    # statements address it). Their key facts are the question's when it names none.
    parts: tuple[tuple[str, tuple[str, ...], bool], ...] = ()
    # A turn of a conversation item: its place (0 the first), and the same question asked
    # on its own, whose key facts a follow-up should reach.
    turn: int = 0
    standalone: str = ""
    kind: str = ""  # what the question tests ("year_in_content", "not_named" …): scores per kind

    @property
    def follow_up(self) -> bool:
        return self.turn > 0


def _question(row: dict[str, Any], **fields: Any) -> GoldQuestion:
    parts = tuple(
        (str(p["name"]), tuple(p.get("key_facts", ())), bool(p.get("answerable", True)))
        for p in row.get("parts", ())
    )
    facts = row.get("key_facts") or [f for _, part_facts, _ in parts for f in part_facts]
    return GoldQuestion(
        id=str(row["id"]),
        question=row["question"],
        answerable=bool(row["answerable"]),
        answer=row.get("answer", ""),
        key_facts=tuple(facts),
        evidence=tuple((e["source"], e["quote"]) for e in row.get("evidence", ())),
        filters=dict(row.get("filters", {})),
        split=str(row.get("split", "")),
        parts=parts,
        standalone=str(row.get("standalone", "")),
        kind=str(row.get("kind", "")),
        **fields,
    )


def load_gold(path: Path) -> list[GoldQuestion]:
    """The gold questions in order; a conversation item (``"turns"``: questions asked one
    after another) becomes one question per turn, ids ``ID.1``, ``ID.2``…"""
    if not path.is_file():
        raise InputError(f"There is no gold set at {path}; see eval/gold/ for the format.")
    questions = []
    for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if "turns" not in row:
                questions.append(_question(row))
                continue
            for i, turn in enumerate(row["turns"]):
                extra = {"id": f"{row['id']}.{i + 1}", "split": row.get("split", "")}
                questions.append(_question({**turn, **extra}, turn=i))
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"Line {no} of {path} is not a gold question ({exc}).") from None
    if not questions:
        raise InputError(f"The gold set {path} has no questions.")
    return questions


def relabel(questions: list[GoldQuestion], path: Path) -> list[GoldQuestion]:
    """The questions as a larger index than the one they were written for answers them.

    A gold set is written over a slice; asked of the whole corpus, a question the slice
    could not answer ("What did Egypt say in 2018 …?" with no Egypt in the slice) may have
    its answer there. ``path`` holds, one JSON object a line, the items whose label
    changes (``id``, ``answerable``, ``key_facts``, ``evidence``, ``why``), each checked
    against the statements by whoever wrote it; the others are left as they are."""
    if not path.is_file():
        raise InputError(f"There is no relabelling file at {path}.")
    changes: dict[str, dict[str, Any]] = {}
    for no, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        if line.strip():
            try:
                row = json.loads(line)
                changes[str(row["id"])] = {
                    "answerable": bool(row["answerable"]),
                    "key_facts": tuple(str(f) for f in row.get("key_facts", ())),
                    "evidence": tuple((str(e["source"]), str(e["quote"])) for e in row.get("evidence", ())),
                }
            except (ValueError, KeyError, TypeError) as exc:
                raise InputError(f"Line {no} of {path} is not a relabelled question ({exc!r}).") from None
    return [replace(q, **changes[q.id]) if q.id in changes else q for q in questions]


def document_named(source: str, documents: dict[str, Document]) -> Document | None:
    """The indexed document whose source path ends with this file name."""
    for doc in documents.values():
        if doc.source == source or doc.source.rsplit("/", 1)[-1] == source:
            return doc
    return None


def evidence_spans(question: GoldQuestion, documents: dict[str, Document]) -> list[Span]:
    """Where each evidence quote stands in the indexed text; an error names what is missing."""
    spans = []
    for source, quote in question.evidence:
        doc = document_named(source, documents)
        if doc is None:
            raise InputError(
                f"Gold question {question.id} cites {source}, which is not in the index; ingest it first."
            )
        start = doc.text.find(quote)
        if start < 0:
            raise InputError(f"Gold question {question.id}: the quote is not in {source} word for word.")
        spans.append((doc.doc_id, start, start + len(quote)))
    return spans


def spread(questions: list[GoldQuestion], count: int) -> list[GoldQuestion]:
    """``count`` of the questions, spread evenly over the set; a conversation counts as one
    and keeps all its turns (its follow-ups need the turns before them)."""
    groups: dict[str, list[GoldQuestion]] = {}
    for q in questions:
        groups.setdefault(q.id.split(".")[0], []).append(q)
    chosen = list(groups.values())
    if count < len(chosen):
        step = len(chosen) / count
        chosen = [chosen[int(i * step)] for i in range(count)]
    return [q for group in chosen for q in group]
