"""The parts of a question that asks several things at once ("What did Brazil say about
hunger, climate, Gaza and Ukraine?"), each as a question of its own, so that every part is
retrieved, answered or said to be unaddressed."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.question.lexicon import COMPARING
from rag.question.scope import Scope

MAX_PARTS = 6
# "say … about", "position on": the topics follow ("call on Israel" names no topic).
_TOPIC = re.compile(
    r"\b(?:say|said|says|speak|spoke|state[ds]?|think|view|views|position|stance|comment(?:ed)?|"
    r"remarks?|propose[ds]?|announce[ds]?|pledge[ds]?|stress(?:ed)?|emphasi[sz]ed?|argue[ds]?|"
    r"tell|told|write|wrote|do|does|did)\b(?:\s+\S+){0,6}?\s+(?:about|on|regarding|concerning|towards|toward)\s+",
    re.I,
)
# One question of several: it starts where the text or the question before it ends (never
# within one, which would read the rest of the text again from each letter).
_QUESTION = re.compile(r"(?<![^?])[^?]+\?")
_WH = {"who", "whom", "what", "when", "where", "why", "how", "which", "whether"}
# Where the question says when or where after its topics ("… in 2024", "… at the 2018
# debate", "…, back in 2010").
_TRAILER = re.compile(
    r"(?<!\s)(?:\s*+,)?(?:\s++(?:back|way\s++back|again|then|already|also|earlier|later))?"
    r"\s++(?:in|at|during|from|since|before|after|by|between)\s++(?:its\s++|their\s++|his\s++|her\s++|the\s++)?"
    r"(?:\d{4}|(?:general\s+debate|speech|statement|session|address)\b).*$",
    re.I,
)
_ITEM_SPLIT = re.compile(
    r"(?<!\s)\s*+,\s*+(?:and\s++|or\s++)?(?:about\s++|on\s++)?"
    r"|(?<!\s)\s++(?:and|or|as well as)\s++(?:also\s++)?(?:about\s++|on\s++)?",
    re.I,
)
_CLAUSE_SPLIT = re.compile(
    r"[,;]?(?<!\s)\s++and\s++(?=(?:what|how|which|who|whom|why|when|where|whether|does|did|do|is|are|was|"
    r"were|has|have)\b)",
    re.I,
)


@dataclass(frozen=True)
class Part:
    name: str  # what this part asks about, as the question words it
    query: str  # the part as a question of its own
    topic: bool = False  # a topic in a list ("hunger"), not a whole question or clause
    # Whose statements and when this part is searched in, where it names its own ("… and
    # what had it said in 2010?") or is one side of a comparison; None: the question's.
    scope: Scope | None = None


# "How did Mexico and Chile each describe …", "Compare what Senegal and Ghana said": the
# words that make one question of several speakers a comparison.
_EACH = re.compile(
    r"\b(?:each|both|respectively|compare[ds]?|comparison|(?:differ(?:ed|s)?|contrast(?:ed|s)?)"
    r"(?!\s+(?:with|from)\b))\b",
    re.I,
)


_DIFFER = re.compile(r"\b(?:differ(?:ed|s)?|contrast(?:ed|s)?)\b(?!\s+(?:with|from)\b)", re.I)
_OPENS = re.compile(COMPARING, re.I)
# What follows the names compared in "Compare the Kenya and Peru positions on …".
_THEIR = re.compile(r"^(?:'s|’s)?\s*+(?:positions?|views?|stances?|statements?|speeches?|remarks)\b", re.I)


def _joining(gap: str) -> bool:
    """Whether the words between two names join them in one list: ",", "and", ", and the"."""
    words = gap.lower().replace(",", " , ").split()
    if words and words[-1] == "the":
        words.pop()
    return words in ([","], ["and"], [",", "and"])


def compared(question: str, speakers: list[tuple[str, str, int, int]]) -> list[Part]:
    """One part per speaker of a comparison, in the order asked, each the question asked of
    that speaker alone; [] when the question is not one. ``speakers``: (code, name as
    written, start, end) of each speaker named, in order."""
    # The speakers compared are one list ("Kenya, Peru and Chile"); a country named later
    # ("… differed from Chile's") is what they speak of.
    listed = speakers[:1]
    for speaker in speakers[1:]:
        if not _joining(question[listed[-1][3] : speaker[2]]):
            break
        listed.append(speaker)
    speakers = listed
    if len(speakers) < 2 or not _EACH.search(question):
        return []
    first, last = speakers[0][2], speakers[-1][3]
    opening = _OPENS.fullmatch(question[:first].lstrip())
    parts = []
    for _, written, _, _ in speakers:
        if opening and not opening.group("what"):
            alone = _side(written, question[last:], bool(opening.group("how")))
        else:
            # "How did X differ on": "How did X speak on".
            alone = _DIFFER.sub("speak", question[:first] + written + question[last:])
        alone = " ".join(_EACH.sub("", alone).split()).replace(" ,", ",").replace(" ?", "?")
        parts.append(Part(written, alone))
    return parts


def _side(speaker: str, rest: str, how: bool) -> str:
    """One side of "Compare A and B on X" ("What did A say on X?") or of "Compare how A and
    B talked about X" ("How did A speak about X?")."""
    rest = rest.strip().rstrip(".?!")
    if how:
        return f"How did {speaker} speak {rest.split(maxsplit=1)[-1] if ' ' in rest else ''}?"
    return f"What did {speaker} say {_THEIR.sub('', rest).strip()}?"


