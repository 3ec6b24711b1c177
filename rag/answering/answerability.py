"""Whether the passages found can answer what was asked, beyond being on its topic: a
question about cryptocurrencies is not answered by passages that never mention them, and
"how many" is not answered without a figure. Thresholds are set on the corpus gold set's
dev half (docs/refusal.md)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence

from rag.countries import DEMONYMS, names
from rag.question.asks import DENIAL, GENERIC, TURN, Asks
from rag.question.scope import country_named
from rag.splitting import split_sentences
from rag.terms import tokenize

# Share of the question's distinctive terms (idf-weighted) that no passage contains, from
# which the answer is that the statements do not mention them (corpus dev: the questions
# it should refuse score 0.95-1.0; the highest answerable one, a synonym, 0.65).
UNMENTIONED_SHARE = 0.9
# Above this cosine similarity the best sentence says the same thing in other words, so
# words the question uses and the statements do not are a paraphrase, not a sign that the
# topic is absent (corpus dev: the topics never raised had 0.52 and 0.59).
CLOSE = 0.6
MAX_COMPOUND = 30  # characters of the longest word read as two ("peacekeeping")
# Terms of a name of several words stand together when each is within this many terms of
# the first (a name written in another order or with its words spelled out between).
NEAR = 8
_YEAR_ONLY = re.compile(r"^(1[89]|20)\d\d$")
# A figure: digits or an amount in words, standing alone ("COVID-19", "two-State",
# "third" and the numbers of a document symbol, "A/65/PV.15", are not figures).
_FIGURE = re.compile(
    r"(?<![\w/.-])\d[\d,.]*(?![\w/-])|(?<![\w-])(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"dozens?|hundreds?|thousands?|millions?|billions?|half)(?![\w-])",
    re.I,
)


def unmentioned(
    asks: Asks, texts: Iterable[str], idf: Callable[[str], float], scope: Iterable[str] | None = None
) -> list[str]:
    """The question's words naming what it asks about that the statements do not use, or []
    when they may answer it. Scoped to some statements (``scope``: their whole texts), a
    named thing (a plan, a place, a person) those statements never use is not answered by
    words other speeches use. Otherwise: words none of ``texts`` contains, weighing at
    least ``UNMENTIONED_SHARE`` of the question's distinctive terms, one of them never used
    where the question was asked (in the scoped statements, or anywhere in the index)."""
    return _unmentioned(asks, words_of(texts), idf, Scoped(list(scope)) if scope is not None else None)


def _unmentioned(
    asks: Asks, present: set[str], idf: Callable[[str], float], used: Scoped | None, close: bool = False
) -> list[str]:
    """``unmentioned`` on the terms already read: ``present`` in the passages, ``used`` in
    the scoped statements (None: not scoped). ``close``: the best sentence says the same in
    other words, so only a named thing the statements never use counts as unmentioned."""
    terms = asks.focus
    if not terms:
        return []
    if used is not None:
        # A named thing the statement asked about never uses (a treaty, a place, a person,
        # a plan) is not answered, whatever else it shares with the question; an acronym
        # ("ICJ") may be written out there, so it counts only where nothing is close.
        # An acronym the statements write out ("IGN": "Intergovernmental Negotiations") is
        # one they use.
        terms = tuple(t for t in terms if not (t in asks.acronyms and t not in used and used.spells(t)))
        unnamed = [
            t for t in terms if t in asks.named and t not in used and not (close and t in asks.acronyms)
        ]
        if unnamed:
            # Said as the question names it: "the Eastern Partnership", not "Partnership".
            whole = [written for written, joined in asks.phrases if set(joined.split()) & set(unnamed)]
            return whole[:1] or _as_written(asks.text, unnamed)
        # A name of several words whose words the statements use, never together ("the
        # Eastern Partnership" where "eastern" and "partnership" stand apart).
        apart = [written for written, joined in asks.phrases if not close and not used.says(joined)]
        if apart:
            return apart[:1]
    if close:
        return []
    weight = {t: idf(t) for t in terms}
    absent = [t for t in terms if t not in present and not _compound(asks.text, t, present)]
    if not absent or sum(weight[t] for t in absent) < UNMENTIONED_SHARE * sum(weight.values()):
        return []
    # On a small index the weights alone would count ordinary words ("place", "hold") as
    # distinctive: one of them must be one the statements asked about never use.
    if used is not None:
        # Named only what the statements never say: the passages found may miss the one
        # that uses a word, and "do not mention" is a claim about the statements.
        return _as_written(asks.text, [t for t in absent if t not in used])
    never = idf("\x00")  # the weight of a term no statement contains
    return _as_written(asks.text, absent) if any(weight[t] >= never for t in absent) else []


def _compound(question: str, term: str, present: set[str]) -> bool:
    """Whether the question's word for ``term`` is two words the statements use, written
    as one ("landmines": land, mines; "peacekeeping": peace, keeping)."""
    for word in _as_written(question, [term])[:1]:
        lower = word.lower()
        if len(lower) > MAX_COMPOUND:
            return False  # not a word of two words: each cut would be tokenized again
        for cut in range(3, len(lower) - 2):
            head, tail = tokenize(lower[:cut]), tokenize(lower[cut:])
            if len(head) == 1 and len(tail) == 1 and head[0] in present and tail[0] in present:
                return True
    return False


def _as_written(question: str, terms: Sequence[str]) -> list[str]:
    """The question's words for these terms, as it writes them (three at most)."""
    words = [re.sub(r"[’']s$", "", w) for w in re.findall(r"[\w’'-]+", question)]  # "EU's": "EU"
    return [w for w in words if (t := tokenize(w)) and t[0] in terms][:3]


