"""Run a gold set through our pipeline and the baseline; per-question rows and aggregates."""

from __future__ import annotations

import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from rag.answering.support import named_as_speakers
from rag.errors import InputError
from rag.evaluation import metrics as m
from rag.evaluation.baseline import LangChainBaseline
from rag.evaluation.gold import GoldQuestion, evidence_spans
from rag.pipeline import Pipeline
from rag.question.coverage import year_ranges
from rag.question.followup import Turn
from rag.retrieval import Filters
from rag.terms import tokenize
from rag.types import Answer, Document, Passage

CURVE_K = 10
HEADLINE = [
    "hit@1",
    "hit@5",
    "recall@5",
    "mrr",
    "ndcg@5",
    "key_facts",
    "token_f1",
    "faithfulness",
    "citation_validity",
    "citation_precision",
    "citation_recall",
    "refusal_accuracy",
]
# How the answer reads: lower is better for the first (thresholds give it a maximum).
READABILITY = ["dangling_openings", "part_coverage"]
# Conversation items: follow-up turns against the same questions asked on their own, and
# how often a follow-up repeated the answer before it though the statements hold more.
CONVERSATION = ["follow_up_key_facts", "standalone_key_facts", "follow_up_ratio", "repeated_answers"]
LOWER_IS_BETTER = {"dangling_openings", "repeated_answers", "misstated_refusals"}


@dataclass
class SystemRun:
    name: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    aggregate: dict[str, float | None] = field(default_factory=dict)
    hit_curve: list[float | None] = field(default_factory=list)
    by_kind: dict[str, dict[str, float | None]] = field(default_factory=dict)
    answers: list[Answer] = field(default_factory=list, repr=False)


@dataclass
class EvalResult:
    gold: str
    index: str
    generator: str
    k: int
    systems: dict[str, SystemRun]
    created: str


def _filters(q: GoldQuestion) -> Filters | None:
    f = q.filters
    if not f:
        return None
    countries = (f["country"],) if "country" in f else ()
    year_from = f.get("year", f.get("year_from"))
    year_to = f.get("year", f.get("year_to"))
    return Filters(countries=countries, year_from=year_from, year_to=year_to)


def _score(
    q: GoldQuestion,
    evidence: list[m.Span],
    ranked: list[Passage],
    answer: Answer,
    latency_ms: float,
    texts: dict[str, str],
) -> dict[str, Any]:
    spans = [(p.doc_id, p.start, p.end) for p in ranked]
    cited = [(c.doc_id, c.start, c.end) for c in answer.citations]
    words = answer.words  # lead-ins left out: metadata, not claims
    answer_words = set(tokenize(words))
    return {
        "id": q.id,
        "kind": q.kind,
        "question": q.question,
        "answerable": q.answerable,
        "refused": answer.refused,
        "answer": answer.text,
        "generator": answer.generator,
        "note": answer.note,
        "latency_ms": round(latency_ms, 1),
        "hit@1": m.hit_at_k(spans, evidence, 1),
        "hit@5": m.hit_at_k(spans, evidence, 5),
        "recall@5": m.recall_at_k(spans, evidence, 5),
        "mrr": m.mrr(spans, evidence),
        "ndcg@5": m.ndcg_at_k(spans, evidence, 5),
        "hit_curve": [m.hit_at_k(spans, evidence, k) for k in range(1, CURVE_K + 1)],
        "key_facts": m.key_fact_recall(words, q.key_facts, q.answerable, answer.refused),
        "missed_facts": [f for f in q.key_facts if not set(tokenize(f)) <= answer_words]
        if q.answerable
        else [],
        "token_f1": m.token_f1(words, q.answer, q.answerable, answer.refused),
        "faithfulness": m.faithfulness(
            words,
            {c.n: c.quote for c in answer.citations},
            answer.refused,
            {c.n: named_as_speakers([c.document]) for c in answer.citations},
        ),
        "citation_validity": m.citation_validity(
            [(c.doc_id, c.start, c.end, c.quote) for c in answer.citations], texts
        ),
        "citation_precision": m.citation_precision(cited, evidence),
        "citation_recall": m.citation_recall(cited, evidence),
        "refusal_accuracy": m.refusal_correct(q.answerable, answer.refused),
        "dangling_openings": m.dangling_opening(words, answer.refused),
        "part_coverage": m.part_coverage(words, answer.unaddressed, q.parts, answer.refused),
        "unaddressed": list(answer.unaddressed),
        "retrieved": [
            {
                "source": p.document.source,
                "start": p.start,
                "end": p.end,
                "relevant": any(m.overlaps(s, e) for e in evidence),
            }
            for p, s in zip(ranked[:5], spans, strict=False)
        ],
        "citations": [c.to_json() for c in answer.citations],
    }


