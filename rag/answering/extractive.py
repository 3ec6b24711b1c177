"""The extractive generator: the retrieved sentences that best answer the question, each
cited by its exact offsets."""

from __future__ import annotations

import copy
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Protocol

import numpy as np

from rag.answering.answerability import CLOSE, ORDINAL_ITEM, Scoped, not_answered, with_countries
from rag.answering.quoting import Candidate, merge, next_sentence, quote_text, stand_alone
from rag.answering.readability import announces, is_list_item, is_salutation, leans_back, near_duplicate
from rag.embedding import Embedder
from rag.loading import country_name
from rag.question import Question
from rag.question.asks import Asks, asks_of
from rag.question.followup import NOTHING_NEW, Turn
from rag.question.parts import Part, asked_topic
from rag.question.text import without_context
from rag.retrieval import Reading, within
from rag.splitting import split_sentences
from rag.terms import tokenize
from rag.types import Answer, Citation, Passage

REFUSAL = "The statements do not address this question."
Span = tuple[str, int, int]  # (doc_id, start, end)
SENTENCE_CACHE = 20_000  # candidate sentence vectors kept between answers (about 30 MB)
PER_PART = 2  # sentences chosen for each part of a several-part question
CEILING = 8  # sentences an answer quotes at most, continuations included
# How far below the refusal threshold the sentence after a chosen one may score and still
# be added as its continuation (calibrated on the corpus dev half: docs/answers.md).
CONTINUE_SLACK = 0.1
# The same, for the next sentence of the same paragraph: it goes on with the same point.
PARAGRAPH_SLACK = 0.15
MAX_ITEMS = 6  # items of a list of no stated length followed after the sentence announcing it
ITEM_SENTENCES = 4  # sentences one item of such a list may take
FOLLOWING_CHARS = 1500  # of a statement after a sentence, where a list it announces goes on

# Two or more capitalised words: a name (a line break may fall between them).
_NAME = re.compile(r"\b[A-Z][a-z]+(?:(?:-|\s+)[A-Z][a-z]+)+")
_DATE = re.compile(
    r"\b(1[89]\d\d|20\d\d)\b|\b(january|february|march|april|may|june|july|august|"
    r"september|october|november|december|monday|tuesday|wednesday|thursday|friday)\b",
    re.I,
)
_NUMBER = re.compile(
    r"\b\d[\d,.]*\b|\b(one|two|three|four|five|six|seven|eight|nine|ten|dozen|"
    r"hundred|thousand|million|billion)\b",
    re.I,
)
# A place named after a preposition inside the sentence ("will begin in Oslo", "held at
# Geneva", "travelled to Liberia"): what a "where" question asks for.
_PLACE = re.compile(r"(?<=[\w,;] )(?:in|at|to|from)\s++(?:the\s++)?([A-Z][a-z]{2,}+)")
# Capitalised words after "in", "to" that name a body or an office, not a place.
_NOT_PLACE = frozenset(
    "general united security assembly council government organization secretary president "
    "committee member members conference commission charter declaration agenda court".split()
)


class Generator(Protocol):
    """What answers a question from its passages: quotes (``ExtractiveGenerator``) or a
    model's prose checked against them (``LLMGenerator``). Both take the question as read
    once (``Question``) and the snapshot the answer reads."""

    name: str

    @property
    def quoting(self) -> ExtractiveGenerator:
        """What quotes the statements: the answer itself, or what a model's answer must agree
        with and falls back to."""
        ...

    def standalone(self, question: str, turns: Sequence[Turn]) -> str | None:
        """A follow-up made standalone by a model; None where the reading's rules decide."""
        ...

    def stream(
        self, question: Question, passages: list[Passage], quoted: Answer, snapshot: Reading | None = None
    ) -> Iterator[str | Answer]:
        """The answer's text as it is written, then the Answer (always last); ``quoted``:
        the statements' own answer (``quoting.generate``)."""
        ...


