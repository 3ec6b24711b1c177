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
    r"condemn(?:ed|s)?|welcome[sd]?|promise[sd]?|recall(?:ed|s)?|note[sd]?|quote[sd]?|cite[sd]?|"
    r"characteri[sz]e[sd]?|portray(?:ed|s)?|depict(?:ed|s)?|assess(?:ed|es)?)"
)
# The speech itself: "its 2019 statement", "the 2019 General Debate".
SPEECH_NOUN = r"(?:speech|statement|address|remarks|intervention|general\s+debate|debate|session|assembly)"
# What opens a comparison of speakers named next: "Compare Jordan and Sweden on …",
# "Contrast how Peru and Chile …", "Compare the Kenyan and Peruvian positions …".
COMPARING = r"(?:compare|contrast)\s++(?:(?P<how>how)\s++|(?P<what>what)\s++)?(?:the\s++)?"
# Who speaks for a country: "the Brazilian delegation", "Kenya's president", "Peru's position".
SPEAKER_NOUN = (
    r"(?:delegation|government|president|prime\s+minister|foreign\s+minister|minister|"
    r"representative|ambassador|leader|statement|speech|address|position|stance|view|side)"
)
# Ways a statement is turned: a premise turned one way ("that it would not ratify", "that
# it pulled out") must be met by a statement turned the same way, about the same thing.
TURNS = {
    "negation": r"not|no|never|n[o']t|cannot|no\s+longer|neither|nor",
    "withdrawal": (
        r"withdr[ae]w\w*|pull(?:ed|ing|s)?\s+out|leav\w*|left|quit\w*|exit\w*|abandon\w*|denounc\w*|"
        r"drop(?:s|ped|ping)?|g[ai]ve\s+up|giving\s+up|scrap\w*|renounc\w*"
    ),
    "failure": r"miss(?:ed|es|ing)?|fail\w*|fell\s+short|short\s+of",
    "opposition": r"refus\w*|reject\w*|oppos\w*|against|veto\w*|boycott\w*|declin\w*",
    "stop": r"halt\w*|suspend\w*|end(?:ed|ing|s)?|stop\w*|cease\w*",
    "reduction": r"cut(?:s|ting)?|reduc\w*|lower(?:ed|ing|s)?|decreas\w*|slash\w*|scal\w*\s+(?:back|down)",
}
# What denies a statement the question presumes without a turn ("why did X say that it had
# ratified P", "why did X praise P"): a negation before the thing ("had not yet ratified
# it"), or the thing opposed or called off ("is contrary to", "condemns", "cancelled").
DENIALS = (
    r"contrary\s+to|reject\w*|oppos\w*|condemn\w*|criticiz\w*|criticis\w*|deplor\w*|denounc\w*|"
    r"cancel\w*|call(?:ed|ing|s)?\s+off|broke\s+off|broken\s+off|postpon\w*"
)
# Words that ask rather than name what is asked about.
GENERIC_WORDS = (
    "say said says speech statement general debate session assembly united nations un country "
    "countries government president minister describe call propose announce mention according "
    "what year talk speak discuss position view think see much many given take list lack count "
    "kingdom state states way kind share number figure "
    # Light verbs and vague words: "what figures did it give", "how far had the talks got",
    # "how did things go": they ask, they do not name what is asked about.
    "give gave giving get got go went gone come came happen happened thing things far make made "
    "tell told say saying speak spoke "
    # Asking for more: "What else did it say about X?" asks about X.
    "else anything something more further also additional"
)
NUMBER_WORDS = {
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}
