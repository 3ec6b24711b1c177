"""Words that say a question is about a statement: the verbs of speaking and the nouns of a
speech, in one place for every reading of the question (who spoke, when)."""

from __future__ import annotations

# "What did Kenya say", "Kenya proposed", "said in 2019", "quoted in 2016".
SPEECH_VERB = (
    r"(?:say|said|says|saying|spoke|speak|speaks|tell|told|propose[sd]?|call(?:ed|s)?|announce[sd]?|"
    r"state[sd]?|argue[sd]?|stress(?:ed|es)?|urge[sd]?|claim(?:ed|s)?|think|thinks|see|sees|saw|view|"
    r"want(?:ed|s)?|support(?:ed|s)?|oppose[sd]?|demand(?:ed|s)?|pledge[sd]?|commit(?:ted|s)?|"
    r"ask(?:ed|s)?|raise[sd]?|mention(?:ed|s)?|describe[sd]?|believe[sd]?|warn(?:ed|s)?|"
    r"emphasi[sz]e[sd]?|insist(?:ed|s)?|express(?:ed|es)?|reaffirm(?:ed|s)?|highlight(?:ed|s)?|"
    r"condemn(?:ed|s)?|welcome[sd]?|promise[sd]?|recall(?:ed|s)?|note[sd]?|quote[sd]?|cite[sd]?)"
)
# The speech itself: "its 2019 statement", "the 2019 General Debate".
SPEECH_NOUN = r"(?:speech|statement|address|remarks|intervention|general\s+debate|debate|session|assembly)"
# Who speaks for a country: "the Brazilian delegation", "Kenya's president", "Peru's position".
SPEAKER_NOUN = (
    r"(?:delegation|government|president|prime\s+minister|foreign\s+minister|minister|"
    r"representative|ambassador|leader|statement|speech|address|position|stance|view|side)"
)
