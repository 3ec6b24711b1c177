"""The reading suite: every country name, alias and demonym in the table, asked about in
speaker and topic templates, with speech years, decades, ranges, sessions and decoy years
the speech only talks about; each generated question's expected scope is known by
construction. Thousands of questions, a second or two."""

from __future__ import annotations

import itertools

from rag.countries import DEMONYMS, names
from rag.question.asks import asks_of
from rag.question.scope import Part, Scope, speaker_countries, without_scope
from rag.question.years import speech_years
from rag.terms import tokenize

# (words, the speech years they name, as (first, last) ranges)
WHEN = [
    ("in 2019", [(2019, 2019)]),
    ("in its 2017 speech", [(2017, 2017)]),
    ("at the 74th session", [(2019, 2019)]),
    ("in the 2000s", [(2000, 2009)]),
    ("in the early 1990s", [(1990, 1993)]),
    ("in the late 1980s", [(1987, 1989)]),
    ("since 2020", [(2020, 9999)]),
    ("between 2015 and 2018", [(2015, 2018)]),
    ("from 2016 to 2021", [(2016, 2021)]),
    ("during the 2023 General Debate", [(2023, 2023)]),
    ("", []),
]
# Years the speech talks about: never the years asked the statements of.
DECOYS = [
    ("its goals for 2030", []),
    ("what it had pledged in 2012", []),
    ("the 2030 Agenda", []),
    ("its campaign for a seat for 2031–2032", []),
    ("progress since the 1995 Beijing Conference", []),
    ("climate", []),
]
SPEAKER_TEMPLATES = [
    "What did {S} say {W} about {T}?",
    "How did {S} describe {T} {W}?",
    "What was {P} position on {T} {W}?",
    "According to {S}, what should be done about {T} {W}?",
    "{Wc}, what did {S} say about {T}?",
]
TOPIC_TEMPLATES = [
    "What did Brazil say {W} about {S}?",
    "What did Brazil say {W} about relations with {S}?",
    "What did Brazil say {W} about refugees from {S}?",
    "How did Brazil describe the situation in {S} {W}?",
]
DEMONYM_TEMPLATES = [
    ("What did the {D} delegation say {W} about {T}?", True),
    ("What did the {D} president say about {T} {W}?", True),
    ("What did Brazil say {W} about the {D} president?", False),
    ("What did Brazil say {W} about {D} refugees?", False),
]


def _country_names() -> list[tuple[str, str]]:
    """(name as a reader writes it, code) for every name in the table."""
    out = []
    for name, code in sorted(names().items()):
        if "," in name or "(" in name:
            continue  # ISO's index forms ("Korea, Republic of") are not written in questions
        written = " ".join(
            w if w in {"of", "the", "and", "da", "du", "de"} else w[:1].upper() + w[1:] for w in name.split()
        )
        out.append((written, code))
    return out


def _cases() -> list[tuple[str, list[str], list[tuple[int, int]]]]:
    cases = []
    when_cycle = itertools.cycle(WHEN)
    decoy_cycle = itertools.cycle(DECOYS)
    for (written, code), template in itertools.product(_country_names(), SPEAKER_TEMPLATES + TOPIC_TEMPLATES):
        (when, years), (topic, _) = next(when_cycle), next(decoy_cycle)
        if "{Wc}" in template and not when:
            when, years = "in 2019", [(2019, 2019)]
        question = (
            template.format(S=written, P=f"{written}'s", W=when, Wc=when[:1].upper() + when[1:], T=topic)
            .replace("  ", " ")
            .replace(" ?", "?")
        )
        speaker = [code] if template in SPEAKER_TEMPLATES else ["BRA"]
        cases.append((question, speaker, years))
    for (demonym, code), (template, speaks) in itertools.product(sorted(DEMONYMS.items()), DEMONYM_TEMPLATES):
        (when, years), (topic, _) = next(when_cycle), next(decoy_cycle)
        question = template.format(D=demonym.title(), W=when, T=topic).replace("  ", " ").replace(" ?", "?")
        cases.append((question, [code] if speaks else ["BRA"], years))
    return cases


CASES = _cases()


def test_the_suite_is_large():
    assert len(CASES) >= 2000


