"""Answers a person can read: quotes that stand alone (antecedents carried, connectors left
out, announced lists brought), several-part questions answered part by part, near-duplicates
dropped, and every citation still the source's exact characters."""

from __future__ import annotations

import pytest

from rag.answering import ExtractiveGenerator
from rag.answering.attribution import attribute
from rag.answering.quoting import Candidate, quote_text, stand_alone
from rag.answering.readability import announces, leans_back
from rag.question import Question
from rag.question.parts import question_parts
from rag.types import Chunk, Document, Passage

SPEECH = (
    "**Mr President,**\n\n"
    "These resources could have been used to fight hunger.\n\n"
    "Funding for peacekeeping is scarce in many countries. These gaps must be closed by partners.\n\n"
    "Fourth, security sector reform needs coordination among many players.\n\n"
    "Is there a better system? I do not believe so. Therefore, let us make the Council more "
    "representative.\n\n"
    "This reform must include the following objectives:\n\n"
    "- The revitalisation of the General Assembly;\n"
    "- The reform of the Security Council, with a focus on the veto.\n\n"
    "The exclusion of Africa from permanent seats is unacceptable.\n"
)
DOC = Document("d1", "BRA_79_2024.txt", SPEECH, {"title": "Speech", "country": "BRA", "year": 2024})


def _sentence(text: str) -> Candidate:
    start = SPEECH.index(text)
    return Candidate(DOC, start, start + len(text), 1)


def _quote(c: Candidate | None) -> str:
    assert c is not None
    assert SPEECH[c.start : c.end] == c.text  # offsets exact, always
    return c.text


def test_a_sentence_that_leans_back_brings_the_sentence_before_it():
    quote = _quote(stand_alone(_sentence("These gaps must be closed by partners.")))
    assert (
        quote
        == "Funding for peacekeeping is scarce in many countries. These gaps must be closed by partners."
    )


def test_a_sentence_whose_antecedent_is_a_salutation_is_not_used():
    assert stand_alone(_sentence("These resources could have been used to fight hunger.")) is None


def test_an_enumerating_connector_is_left_out_and_the_quote_still_exact():
    c = stand_alone(_sentence("Fourth, security sector reform needs coordination among many players."))
    assert _quote(c) == "security sector reform needs coordination among many players."
    assert quote_text(c.text).startswith("Security sector reform needs")


def test_a_connector_set_off_by_a_comma_is_left_out_when_its_antecedent_cannot_come():
    # "I do not believe so." answers a question: no antecedent; "Therefore, " is left out.
    c = stand_alone(_sentence("Therefore, let us make the Council more representative."))
    assert _quote(c) == "let us make the Council more representative."


def test_an_announcement_brings_its_list_and_a_list_brings_its_announcement():
    announced = _quote(stand_alone(_sentence("This reform must include the following objectives:")))
    listed = _quote(stand_alone(_sentence("- The revitalisation of the General Assembly;")))
    for quote in (announced, listed):
        assert "following objectives:" in quote and "- The revitalisation of the General Assembly;" in quote
        # "This reform" reached back to the sentence it refers to, and past the reply "I do
        # not believe so." no further: that sentence's "Therefore, " is left out instead.
        assert quote.startswith("let us make the Council more representative.")


def test_a_quoted_list_stays_a_list_and_the_paragraph_after_it_starts_a_line():
    text = SPEECH[SPEECH.index("This reform") :]
    assert quote_text(text) == (
        "This reform must include the following objectives:\n"
        "- The revitalisation of the General Assembly;\n"
        "- The reform of the Security Council, with a focus on the veto.\n"
        "The exclusion of Africa from permanent seats is unacceptable."
    )


def test_a_separator_line_is_not_quoted():
    assert quote_text("The world cannot look away.\n*\nAnd we must stand up.") == (
        "The world cannot look away. And we must stand up."
    )