def _answer_type_bonus(question: str, sentence: str) -> float:
    """Reward sentences holding the kind of thing the question asks for."""
    kind = asks_of(question).kind
    if kind == "person":
        asked = set(tokenize(question))
        names = [n for n in _names(sentence) if not set(tokenize(n)) <= asked]
        return 0.08 * min(len(names), 2)
    if kind == "date":
        return 0.1 if _DATE.search(sentence) else 0.0
    if kind == "figure":
        return 0.1 if _NUMBER.search(sentence) else 0.0
    if kind == "place":
        asked = set(tokenize(question))
        places = [m.group(1) for m in _PLACE.finditer(sentence) if m.group(1).lower() not in _NOT_PLACE]
        return 0.1 if any(not set(tokenize(p)) <= asked for p in places) else 0.0
    return 0.0


def _in_context(c: Candidate, named: frozenset[str]) -> str:
    """A sentence as it is compared with a question that names whose words or when: under
    its statement's speaker and year, as the question names them. Otherwise a sentence
    repeating the speaker's name ("Sweden is prepared to do its part.") would outrank the
    one that answers, since every sentence of the statement is Sweden's."""
    if not named:
        return c.text
    meta = c.document.metadata
    country = country_name(str(meta["country"])) if meta.get("country") else ""
    who = " ".join(str(country or meta.get("speaker") or "").split()) if "who" in named else ""
    when = str(meta.get("year") or meta.get("date") or "") if "when" in named else ""
    lead = ", ".join(x for x in (who, when) if x)
    return f"{lead}: {c.text}" if lead else c.text


def _named_roles(question: Question) -> frozenset[str]:
    """Whether the question (or one of its parts) names whose statements ("who") and when
    ("when"), as the index holds them."""
    scopes = [question.scope, *(p.scope for p in question.parts if p.scope is not None)]
    kinds = {p.kind for scope in scopes for p in scope.parts if p.held}
    roles = {"who"} if kinds & {"country", "speaker"} else set()
    return frozenset(roles | ({"when"} if "year" in kinds else set()))


def _names(sentence: str) -> list[str]:
    """The names a sentence holds: capitalised words in a row, less an opening function word
    ("In Argentina", "The Council" are not names; "Kofi Awoonor was …" opens with one)."""
    out = []
    for m in _NAME.finditer(sentence):
        words = m.group(0).split()
        if not tokenize(words[0]):
            words = words[1:]
        if len(words) >= 2:
            out.append(" ".join(words))
    return out