def _aggregate(run: SystemRun) -> None:
    rows = run.rows
    agg: dict[str, float | None] = {name: m.mean([r[name] for r in rows]) for name in HEADLINE + READABILITY}
    latencies = [r["latency_ms"] for r in rows]
    agg["latency_p50_ms"] = m.percentile(latencies, 50)
    agg["latency_p95_ms"] = m.percentile(latencies, 95)
    agg["questions"] = len(rows)
    agg["false_refusals"] = sum(1 for r in rows if r["answerable"] and r["refused"])
    agg["missed_refusals"] = sum(1 for r in rows if not r["answerable"] and not r["refused"])
    agg["fallbacks"] = sum(1 for r in rows if r["note"])
    agg["misstated_refusals"] = sum(1 for r in rows if r.get("misstates"))
    run.aggregate = agg
    run.by_kind = by_kind(rows)
    run.hit_curve = [m.mean([r["hit_curve"][i] for r in rows]) for i in range(CURVE_K)]


def by_kind(rows: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Per kind of question (the gold set's ``kind``): how many, refusal accuracy, the
    share of answerable ones refused, key facts and refusals that misstate the index."""
    out: dict[str, dict[str, float | None]] = {}
    for kind in sorted({r.get("kind") or "" for r in rows} - {""}):
        mine = [r for r in rows if r.get("kind") == kind]
        answerable = [r for r in mine if r["answerable"]]
        out[kind] = {
            "questions": len(mine),
            "refusal_accuracy": m.mean([r["refusal_accuracy"] for r in mine]),
            "false_refusal_rate": m.mean([float(r["refused"]) for r in answerable]) if answerable else None,
            "key_facts": m.mean([r["key_facts"] for r in answerable]) if answerable else None,
            "misstated_refusals": sum(1 for r in mine if r.get("misstates")),
        }
    return out


def misstates(answer: Answer, documents: list[Document]) -> bool:
    """Whether a refusal says the index lacks what it holds: a country, year, venue or a
    country's statements from a year that the documents themselves show, read from their
    metadata afresh (not from the coverage the refusal was written from)."""
    about_index = "in the index" in answer.text or answer.text.startswith("The index holds")
    if not answer.refused or not answer.scope or not about_index:
        return False  # not a refusal about what the index holds
    scope = answer.scope
    countries = [p for p in scope.get("countries", []) if p.get("held") is not None]
    years = [p for p in scope.get("years", []) if p.get("held") is not None]

    def held_year(doc: Document, part: dict[str, Any]) -> bool:
        first, last = (part["value"], part["value"]) if isinstance(part["value"], int) else part["value"]
        year = doc.metadata.get("year")
        return isinstance(year, int) and first <= year <= last

    for part in countries:
        if not part["held"] and any(d.metadata.get("country") == part["code"] for d in documents):
            return True
    for part in years:
        if not part["held"] and any(held_year(d, part) for d in documents):
            return True
    venues = [p["value"] for p in scope.get("venues", []) if p.get("held")]
    if countries and years and all(p["held"] for p in countries + years):
        # Each held on its own, so the claim is "none by that country from then" (at that
        # venue, when one is named): truly none?
        codes = {p["code"] for p in countries}
        spoke = [
            d
            for d in documents
            if d.metadata.get("country") in codes
            and all(v in str(d.metadata.get("venue", "")).lower() for v in venues)
        ]
        if any(held_year(d, y) for d in spoke for y in years):
            return True
    if answer.text.startswith("The index holds") and len(countries) == 1:
        # "… holds Italy's statements from 2015–2024 …": exactly the years Italy spoke.
        code = countries[0]["code"]
        spoke_in = {d.metadata.get("year") for d in documents if d.metadata.get("country") == code}
        return f" from {year_ranges(y for y in spoke_in if isinstance(y, int))}, none" not in answer.text
    return False


def _run_system(
    name: str,
    gold: list[GoldQuestion],
    spans: dict[str, list[m.Span]],
    texts: dict[str, str],
    ask: Callable[[GoldQuestion], Answer],
    rank: Callable[[GoldQuestion], list[Passage]],
    progress: bool,
) -> SystemRun:
    run = SystemRun(name)
    for q in tqdm(gold, desc=f"Evaluating {name}", unit="question", disable=None if progress else True):
        started = time.perf_counter()
        answer = ask(q)
        latency = (time.perf_counter() - started) * 1000
        run.rows.append(_score(q, spans[q.id], rank(q), answer, latency, texts))
        run.answers.append(answer)
    _aggregate(run)
    return run


def evaluate(
    pipeline: Pipeline,
    gold: list[GoldQuestion],
    gold_name: str,
    k: int | None = None,
    generator: str | None = None,
    baseline: bool = True,
    progress: bool = True,
) -> EvalResult:
    documents = {d.doc_id: d for d in pipeline.documents(whole=True)}
    spans = {q.id: evidence_spans(q, documents) for q in gold}
    texts = {d.doc_id: d.text for d in documents.values()}
    k = k or pipeline.settings.k
    generator = generator or pipeline.settings.generator
    conversation: list[Turn] = []

    def ask(q: GoldQuestion) -> Answer:
        if not q.follow_up:
            conversation.clear()
        answer = pipeline.ask(
            q.question, k=k, filters=_filters(q), generator=generator, history=list(conversation)
        )
        conversation.append(Turn.of(q.question, answer))
        return answer

    def rank(q: GoldQuestion) -> list[Passage]:
        # A follow-up is searched as it was understood.
        return pipeline.search(conversation[-1].searched if q.follow_up else q.question, CURVE_K, _filters(q))

    ours = _run_system("ours", gold, spans, texts, ask, rank, progress)
    for row, answer in zip(ours.rows, ours.answers, strict=True):
        row["misstates"] = misstates(answer, list(documents.values()))
    _aggregate(ours)
    _score_conversations(
        ours,
        gold,
        lambda q: pipeline.ask(q.standalone or q.question, k=k, filters=_filters(q), generator=generator),
    )
    systems = {"ours": ours}
    if baseline:
        plain = LangChainBaseline(list(documents.values()), pipeline.embedder)

        def allowed(q: GoldQuestion) -> set[str] | None:
            f = _filters(q)
            return {d.doc_id for d in documents.values() if f.matches(d)} if f else None

        systems["baseline"] = _run_system(
            "baseline",
            gold,
            spans,
            texts,
            ask=lambda q: plain.answer(q.question, allowed(q)),
            rank=lambda q: plain.retrieve(q.question, CURVE_K, allowed(q)),
            progress=progress,
        )
    return EvalResult(
        gold_name, str(pipeline.settings.index_dir), generator, k, systems, time.strftime("%Y-%m-%d %H:%M:%S")
    )


def _score_conversations(
    run: SystemRun, gold: list[GoldQuestion], ask_alone: Callable[[str], Answer]
) -> None:
    """Follow-up turns: their key facts beside the same questions asked on their own, and
    whether each repeated the answer before it (quoted exactly the same words again)."""
    by_id = {q.id: q for q in gold}
    follow_ups, previous = [], None
    for row in run.rows:
        q = by_id[row["id"]]
        if q.follow_up and previous is not None:
            alone = ask_alone(q)
            row["standalone_key_facts"] = m.key_fact_recall(
                alone.words, q.key_facts, q.answerable, alone.refused
            )
            before = [(c["doc_id"], c["start"], c["end"]) for c in previous["citations"]]
            now = [(c["doc_id"], c["start"], c["end"]) for c in row["citations"]]
            repeated = bool(now) and set(now) == set(before)  # the same quotes again
            row["repeated_answer"] = float(repeated) if q.answerable else None
            follow_ups.append(row)
        previous = row
    agg = run.aggregate
    agg["follow_up_key_facts"] = m.mean([r["key_facts"] for r in follow_ups])
    agg["standalone_key_facts"] = m.mean([r["standalone_key_facts"] for r in follow_ups])
    alone = agg["standalone_key_facts"]
    agg["follow_up_ratio"] = agg["follow_up_key_facts"] / alone if follow_ups and alone else None
    agg["repeated_answers"] = m.mean([r["repeated_answer"] for r in follow_ups])


def check_thresholds(result: EvalResult, path: Path) -> list[str]:
    """Every metric of ours below its minimum (above its maximum, for one where lower is
    better) in the thresholds file, as sentences."""
    if not path.is_file():
        raise InputError(f"There is no thresholds file at {path}.")
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"The thresholds file {path} is not valid TOML ({exc}).") from None
    if result.gold not in config:
        raise InputError(f"{path} has no [{result.gold}] table of minimums for this gold set.")
    ours = result.systems["ours"].aggregate
    failures = []
    for metric, minimum in config[result.gold].items():
        if metric not in ours:
            known = ", ".join(HEADLINE + READABILITY + CONVERSATION)
            raise InputError(f"{path} names an unknown metric '{metric}'; known: {known}.")
        value = ours[metric]
        shown = value if value is None else f"{value:.3f}"
        if metric in LOWER_IS_BETTER:
            if value is not None and value > minimum:
                failures.append(f"{metric} is {shown}, above {minimum}")
        elif value is None or value < minimum:
            failures.append(f"{metric} is {shown}, below {minimum}")
    return failures
