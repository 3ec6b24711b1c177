"""Deterministic, bounded metrics; each returns a value in [0, 1] or None when undefined.

Evidence and passages are character spans ``(doc_id, start, end)``: retrieval is judged
by overlap with the gold evidence, not by chunk ids, so scores survive re-chunking. An
answer is judged by its own words with their markers (``Answer.words``): its lead-ins,
naming speaker and date, are metadata and never reach a metric.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from rag.answering.readability import leans_back
from rag.answering.support import MARKERS, is_supported, split_claims
from rag.terms import tokenize

Span = tuple[str, int, int]


def overlaps(a: Span, b: Span) -> bool:
    """Same document, and the shared characters cover at least half of the shorter span."""
    if a[0] != b[0]:
        return False
    shared = min(a[2], b[2]) - max(a[1], b[1])
    return shared > 0 and shared >= 0.5 * min(a[2] - a[1], b[2] - b[1])


def _first_hits(ranked: Sequence[Span], evidence: Sequence[Span], k: int) -> list[int]:
    """For each of the top-k passages, how many gold spans it is the first to find.

    Each gold span is credited once, so repeated or overlapping passages cannot push a
    score above 1.
    """
    found: set[int] = set()
    gains = []
    for passage in ranked[:k]:
        new = {i for i, e in enumerate(evidence) if i not in found and overlaps(passage, e)}
        found |= new
        gains.append(len(new))
    return gains


def hit_at_k(ranked: Sequence[Span], evidence: Sequence[Span], k: int) -> float | None:
    if not evidence:
        return None
    return 1.0 if any(_first_hits(ranked, evidence, k)) else 0.0


def recall_at_k(ranked: Sequence[Span], evidence: Sequence[Span], k: int) -> float | None:
    if not evidence:
        return None
    return sum(_first_hits(ranked, evidence, k)) / len(evidence)


def mrr(ranked: Sequence[Span], evidence: Sequence[Span]) -> float | None:
    if not evidence:
        return None
    for rank, gain in enumerate(_first_hits(ranked, evidence, len(ranked)), start=1):
        if gain:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranked: Sequence[Span], evidence: Sequence[Span], k: int) -> float | None:
    """Binary relevance: a passage counts if it finds a gold span no earlier passage found."""
    if not evidence:
        return None
    dcg = sum(1.0 / math.log2(i + 2) for i, g in enumerate(_first_hits(ranked, evidence, k)) if g)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(k, len(evidence))))
    return dcg / ideal


def _answer_tokens(answer: str) -> list[str]:
    """The answer's content words, markers left out."""
    return [t for claim in split_claims(answer) for t in tokenize(claim.text)]


def key_fact_recall(answer: str, key_facts: Sequence[str], answerable: bool, refused: bool) -> float:
    """Share of key facts present; a fact is present when all its content words are.

    A refusal scores 1 on an unanswerable question and 0 on an answerable one.
    """
    if not answerable or refused:
        return float(not answerable and refused)
    if not key_facts:
        return 1.0
    words = set(_answer_tokens(answer))
    present = sum(1 for fact in key_facts if set(tokenize(fact)) <= words)
    return present / len(key_facts)


def token_f1(answer: str, gold: str, answerable: bool, refused: bool) -> float:
    """SQuAD-style F1 over content words (stemmed), citation markers ignored."""
    if not answerable or refused:
        return float(not answerable and refused)
    got, want = Counter(_answer_tokens(answer)), Counter(tokenize(gold))
    common = sum((got & want).values())
    if common == 0:
        return 0.0
    precision, recall = common / sum(got.values()), common / sum(want.values())
    return 2 * precision * recall / (precision + recall)


def faithfulness(
    answer: str, quotes: dict[int, str], refused: bool, speakers: dict[int, list[str]] | None = None
) -> float | None:
    """Share of answer sentences supported by the quotes they cite (rag.answering.support's
    test, as the answer marks them: ``speakers``, whose words each citation is).

    A sentence citing nothing, or only numbers with no quote, is unsupported. A refusal
    or an answer with no sentences makes no claims: None.
    """
    if refused:
        return None
    claims = split_claims(answer)
    if not claims:
        return None
    whose = speakers or {}
    supported = sum(
        1
        for c in claims
        if is_supported(
            c.text,
            [quotes[n] for n in c.cites if n in quotes],
            [s for n in c.cites for s in whose.get(n, [])],
        )
    )
    return supported / len(claims)


def citation_validity(citations: Sequence[tuple[str, int, int, str]], texts: dict[str, str]) -> float | None:
    """Share of citations (doc_id, start, end, quote) whose quote is the source at its offsets."""
    if not citations:
        return None
    valid = sum(1 for doc, start, end, quote in citations if doc in texts and texts[doc][start:end] == quote)
    return valid / len(citations)


def citation_precision(cited: Sequence[Span], evidence: Sequence[Span]) -> float | None:
    """Share of citations that overlap gold evidence; None without citations."""
    if not cited:
        return None
    return sum(1 for c in cited if any(overlaps(c, e) for e in evidence)) / len(cited)


def citation_recall(cited: Sequence[Span], evidence: Sequence[Span]) -> float | None:
    """Share of gold evidence spans that some citation overlaps; None without evidence."""
    if not evidence:
        return None
    return sum(1 for e in evidence if any(overlaps(c, e) for c in cited)) / len(evidence)


def refusal_correct(answerable: bool, refused: bool) -> float:
    return float(refused != answerable)


def mean(values: Sequence[float | None]) -> float | None:
    """Mean of the defined values; None when none is defined."""
    defined = [v for v in values if v is not None]
    return sum(defined) / len(defined) if defined else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def dangling_opening(answer: str, refused: bool) -> float | None:
    """1 when a quote of the answer opens leaning on words the answer does not give (a
    pronoun or connector: "It", "These resources", "However", "Fourth,"), else 0; None for
    a refusal. Each run of words before a citation marker is one quote: what precedes it
    in the answer is another place in the sources, not its antecedent."""
    if refused:
        return None
    for segment in MARKERS.split(answer):
        sentences = split_claims(segment.strip())
        if sentences and leans_back(sentences[0].text):
            return 1.0
    return 0.0


def part_coverage(
    answer: str, unaddressed: Sequence[str], parts: Sequence[tuple[str, Sequence[str], bool]], refused: bool
) -> float | None:
    """Share of a several-part question's parts the answer covers: a part the statements
    address is covered when one of its key facts is in the answer; a part they do not
    address, when the answer names it as not addressed (or the whole answer is a refusal).
    None for a question of one part."""
    if not parts:
        return None
    words = set(_answer_tokens(answer)) if not refused else set()
    named = {t for name in unaddressed for t in tokenize(name)}
    covered = 0
    for name, facts, answerable in parts:
        if answerable:
            covered += any(set(tokenize(f)) <= words for f in facts)
        else:
            covered += refused or bool(set(tokenize(name)) & named)
    return covered / len(parts)