def question_parts(question: str) -> list[Part]:
    """The question's parts; one part (the question itself) when it asks one thing."""
    q = " ".join(question.split())
    for parts in (_questions(q), _clauses(q), _topics(q)):
        if 1 < len(parts) <= MAX_PARTS:
            return parts
    return [Part(q, q)]


def _questions(q: str) -> list[Part]:
    """Several questions in one: "When was it held? Who chaired it?"."""
    found = [s.strip() for s in _QUESTION.findall(q) if len(s.split()) >= 3]
    return [Part(s.rstrip("?"), s) for s in found]


def _clauses(q: str) -> list[Part]:
    """ "What does China propose on A, and how does it view B?"."""
    clauses = [c.strip(" ,;?") for c in _CLAUSE_SPLIT.split(q)]
    if len(clauses) < 2 or any(len(c.split()) < 3 for c in clauses):
        return []
    return [Part(c, c + "?") for c in clauses]


def _named(item: str) -> bool:
    """A proper name ("Ukraine", "the Security Council", "China's efforts")."""
    return re.sub(r"^(?:the|a|an)\s+", "", item, flags=re.I)[:1].isupper()


def _topics(q: str) -> list[Part]:
    """ "What did Brazil say about hunger, climate and Gaza in 2024?": one part per topic."""
    split = _about(q)
    if split is None:
        return []
    head, tail, suffix = split
    repeated = re.search(r"\s+(?:and|or|as well as)\s+(?:about|on)\s+", tail, re.I)
    both = re.match(r"both\s+", tail, re.I)
    tail = tail[both.end() :] if both else tail
    items = [i.strip() for i in _ITEM_SPLIT.split(tail) if i.strip()]
    if len(items) < 2 or any(len(i.split()) > 6 or i.lower() in _WH or " to " in f" {i} " for i in items):
        return []
    items, shared = _shared_complement(items)
    if not ("," in tail or repeated or both or all(_named(i) for i in items)):
        return []  # "peace and development" is one topic; "Ukraine and Sudan" are two
    return [Part(i, f"{head}{i}{shared}{suffix}?", topic=True) for i in items]


def asked_topic(q: str) -> str:
    """What a question asks about after "say … about", "position on" ("What did Sweden
    say about peacekeeping in 2013?": "peacekeeping"); "" when it names none that way."""
    split = _about(q.split("?")[0])
    return split[1] if split else ""


def _about(q: str) -> tuple[str, str, str] | None:
    """A question cut around what it asks about: the words up to "about" (or "on"), the
    topic, and when or where it says after it ("… in 2024"); None without such words."""
    m = _TOPIC.search(q)
    if not m:
        return None
    head, tail = q[: m.end()], q[m.end() :].rstrip(" ?.")
    trailer = _TRAILER.search(tail)
    return (head, tail[: trailer.start()], tail[trailer.start() :]) if trailer else (head, tail, "")


def _shared_complement(items: list[str]) -> tuple[list[str], str]:
    """ "ownership, capacity and funding of security sector reform": "of security sector
    reform" belongs to every item."""
    m = re.search(r"\s+(?:of|in|for)\s+.+$", items[-1])
    if not m or any(len(i.split()) > 3 for i in items[:-1]):
        return items, ""
    return [*items[:-1], items[-1][: m.start()]], m.group(0)