class Scoped:
    """The words of the statements a question is scoped to, read once per answer: their
    terms in order, where a name of several words is looked for, and the set of them with
    each country they name counted under all its names."""

    def __init__(self, texts: Sequence[str]):
        self.sequence = tokenize(" ".join(texts))
        self.terms = with_countries(set(self.sequence))

    def __contains__(self, term: object) -> bool:
        return term in self.terms

    def spells(self, acronym: str) -> bool:
        """Whether a run of two or more of the statements' words spells the acronym: each
        word opens with its next letter, and a word may give more of them in order ("IGN":
        "Intergovernmental Negotiations", "ICJ": "International Court of Justice")."""
        letters = acronym.lower()
        run = self.sequence
        return 1 < len(letters) <= MAX_ACRONYM and any(
            t[:1] == letters[0] and _spelled(letters, run[i : i + len(letters)]) for i, t in enumerate(run)
        )

    def says(self, terms: str) -> bool:
        """Whether these terms (joined by spaces) stand together somewhere: all of them
        within a few words of each other, in any order ("the Genocide Convention": "the
        Convention on the Prevention and Punishment of the Crime of Genocide")."""
        wanted = terms.split()
        if any(t not in self.terms for t in wanted):
            return False
        run = self.sequence
        places = [i for i, t in enumerate(run) if t == wanted[0]]
        return any(all(t in run[max(0, i - NEAR) : i + NEAR + 1] for t in wanted[1:]) for i in places)


MAX_ACRONYM = 8  # letters of an acronym looked for written out


def _spelled(letters: str, words: Sequence[str], used: int = 0) -> bool:
    """Whether the first of ``words`` open the letters, two words at least, each giving its
    first letter and perhaps more of them in order."""
    if not letters:
        return used >= 2
    if not words or words[0][:1] != letters[0]:
        return False
    word, at = words[0], 1
    for taken in range(1, len(letters) + 1):
        if _spelled(letters[taken:], words[1:], used + 1):
            return True
        at = word.find(letters[taken], at) + 1 if taken < len(letters) else 0
        if not at:
            return False
    return False


def words_of(texts: Iterable[str]) -> set[str]:
    """The terms of the texts, a country counted under all its names wherever one of them
    stands: "Chilean" names Chile, "Morocco" the Moroccan, "the Malvinas" the Falklands."""
    return with_countries(set(tokenize(" ".join(texts))))


def with_countries(words: set[str]) -> set[str]:
    """The words with every name, alias and demonym of each country they name ("France":
    "french" too; "Chilean": "chile")."""
    for forms, terms in _country_forms():
        if any(all(t in words for t in form) for form in forms):
            words |= terms
    return words