def test_every_generated_question_is_read_with_its_speaker_and_the_years_of_the_speech():
    wrong = []
    for question, speakers, years in CASES:
        got_speakers = [code for code, _ in speaker_countries(question)]
        got_years = [(y.first, y.last) for y in speech_years(question)]
        if got_speakers != speakers or got_years != years:
            wrong.append(f"{question!r}: {got_speakers} {got_years}, expected {speakers} {years}")
    assert not wrong, f"{len(wrong)} of {len(CASES)} misread, e.g.:\n" + "\n".join(wrong[:25])


def test_searched_within_its_scope_a_question_keeps_its_topic_and_drops_its_speaker_and_years():
    """Kept to a speaker's statements of some years, the search looks for what is asked:
    the speaker's name and the speech's years are taken out of the searched words; a
    country that is the topic, a demonym, a year the speech talks about and the topic's
    words never are."""
    wrong = []
    spoken = set(tokenize("'s speech address statement remarks General Debate session"))
    for question, _, _ in CASES:
        if question.count("Brazil") > 1:
            continue  # Brazil asked about Brazil: within its statements every name of it goes
        found = speaker_countries(question)
        ranges = speech_years(question)
        parts = [Part("country", code, written, True) for code, written in found]
        parts += [Part("year", y.first, y.label, True) for y in ranges]
        searched = without_scope(question, Scope(tuple(parts)))
        # A demonym stays: "the Ghanaian killed" may be what is asked about.
        countries = {w for _, w in found if w.lower() in names() or w.lower().removeprefix("the ") in names()}
        named = {t for w in countries for t in tokenize(w)}
        when = {t for y in ranges for t in tokenize(question[y.start : y.end])}
        kept, asked = set(tokenize(searched)), set(tokenize(question))
        topic = asked - named - when - spoken
        if not topic <= kept or (searched != question and (named | when) & kept - topic):
            wrong.append(f"{question!r} searched as {searched!r}")
    assert not wrong, f"{len(wrong)} of {len(CASES)} searched wrongly, e.g.:\n" + "\n".join(wrong[:20])


DEEDS = [
    "created",
    "launched",
    "signed",
    "ratified",
    "began",
    "joined",
    "hosted",
    "built",
    "made",
    "had adopted",
]


def test_a_year_of_a_deed_the_speech_recalls_is_not_the_speech_year():
    """ "What did Spain, in its 2013 speech, say it created in 2008?": the fund was created
    in 2008; the speech is 2013's. Every pronoun, deed and country in the table."""
    wrong = []
    for (written, _), deed, pronoun in itertools.product(_country_names()[::7], DEEDS, ["it", "they", "we"]):
        for question, speech in (
            (f"What did {written}, in its 2013 speech, say {pronoun} {deed} in 2008?", [(2013, 2013)]),
            (f"What did {written} say {pronoun} {deed} in 2008, and why?", []),
            (f"In 2019, what did {written} say {pronoun} {deed} in the 1990s?", [(2019, 2019)]),
        ):
            got = [(y.first, y.last) for y in speech_years(question)]
            if got != speech:
                wrong.append(f"{question!r}: {got}, expected {speech}")
    assert not wrong, f"{len(wrong)} misread, e.g.:\n" + "\n".join(wrong[:20])


def test_when_the_speech_was_made_is_never_what_the_answer_must_be_about():
    """ "In the early 2010s, how did Tanzania describe …": "early" and "2010s" are when the
    speech was made, not words the statements must use (a refusal once said the
    statements "do not mention early or 2010s")."""
    wrong = []
    for question, _, years in CASES:
        if not years:
            continue
        spans = speech_years(question)
        when = {t for y in spans for t in tokenize(question[y.start : y.end])}
        leaked = when & set(asks_of(question).focus)
        if leaked:
            wrong.append(f"{question!r}: {sorted(leaked)}")
    assert not wrong, f"{len(wrong)} of {len(CASES)} take when as what, e.g.:\n" + "\n".join(wrong[:20])


SPEECH_VERBS = ["characterize", "characterise", "portray", "depict", "assess", "describe"]


def test_a_country_is_the_speaker_of_every_speech_verb():
    """ "How did the Philippines characterize the arbitral award?": the Philippines speaks."""
    wrong = []
    for (written, code), verb in itertools.product(_country_names()[::5], SPEECH_VERBS):
        question = f"In the mid-2010s, how did {written} {verb} the arbitral award?"
        if [c for c, _ in speaker_countries(question)] != [code]:
            wrong.append(question)
    assert not wrong, f"{len(wrong)} misread, e.g.:\n" + "\n".join(wrong[:20])
