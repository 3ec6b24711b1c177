"""What a quoted sentence needs in order to stand alone: whether it leans on the sentence
before it ("It", "These resources", "However"), opens with a connector that can be left out
of the quote ("Fourth,", "Moreover,"), announces what follows ("the following objectives:"),
or opens a list. Shared by the extractive answer and the evaluation's readability figures."""

from __future__ import annotations

import re

from rag.terms import tokenize

# Words and phrases that point back to something said before them.
_REFERS = (
    r"it|its|this|these|those|that|such|they|them|their|he|she|his|her|him|both|either|neither|"
    r"the latter|the former|the same|however|but|yet|therefore|thus|hence|consequently|"
    r"accordingly|so|nevertheless|nonetheless|instead|otherwise|and|or|then|as a result|"
    r"for this reason|for that reason|to this end|to that end|in this context|in that context|"
    r"in this regard|in that regard|in this respect|in that respect|on the contrary|"
    r"on the other hand|in turn|even so|likewise|similarly"
)
# Connectors a quote can start after: the sentence stands alone without them.
_ORDINALS = r"first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth"
_CONNECTORS = (
    rf"(?:{_ORDINALS})(?:ly)?|first of all|first and foremost|finally|lastly|last but not least|"
    r"moreover|furthermore|in addition|additionally|also|besides|above all|at the same time|"
    r"meanwhile|in the meantime|again|equally|what is more|in conclusion|to conclude"
)
# Connectors that point back, set off by a comma: the rest of the sentence reads alone.
_SET_OFF = re.compile(
    r"^[\s\"'“‘(*_]*+(?:however|therefore|thus|hence|consequently|accordingly|nevertheless|"
    r"nonetheless|indeed|in fact|in this context|in that context|in this regard|in that regard|"
    r"in this respect|to this end|to that end|for this reason|as a result|in turn|likewise|"
    r"similarly|still|yet|instead|then|so|and|but)\s*,\s*",
    re.I,
)
_OPENER = re.compile(rf"^[\s\"'“‘(*_]*+(?:{_REFERS})\b", re.I)
_CONNECTOR = re.compile(rf"^[\s\"'“‘(*_]*+(?:{_CONNECTORS})\s*[,:;—–-]\s*", re.I)
# "It is time to…", "It is necessary for partners to…": "it" points at what follows.
_EXPLETIVE = re.compile(
    r"^[\s\"'“‘(*_]*+it\s+(?:is|was|has been|will be|would be|remains|seems|appears|becomes|must be|"
    r"should be)\s+(?:[\w’'-]+\s+){0,5}?(?:to|that|for|whether|how|why|when|time)\b",
    re.I,
)
# "To address this anomaly", "Despite these efforts": a phrase pointing back.
_POINTING_PHRASE = re.compile(
    r"^[\s\"'“‘(*_]*+(?:to|in|for|with|by|on|under|against|given|despite|beyond|through|from|at|after|"
    r"like|unlike|as|because of|in light of|in view of|in spite of)\s+(?:[\w’'-]+\s+){0,2}?"
    r"(?:this|these|those|such|that)\s+(\w+)",
    re.I,
)
# "This year", "These days", "This Assembly": the present occasion, not the sentence before.
_OCCASIONS = set(
    """year years week month morning afternoon evening day days time session assembly hall
    organization organisation body chamber house century decade forum general debate podium
    rostrum august moment anniversary""".split()
)
_DEICTIC = re.compile(rf"^[\s\"'“‘(*_]*+(?:this|these|that)\s+(?:{'|'.join(_OCCASIONS)})\b", re.I)
_BULLET = r"[-*•·–]\s+"
_LIST_ITEM = re.compile(rf"^\s*+(?:{_BULLET}|\(?(?:\d{{1,2}}|[a-h]|[ivx]{{1,4}})[.)]\s+)")
# "…the following objectives:", "…as follows", or a count of things the sentence ends on
# ("We see three priorities."): read in ``announces`` so no repeat spans the sentence.
_FOLLOWING = re.compile(r":\s*+$|\b(?:the following|as follows)\b", re.I)
_COUNTED = re.compile(
    r"\b(?:two|three|four|five|six|several|a few|some)\s++(?:main\s++|key\s++|major\s++|basic\s++|core\s++)?"
    r"(?:ways|points|things|priorities|areas|principles|objectives|steps|elements|proposals|"
    r"measures|pillars|goals|aspects|issues|messages|tenets|commitments|challenges|reasons|lessons)\b",
    re.I,
)
# Possessive repeats: "[^.!?]*" stops at the first stop either way, so it never gives back.
_SALUTATION = re.compile(
    r"^[\s*_]*+(?:mr\.?|madam|madame|mister|your|excellenc|ladies|distinguished|dear|colleagues|"
    r"thank you)\b[^.!?]*+[,.!]?[\s*_]*+$",
    re.I,
)


def leans_back(sentence: str) -> bool:
    """Whether the sentence opens with a word that points at what came before it: a pronoun
    or connector ("It", "These resources", "However"), or an enumerating one ("Fourth,")."""
    text = _LIST_ITEM.sub("", sentence, count=1)
    if _CONNECTOR.match(text):
        return True
    pointing = _POINTING_PHRASE.match(text)
    if pointing and pointing.group(1).lower() not in _OCCASIONS:
        return True
    return bool(_OPENER.match(text)) and not _EXPLETIVE.match(text) and not _DEICTIC.match(text)


def connector_length(sentence: str) -> int:
    """How many leading characters are a connector the quote can leave out ("Fourth, "): 0
    when there is none, or when what follows it still leans back."""
    m = _CONNECTOR.match(sentence)
    if not m or not sentence[m.end() :].strip() or leans_back(sentence[m.end() :]):
        return 0
    return m.end()


def set_off_length(sentence: str) -> int:
    """How many leading characters are a pointing connector set off by a comma
    ("Therefore, "), which a quote can leave out when the sentence's antecedent cannot come
    with it: 0 when there is none or what follows it still leans back."""
    m = _SET_OFF.match(sentence)
    rest = sentence[m.end() :] if m else ""
    if not m or len(rest.split()) < 4 or leans_back(rest):
        return 0
    return m.end()


def announces(sentence: str) -> bool:
    """Whether the sentence announces what follows it ("…the following objectives:")."""
    text = sentence.strip()
    if _FOLLOWING.search(text):
        return True
    # A count ends the sentence's last clause: after the last full stop before its end.
    return text.endswith(".") and bool(_COUNTED.search(text, text.rfind(".", 0, len(text) - 1) + 1))


def is_list_item(sentence: str) -> bool:
    return bool(_LIST_ITEM.match(sentence))


def without_bullet(line: str) -> str:
    """A list line without its bullet ("- ", "• "); a number ("2. ") is kept, it is words."""
    return re.sub(rf"^\s*{_BULLET}", "", line, count=1)


def is_salutation(sentence: str) -> bool:
    """An address to the room ("Mr President,"), a heading or a fragment: no antecedent."""
    text = sentence.strip()
    return bool(_SALUTATION.match(text)) or (len(text.split()) < 5 and not text.endswith((".", ":")))


def near_duplicate(a: str, b: str, threshold: float = 0.7) -> bool:
    """Whether two sentences say nearly the same words (Jaccard of their content words)."""
    x, y = set(tokenize(a)), set(tokenize(b))
    if not x or not y:
        return x == y
    return len(x & y) / len(x | y) >= threshold