@functools.cache
def _country_forms() -> list[tuple[list[tuple[str, ...]], frozenset[str]]]:
    """For each country: the terms of each of its names, aliases and demonyms, and all
    those terms together (what a statement naming it by any of them is counted to use)."""
    by_code: dict[str, set[str]] = {}
    for name, code in names().items():
        by_code.setdefault(code, set()).add(name)
    for demonym, code in DEMONYMS.items():
        by_code.setdefault(code, set()).add(demonym)
    out = []
    for forms in by_code.values():
        tokenized = [tuple(tokenize(f)) for f in forms if tokenize(f)]
        out.append((tokenized, frozenset(t for f in tokenized for t in f)))
    return out


def has_figure(text: str) -> bool:
    """A number or an amount in words; a year alone is a date, not a figure."""
    return any(not _YEAR_ONLY.match(m.group(0).strip(".,")) for m in _FIGURE.finditer(text))


def list_not_given(asks: Asks, sentences: list[str], following: Sequence[str] = ()) -> str:
    """When the question asks for N things ("Which five major issues …") and the answer's
    sentences name the N things without listing them, the sentence that says so; else "".
    ``following``: the words after each sentence, where a list it announces goes on
    ("… three pillars. First is … Second is … The third pillar is …")."""
    if not asks.count:
        return ""
    count, noun = asks.count, asks.noun.split()[-1].lower()
    for i, sentence in enumerate(sentences):
        at = sentence.lower().find(noun)
        tail = sentence[at:]
        # "A, B and C": two separators, three things.
        listed = tail.count(",") + tail.count(";") + (":" in tail) * count + bool(_LAST_ITEM.search(tail))
        after = following[i] if i < len(following) else ""
        if at >= 0 and (listed >= count - 1 or _items_told(after) >= count - 1):
            return ""
    if not any(noun in s.lower() for s in sentences):
        return ""
    return f"The statements mention {asks.listed} but do not list them."


_LAST_ITEM = re.compile(r"\s(?:and|or)\s+[^,;]+[.!]?\s*$", re.I)
# A sentence telling one item of a list: an ordinal among its first words ("First is …",
# "Our second goal is …", "It would first require …", "Finally, …").
ORDINAL_ITEM = re.compile(
    r"^\W*+(?:[\w’'-]++\W++){0,3}?(?:first(?:ly)?|second(?:ly)?|third(?:ly)?|fourth(?:ly)?|fifth(?:ly)?|"
    r"sixth|finally|lastly)\b",
    re.I,
)


def _items_told(text: str) -> int:
    """How many of the text's sentences tell one item of a list (``ORDINAL_ITEM``)."""
    return sum(1 for s in split_sentences(text) if ORDINAL_ITEM.match(text[s.start : s.end]))


def premise_denied(asks: Asks, sentences: list[str]) -> bool:
    """When the question presumes a statement was turned one way ("that it would not
    ratify", "that it would pull out", "that it had missed") and none of the statements
    found says anything turned that way about the same thing: they say the opposite, or
    something else."""
    if not asks.premise:
        return False
    unturned = asks.premise
    subject = country_named(unturned[:60])
    if subject and (lead := re.match(rf"(?:the\s+)?{re.escape(subject[1])}\b", unturned, re.I)):
        unturned = unturned[lead.end() :]  # "How come Uruguay recognised P": P, by Uruguay
    for pattern in TURN.values():
        unturned = pattern.sub(" ", unturned)
    # What the premise is about: not who said it, not a year.
    about = (
        {t for t in tokenize(unturned) if not t.isdigit()} - GENERIC - set(asks.speakers)
    )  # what the premise is about, its turns left out
    if asks.turns:
        return not any(_turned_about(s, asks.turns, about) for s in sentences)
    if (done := _DONE.search(unturned)) and (said := _saying(done.group("verb"), sentences)):
        # Presumed done ("that it had ratified P"): denied when every sentence found that
        # uses the verb says it was not done or is still to be done ("had not yet ratified
        # it", "we envisage completing the ratification").
        return all(_not_done(s, done.group("verb")) for s in said)
    # Presumed as done or said, plainly: denied when every sentence found that speaks of it
    # denies it ("had not yet ratified it", "is contrary to", "cancelled").
    enough = max(1, min(2, len(about) - 1)) if about else 0  # "recognise Palestine": Palestine
    speaking = [s for s in sentences if enough and len(set(tokenize(s)) & about) >= enough]
    opposed = bool(DENIAL.search(asks.premise))  # "why did X condemn P": a condemnation meets it
    return bool(speaking) and all(_denies(s, about, opposed) for s in speaking)