class SentenceVectors:
    """Vectors of candidate sentences; the ones met in earlier answers come from a cache
    (related questions retrieve the same passages), shared by concurrent questions."""

    def __init__(self, embedder: Embedder):
        self.embedder = embedder
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def of(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            found = {t: self._cache[t] for t in texts if t in self._cache}
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:  # embedded outside the lock: other questions go on meanwhile
            found.update(zip(missing, self.embedder.embed(missing), strict=True))
        with self._lock:
            for text in texts:
                self._cache[text] = found[text]
                self._cache.move_to_end(text)
            while len(self._cache) > SENTENCE_CACHE:
                self._cache.popitem(last=False)
        return np.vstack([found[t] for t in texts])

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()


class ExtractiveGenerator:
    """Answers with the retrieved sentences that best answer the question, each cited.

    Faithful by construction: every answer sentence is a verbatim span of a source.
    A sentence's score is its cosine similarity to the question (the sentence under its
    speaker and year where the question names them), plus 0.3 times the
    share of the question's (idf-weighted) words it contains, plus a small bonus when
    it holds what a who/when/how-many question asks for. It refuses when no sentence
    scores ``min_relevance`` (calibrated in docs/refusal.md).
    """

    name = "extractive"

    def __init__(
        self,
        embedder: Embedder,
        min_relevance: float = 0.52,
        max_sentences: int = 3,
        margin: float = 0.12,
    ):
        self.embedder = embedder
        self.min_relevance = min_relevance
        self.max_sentences = max_sentences
        self.margin = margin
        self.idf: Callable[[str], float] = lambda term: 1.0  # one answer's: its snapshot's
        self.scope_words: Scoped | None = None  # one answer's: the words of the statements scoped to
        self.parts: tuple[Part, ...] = ()  # one answer's: the parts of the question, as read
        self.named: frozenset[str] = frozenset()  # one answer's: "who", "when" where the question names them
        # One answer's: "What else?" asks the earlier question again for the rest of what
        # was said on it, whatever its kind ("anything else?" after "how many …" is not
        # asking for more figures).
        self.again = False
        self.sentences = SentenceVectors(embedder)

    @property
    def quoting(self) -> ExtractiveGenerator:
        return self

    def standalone(self, question: str, turns: Sequence[Turn]) -> str | None:
        return None  # the reading's rules make a follow-up standalone

    def stream(
        self, question: Question, passages: list[Passage], quoted: Answer, snapshot: Reading | None = None
    ) -> Iterator[str | Answer]:
        yield quoted

    def _reading(
        self, question: Question, passages: list[Passage], snapshot: Reading | None
    ) -> ExtractiveGenerator:
        """This generator for one answer: weighing words by their rarity in the snapshot the
        answer reads (not in whatever the index holds by the time it scores them), and
        knowing the words of the statements the question is scoped to, where what it asks
        about must be named for it to be answered."""
        reader = copy.copy(self)
        reader.parts = question.parts
        reader.named = _named_roles(question)
        reader.again = question.again
        if snapshot is not None:
            reader.idf = snapshot.engine.idf

            def scoped() -> Scoped | None:
                texts = snapshot.scope_texts(question.scope, passages)
                return Scoped(texts) if texts is not None else None

            # The attempts at one answer (a follow-up's up to three) read the same statements.
            docs = tuple(dict.fromkeys(p.doc_id for p in passages))
            key = ("scoped", question.scope.kept_to_speakers, docs)
            reader.scope_words = snapshot.remembered(key, scoped)
        return reader

    def score(self, question: str, candidates: list[Candidate]) -> list[Candidate]:
        if not candidates:
            return []
        query = self.embedder.embed_query(question)
        sims = self.sentences.of([_in_context(c, self.named) for c in candidates]) @ query
        asked = set(tokenize(question))
        weight = {t: self.idf(t) for t in asked}
        total = sum(weight.values()) or 1.0
        scored = []
        for c, sim in zip(candidates, sims, strict=True):
            # Rare question words ("chaired") count for more than common ones ("security");
            # the speaker's name belongs to every sentence of their statement.
            context = f"{c.text} {c.document.metadata.get('speaker', '')}"
            overlap = sum(weight[t] for t in asked & set(tokenize(context))) / total
            typed = 0.0 if self.again else _answer_type_bonus(question, c.text)
            score = float(sim) + 0.3 * overlap + typed
            scored.append(replace(c, similarity=float(sim), score=score))
        return scored

    def _plain(self, question: str, scored: list[Candidate]) -> list[Candidate]:
        """The sentences scored each on its own, without the lead-in naming its speaker and
        year, which lifts every sentence of the statements a question names alike: the scale
        on which the refusal threshold and ``CLOSE`` are calibrated (docs/refusal.md)."""
        if not self.named:
            return scored
        sims = self.sentences.of([c.text for c in scored]) @ self.embedder.embed_query(question)
        return [
            replace(c, similarity=float(sim), score=c.score - c.similarity + float(sim))
            for c, sim in zip(scored, sims, strict=True)
        ]

    def clear_cache(self) -> None:
        self.sentences.clear()

    def generate(
        self,
        question: Question,
        passages: list[Passage],
        snapshot: Reading | None = None,
        earlier: Sequence[Span] | None = None,
        brief: bool = False,
    ) -> Answer:
        """The answer from ``passages`` of ``snapshot``; ``earlier``: spans (doc_id, start,
        end) not to quote again (by default what the conversation's earlier answers cited,
        for "What else?"). When they are all the statements found hold on the question, it
        says so. ``brief``: the one best sentence."""
        reader = self._reading(question, passages, snapshot)
        spans = question.cited if earlier is None else earlier
        return reader._generate(question.text, passages, spans, brief)

    def _generate(
        self, question: str, passages: list[Passage], earlier: Sequence[Span], brief: bool
    ) -> Answer:
        # A date line ("2020-12-03 01:01") is quoted only to say when.
        dated = asks_of(question).kind == "date"
        candidates = [c for c in candidates_of(passages) if dated or len(c.text.split()) >= 5]
        if brief:
            return self._brief(question, candidates, passages)
        if not earlier:
            return self._answer(question, candidates, passages)
        return _more(self, question, candidates, passages, earlier)

    def _answer(
        self,
        question: str,
        candidates: list[Candidate],
        passages: list[Passage],
        cited: Sequence[Candidate] = (),
    ) -> Answer:
        parts = self.parts
        if len(parts) > 1:
            return _answer_parts(self, question, parts, candidates, passages, cited)
        scored = self.score(question, candidates)
        refused = self._refusal(question, scored, passages)
        if refused is not None:
            return refused
        chosen = _choose(scored, self.max_sentences, self.margin, self.min_relevance, cited)
        topic = asked_topic(without_context(question))
        if topic and not any(_names_topic(topic, c.text) for c in chosen):
            # None of them names what is asked about: the sentences that do, when any come
            # close to relevant ("What did it say about peacekeeping?": "… all peacekeepers …").
            floor = self.min_relevance - CONTINUE_SLACK
            naming = [c for c in scored if _names_topic(topic, c.text)]
            chosen = _choose(naming, self.max_sentences, self.margin, floor, cited) or chosen
        chosen = _continued(self, question, chosen, cited)
        return _compose(self.name, question, chosen + _typed(question, scored, chosen, cited, self), passages)

    def _brief(self, question: str, candidates: list[Candidate], passages: list[Passage]) -> Answer:
        scored = self.score(question, candidates)
        refused = self._refusal(question, scored, passages)
        return refused or _compose(self.name, question, _choose(scored, 1, 0.0, self.min_relevance), passages)

    def _refusal(self, question: str, scored: list[Candidate], passages: list[Passage]) -> Answer | None:
        """The refusal that fits, when no sentence answers the question."""
        if not scored:
            return _refusal_of(self.name, question, passages, REFUSAL)
        plain = self._plain(question, scored)
        if max(c.score for c in plain) < self.min_relevance:
            return _refusal_of(self.name, question, passages, REFUSAL)
        best = max(plain, key=lambda c: c.score)
        passing = [c for c in scored if c.score >= self.min_relevance]
        relevant = [c.text for c in passing]
        following = [c.document.text[c.end : c.end + FOLLOWING_CHARS] for c in passing]
        texts = [p.text for p in passages]
        asks = asks_of(question)
        why = not_answered(
            replace(asks, kind="", count=0) if self.again else asks,
            relevant,
            texts,
            self.idf,
            self.scope_words,
            close=best.similarity >= CLOSE,
            following=following,
        )
        return _refusal_of(self.name, question, passages, why) if why else None


def _more(
    gen: ExtractiveGenerator,
    question: str,
    candidates: list[Candidate],
    passages: list[Passage],
    earlier: Sequence[Span],
) -> Answer:
    """A follow-up answered without what the earlier answers quoted (``earlier``), or that
    the statements found hold nothing more on it."""
    documents = {p.doc_id: p.document for p in passages}
    cited = [Candidate(documents[d], s, e, 0) for d, s, e in earlier if d in documents]
    fresh = [c for c in candidates if not any(_overlap(c, x) for x in cited)]
    # Asked for more on a topic the earlier answers found: what is left of it may say
    # less in the question's words than what was quoted first.
    more = copy.copy(gen)
    more.min_relevance = gen.min_relevance - CONTINUE_SLACK
    # "What else?" asks for the rest of what was said: the next points, not only
    # those nearly as close as the best one left.
    more.margin = 2 * gen.margin
    answer = more._answer(question, fresh, passages, cited)
    if (
        answer.refused
        and len(fresh) < len(candidates)
        and not gen._answer(question, candidates, passages).refused
    ):
        return _refusal_of(gen.name, question, passages, NOTHING_NEW)
    return answer


def _answer_parts(
    gen: ExtractiveGenerator,
    question: str,
    parts: Sequence[Part],
    candidates: list[Candidate],
    passages: list[Passage],
    cited: Sequence[Candidate] = (),
) -> Answer:
    """Each part of a several-part question answered by its own best sentences, or named
    as not addressed by the statements found."""
    chosen: list[Candidate] = []
    unaddressed: list[str] = []
    for part in parts:
        # One side of a comparison, or a part naming its own year, is answered from
        # those statements only.
        own = within(None, part.scope) if part.scope is not None else None
        scored = gen.score(part.query, [c for c in candidates if own is None or own.matches(c.document)])
        if gen._refusal(part.query, scored, passages) is not None:
            unaddressed.append(part.name)
            continue
        on_topic = [c for c in scored if _on_topic(part, c)]
        picked = _choose(on_topic, PER_PART, gen.margin / 2, gen.min_relevance, [*cited, *chosen])
        if not picked:
            unaddressed.append(part.name)
            continue
        chosen += _continued(gen, part.query, picked, cited)[: PER_PART + 1]
    if not chosen:
        return _refusal_of(gen.name, question, passages, REFUSAL)
    # A part another part's quotes answer is addressed ("Which countries do the co-chairs
    # represent?" answered by the sentence naming the co-chairs).
    held = [p.name for p in parts if p.name in unaddressed and not _answered_by(p, chosen)]
    return _compose(gen.name, question, chosen[:CEILING], passages, held, in_order_asked=True)


def candidates_of(passages: list[Passage]) -> list[Candidate]:
    """The sentences of the passages that may be quoted, each once: not a headline, a
    salutation, a fragment, a question or the title."""
    seen: set[tuple[str, int]] = set()
    out = []
    for p in passages:
        title = str(p.document.metadata.get("title", "")).strip()
        for s in split_sentences(p.text):
            start, end = p.start + s.start, p.start + s.end
            text = p.document.text[start:end]
            # Headlines, salutations, fragments and questions are not claims; a date line is.
            short = len(text.split()) < 5 and not _DATE.search(text)
            asks = text.rstrip("\"'”’) ").endswith("?")
            if (p.doc_id, start) in seen or short or asks or text.strip() == title:
                continue
            seen.add((p.doc_id, start))
            out.append(Candidate(p.document, start, end, p.rank))
    return out


def _continued(
    gen: ExtractiveGenerator, question: str, chosen: list[Candidate], cited: Sequence[Candidate] = ()
) -> list[Candidate]:
    """Add the sentence after a chosen one when it goes on answering: it scores close to
    relevant itself, or it refers back and names what a who/when question asks for."""
    out = [*chosen, *_items_after(chosen, asks_of(question))]
    taken = {c.key for c in out}
    for c in chosen:
        following = next_sentence(c.document, c.end)
        if following is None or len(out) >= CEILING:
            continue
        nxt = Candidate(c.document, following[0], following[1], c.passage_rank)
        if nxt.key in taken or nxt.text.rstrip("\"'”’) ").endswith("?") or is_salutation(nxt.text):
            continue
        if is_list_item(nxt.text) and not is_list_item(c.text):
            continue  # the next point of a list, not more of this one
        if any(_overlap(nxt, x) for x in cited):
            continue  # an earlier answer quoted it
        [scored] = gen.score(question, [nxt])
        typed = not gen.again and _asks_for_type(question) and _answer_type_bonus(question, nxt.text) > 0
        # The next sentence of the paragraph holds what a who/when/how-many question asks
        # for and the chosen one does not: it is the answer ("… a person of significance
        # in my life." + "Kofi Awoonor was …").
        same = "\n" not in c.document.text[c.end : nxt.start]
        slack = PARAGRAPH_SLACK if same else CONTINUE_SLACK
        answers = typed and (_refers_to(nxt, c) or (same and _answer_type_bonus(question, c.text) == 0))
        if scored.score >= gen.min_relevance - slack or answers:
            out.append(scored)
            taken.add(nxt.key)
    return out


def _typed(
    question: str,
    scored: list[Candidate],
    chosen: list[Candidate],
    cited: Sequence[Candidate],
    gen: ExtractiveGenerator,
) -> list[Candidate]:
    """For a where/who/when/how-many question whose chosen sentences hold no place, name,
    date or figure: the best relevant sentence that does ("… entering into conversations
    with the guerrilla forces." chosen, "The talks will begin in Oslo …" holds the answer)."""
    if not chosen or gen.again or not _asks_for_type(question) or len(chosen) >= CEILING:
        return []
    if any(_answer_type_bonus(question, c.text) > 0 for c in chosen):
        return []
    typed = [c for c in scored if c.score >= gen.min_relevance and _answer_type_bonus(question, c.text) > 0]
    return _choose(typed, 1, 0.0, gen.min_relevance, [*cited, *chosen])


def _items_after(chosen: list[Candidate], asks: Asks) -> list[Candidate]:
    """The items of a list a chosen sentence announces ("… three main objectives.", "…
    based on three pillars.") that the sentences after it tell one by one ("Our first goal
    is …", "Second is …", "The third pillar is …"), each item's further sentences passed
    over: as many as the question asks for, or as follow."""
    items: list[Candidate] = []
    noun = asks.noun.split()[-1].lower()[:-1] if asks.noun else ""  # "pillars": "pillar"
    for c in chosen:
        announced = announces(c.text) or bool(noun and noun in c.text.lower())
        wanted = (asks.count or MAX_ITEMS) if announced else 0
        # The quote may already hold the list's first items ("… objectives. Our first goal …").
        inside = sum(
            1 for part in split_sentences(c.text) if ORDINAL_ITEM.match(c.text[part.start : part.end])
        )
        end, told = c.end, []
        for _ in range(wanted * ITEM_SENTENCES):
            following = next_sentence(c.document, end)
            if following is None or inside + len(told) >= wanted:
                break
            end = following[1]
            item = Candidate(c.document, following[0], following[1], c.passage_rank)
            if ORDINAL_ITEM.match(item.text):
                told.append(item)
            elif not told and not inside:
                break  # the list does not start right after the sentence announcing it
        if told and inside + len(told) >= max(2, (asks.count or 2) - 1):
            items += told
    return items[:CEILING]


def _refusal_of(name: str, question: str, passages: list[Passage], text: str) -> Answer:
    return Answer(question, text, True, (), tuple(passages), name)


def _compose(
    name: str,
    question: str,
    chosen: list[Candidate],
    passages: list[Passage],
    unaddressed: Sequence[str] = (),
    in_order_asked: bool = False,
) -> Answer:
    """The quotes grouped by document (documents in the order of their best sentence;
    within one, sentences as the document has them, or for a several-part question the
    parts in the order asked), each quote on a line of its own with its citation."""
    doc_order: dict[str, int] = {}
    for c in chosen:
        doc_order.setdefault(c.document.doc_id, len(doc_order))
    quotes = merge(sorted(chosen, key=lambda c: (doc_order[c.document.doc_id], c.start)))
    if in_order_asked:
        quotes.sort(key=lambda q: (doc_order[q.document.doc_id], _first_chosen(q, chosen)))
    citations: list[Citation] = []
    lines = []
    for c in quotes:
        citations.append(Citation(len(citations) + 1, c.document, c.start, c.end, c.text, c.passage_rank))
        lines.append(f"{quote_text(c.text)} [{len(citations)}]")
    return Answer(
        question,
        "\n".join(lines),
        False,
        tuple(citations),
        tuple(passages),
        name,
        unaddressed=tuple(unaddressed),
    )


def _first_chosen(quote: Candidate, chosen: list[Candidate]) -> int:
    """The place, among the chosen sentences, of the first one a (merged) quote holds."""
    return min(
        i
        for i, c in enumerate(chosen)
        if c.document.doc_id == quote.document.doc_id and quote.start <= c.start < quote.end
    )


def _choose(
    scored: list[Candidate],
    limit: int,
    margin: float,
    min_relevance: float,
    taken: Sequence[Candidate] = (),
) -> list[Candidate]:
    """The best sentences that stand alone: within ``margin`` of the best, no near-duplicate
    of one already chosen; past the margin only when none within it can stand alone."""
    ranked = sorted(scored, key=lambda c: -c.score)
    if not ranked or ranked[0].score < min_relevance:
        return []
    chosen: list[Candidate] = []
    for floor in (ranked[0].score - margin, min_relevance):
        for c in ranked:
            if len(chosen) >= limit or c.score < floor:
                break
            if any(near_duplicate(c.text, t.text) or c.key == t.key for t in [*taken, *chosen]):
                continue
            whole = stand_alone(c)
            if whole is not None and not any(_overlap(whole, t) for t in [*taken, *chosen]):
                chosen.append(whole)
        if chosen:
            return chosen
    return []


def _answered_by(part: Part, chosen: list[Candidate]) -> bool:
    """Whether quoted sentences answer a part: one of its own scope (its speaker, its year)
    names most of what it asks about (at least two of its terms, or its only one) and holds
    the kind of answer it asks for."""
    focus = asks_of(part.query).focus
    if not focus:
        return False
    own = within(None, part.scope) if part.scope is not None else None
    for c in chosen:
        if own is not None and not own.matches(c.document):
            continue  # one side of a comparison is answered by its own speaker's words only
        words = set(tokenize(c.text))
        named = [t for t in focus if _said(t, words)]
        typed = not _asks_for_type(part.query) or _answer_type_bonus(part.query, c.text) > 0
        # A topic of a list ("global governance") is named whole, as the question words it.
        whole = _names_topic(part.name, c.text) if part.topic else True
        if typed and whole and len(named) >= min(len(focus), max(2, (len(focus) + 1) // 2)):
            return True
    return False


def _on_topic(part: Part, c: Candidate) -> bool:
    """Whether a sentence names a part's topic."""
    return not part.topic or _names_topic(part.name, c.text)


def _names_topic(topic_words: str, sentence: str) -> bool:
    """Whether a sentence names a topic ("Ukraine": "Ukrainian territory"; "global
    governance": both words, not "global taxation")."""
    # "French nuclear testing": "France … tests"; "Chile's lithium": "the Chilean lithium".
    words = with_countries(set(tokenize(sentence)))
    topic = tokenize(topic_words)
    named = [t for t in topic if _said(t, words)]
    return bool(topic) and len(named) >= (len(topic) if len(topic) <= 2 else len(topic) - 1)


def _said(term: str, words: set[str]) -> bool:
    """Whether a term is among a sentence's words, as a word or the stem of one."""
    return any(w.startswith(term) or (len(w) >= 4 and term.startswith(w)) for w in words)


def _overlap(a: Candidate, b: Candidate) -> bool:
    return a.document.doc_id == b.document.doc_id and a.start < b.end and b.start < a.end


def _asks_for_type(question: str) -> bool:
    return asks_of(question).kind in ("person", "date", "figure", "place")


def _refers_to(sentence: Candidate, before: Candidate) -> bool:
    """Whether a sentence picks up the one before it ("It…", or its opening words repeat it:
    "…met the co-chairs." + "Co-chairs were…")."""
    first = re.findall(r"[\w-]+", sentence.text)[:2]
    return leans_back(sentence.text) or bool(set(tokenize(" ".join(first))) & set(tokenize(before.text)))