@pytest.mark.parametrize(
    ("sentence", "leans"),
    [
        ("It will be one of the principal outcomes.", True),
        ("It is time to respond vigorously.", False),  # "it" points at what follows
        ("This year marks the eightieth anniversary.", False),  # the occasion, not a sentence
        ("These resources could have been used.", True),
        ("To address this anomaly, Brazil advocated taxation.", True),
        ("However, we disagree.", True),
        ("Fourth, reform is needed.", True),
        ("There exist big gaps of funding.", False),
        ("In Gaza and the West Bank, a crisis unfolds.", False),
    ],
)
def test_what_leans_back(sentence, leans):
    assert leans_back(sentence) is leans


def test_announcements():
    assert announces("We propose the following:")
    assert announces("There are three ways to do this.")
    assert not announces("The Council must be reformed.")


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        ("What did Brazil say in 2024 about hunger, climate and Gaza?", ["hunger", "climate", "Gaza"]),
        ("What did the US say in 2024 about Ukraine and Sudan?", ["Ukraine", "Sudan"]),
        ("What did India say about terrorism and about reform?", ["terrorism", "reform"]),
        ("What did China say about peace and development?", None),  # one topic
        ("What did the UK call on Israel and Hizballah to do?", None),
        ("Who delivered the remarks on security sector reform, and when?", None),
        (
            "What did he say about ownership, capacity and funding of reform?",
            ["ownership", "capacity", "funding"],
        ),
        ("Which countries do they represent, and what did Wang Yi say?", 2),
    ],
)
def test_the_parts_of_a_question(question, parts):
    found = question_parts(question)
    if parts is None:
        assert len(found) == 1 and found[0].query == question
    elif isinstance(parts, int):
        assert len(found) == parts
    else:
        assert [p.name for p in found] == parts
        assert all(p.query.endswith("?") and p.name in p.query for p in found)


VETO = Document(
    "v1",
    "statement.txt",
    "The veto should be limited to grave cases.\n\nAfrica deserves permanent seats on the Council.\n\n"
    "Climate finance must double by 2030.\n\nThere exist big gaps of funding for reform. "
    "It is necessary for partners to provide sustained funding for reform.\n",
    {"title": "Statement", "speaker": "Ambassador Kamau", "country": "KEN", "date": "2021-05-01"},
)
COPY = Document("v2", "copy.txt", VETO.text, {"title": "Copy", "country": "KEN", "date": "2021-05-02"})


def _passages(*docs: Document) -> list[Passage]:
    return [
        Passage(i + 1, Chunk(f"{d.doc_id}:0", d.doc_id, 0, len(d.text), d.text), d, 0.03, 0.6)
        for i, d in enumerate(docs)
    ]


def test_each_part_is_answered_or_said_to_be_unaddressed(embedder):
    generator = ExtractiveGenerator(embedder, min_relevance=0.5)
    question = "What did Kenya say about the veto, Africa and Antarctica?"
    answer = attribute(generator.generate(Question.of(question), _passages(VETO)))
    assert not answer.refused
    assert "The veto should be limited to grave cases." in answer.text
    assert "Africa deserves permanent seats on the Council." in answer.text
    assert answer.unaddressed == ("Antarctica",)
    assert answer.text.index("The veto") < answer.text.index("Africa deserves")  # the order asked
    assert answer.text.startswith("Ambassador Kamau (Kenya), 2021-05-01: ")
    for c in answer.citations:
        assert VETO.text[c.start : c.end] == c.quote


def test_the_next_sentence_comes_when_it_goes_on_answering(embedder):
    generator = ExtractiveGenerator(embedder, min_relevance=0.5)
    answer = generator.generate(Question.of("How should reform be funded?"), _passages(VETO))
    assert "There exist big gaps of funding for reform." in answer.text
    assert "partners to provide sustained funding" in answer.text


def test_near_duplicate_sentences_are_quoted_once(embedder):
    generator = ExtractiveGenerator(embedder, min_relevance=0.5)
    answer = generator.generate(Question.of("What about the veto?"), _passages(VETO, COPY))
    assert answer.text.count("The veto should be limited to grave cases.") == 1