# A deed presumed done: "it had ratified P", "it has already signed P".
_DONE = re.compile(r"\b(?:had|has|have)\s++(?:already\s++)?(?P<verb>[a-z]{4,}+)(?<=ed|en)\b", re.I)
# Words that say a deed is still to come: "will", "plans to", "we envisage completing".
_TO_COME = frozenset(
    "will shall plan plans planning intend intends envisage envisages expect expects hope hopes "
    "aim aims going".split()
)
_STEM = 5  # letters a word shares with the verb to be the same deed ("ratified", "ratification")


def _stem(verb: str) -> str:
    """A past participle's first letters, the same in every form of the verb ("signed":
    "sign", "ratified": "ratif")."""
    return verb.lower()[:-2][:_STEM]


def _saying(verb: str, sentences: list[str]) -> list[str]:
    """The sentences that use the verb, in any of its forms."""
    stem = _stem(verb)
    return [s for s in sentences if any(w.lower().startswith(stem) for w in re.findall(r"[A-Za-z]+", s))]


def _not_done(sentence: str, verb: str) -> bool:
    """Whether the sentence says the deed was not done (a negation a few words before the
    verb) or is still to come."""
    stem = _stem(verb)
    words = re.findall(r"[\w'’]+", sentence)
    for i, word in enumerate(words):
        if word.lower().startswith(stem):
            to_come = {w.lower() for w in words[max(0, i - 6) : i]} & _TO_COME
            if TURN["negation"].search(" ".join(words[max(0, i - 4) : i])) or to_come:
                return True
    return False


def _denies(sentence: str, about: set[str], opposed: bool = False) -> bool:
    """Whether the sentence denies what it says of these terms: a negation a few words before
    one of them in the same clause (not a negated turn, "will not abandon", which affirms), or
    a word opposing or calling it off beside it (unless the premise ``opposed`` it too)."""
    for clause in re.split(r"[,;:]", sentence):
        for m in TURN["negation"].finditer(clause):
            after = clause[m.end() :].split()[:6]
            if set(tokenize(" ".join(after))) & about and not any(
                TURN[kind].search(" ".join(after[:3]))
                for kind in ("withdrawal", "failure", "opposition", "stop")
            ):
                return True
        for m in () if opposed else DENIAL.finditer(clause):
            near = clause[: m.start()].split()[-6:] + clause[m.end() :].split()[:6]
            if set(tokenize(" ".join(near))) & about:
                return True
    return False


def _turned_about(sentence: str, turns: Sequence[str], about: set[str]) -> bool:
    """Whether the sentence is turned one of these ways about one of these terms: a
    negation within a few words before it, any other turn anywhere beside it."""
    terms = set(tokenize(sentence))
    if not terms & about:
        return False
    for kind in turns:
        for m in TURN[kind].finditer(sentence):
            if kind != "negation" or set(tokenize(" ".join(sentence[m.end() :].split()[:4]))) & about:
                return True
    return False


def not_answered(
    asks: Asks,
    relevant: list[str],
    texts: list[str],
    idf: Callable[[str], float],
    used: Scoped | None = None,
    close: bool = False,
    following: Sequence[str] = (),
) -> str:
    """Why the sentences found (``relevant``: those past the relevance gate; ``texts``: the
    passages) do not answer the question, as the refusal says it; "" when they may.
    ``close``: the best sentence says the same thing in other words, so words the question
    uses and the statements do not are a paraphrase; ``used``: the terms of the statements
    the question is scoped to (``words_of``), read once for the whole answer;
    ``following``: the words after each relevant sentence in its statement."""
    present = words_of(texts)
    absent = _unmentioned(asks, present, idf, used, close)
    if absent:
        return f"The statements found do not mention {' or '.join(absent)}."
    # A figure must stand beside the rarest things asked about that the statements name:
    # a figure about something else in the same sentences is not the one asked for.
    named = present
    focus = sorted((t for t in asks.focus if t in named), key=idf, reverse=True)[:2]
    about = [s for s in relevant if set(focus) & set(tokenize(s))] if focus else relevant
    if asks.figure and not any(has_figure(s) for s in about):
        return "The statements found touch on this but give no figure for it."
    if premise_denied(asks, relevant):
        if asks.said:
            return f"The statements found do not say that {asks.premise}."
        return f"The statements found do not bear out what the question presumes ({asks.premise})."
    return list_not_given(asks, relevant, following)
