"""Follow-ups read in the light of the turns before them, and never answered with what an
earlier answer already quoted."""

from __future__ import annotations

import json

import pytest

from rag.answering import ExtractiveGenerator
from rag.chat import read_history
from rag.question import Question
from rag.question.followup import NOTHING_NEW, Turn, leans_on_earlier, standalone_question
from rag.types import Answer, Chunk, Citation, Document, Passage

EARLIER = Turn("What did Qatar say about Council reform in 2021?", speakers=("Alya Al-Thani",))


@pytest.mark.parametrize(
    ("follow_up", "understood"),
    [
        ("What else?", "What did Qatar say about Council reform in 2021?"),
        ("Tell me more", "What did Qatar say about Council reform in 2021?"),
        ("in 2019?", "What did Qatar say about Council reform in 2019?"),
        ("And Denmark?", "What did Denmark say about Council reform in 2021?"),
        ("What about the veto?", "What did Qatar say about the veto in 2021?"),
        (
            "What did she say their priority should be?",
            # One word of its own: asked about the earlier topic ("Council reform").
            "What did she say their priority should be? (Alya Al-Thani, Qatar, Council, reform, 2021)",
        ),
        # A question with its own subject starts afresh.
        ("What did Japan say about nuclear disarmament?", "What did Japan say about nuclear disarmament?"),
    ],
)
def test_a_follow_up_is_searched_as_a_standalone_question(follow_up, understood):
    assert standalone_question(follow_up, [EARLIER]) == understood


def test_the_first_question_and_a_new_topic_are_not_follow_ups():
    assert standalone_question("What else?", []) == "What else?"
    assert not leans_on_earlier("What did Japan say about nuclear disarmament?")
    assert leans_on_earlier("And Denmark?") and leans_on_earlier("Why?")


TEXT = (
    "The veto should be limited to grave cases. Africa deserves permanent seats on the Council.\n\n"
    "Council reform needs a package solution agreed by all members."
)
DOC = Document("d1", "statement.txt", TEXT, {"title": "Statement", "country": "KEN", "year": 2021})


def _passages() -> list[Passage]:
    return [Passage(1, Chunk("d1:0", "d1", 0, len(TEXT), TEXT), DOC, 0.03, 0.6)]


def test_a_follow_up_never_quotes_an_earlier_answer_again(embedder):
    generator = ExtractiveGenerator(embedder, min_relevance=0.5)
    first = generator.generate(Question.of("What about Council reform?"), _passages())
    earlier = [(c.doc_id, c.start, c.end) for c in first.citations]
    second = generator.generate(Question.of("What about Council reform?"), _passages(), earlier=earlier)
    assert not second.refused and second.citations
    for c in second.citations:
        assert not any(c.start < e and s < c.end for _, s, e in earlier)
    third = generator.generate(
        Question.of("What about Council reform?"),
        _passages(),
        earlier=earlier + [(c.doc_id, c.start, c.end) for c in second.citations],
    )
    assert third.refused and third.text == NOTHING_NEW


def test_earlier_turns_round_trip_through_rag_ask_json(tmp_path):
    answer = Answer(
        "Who?",
        "The veto should be limited to grave cases. [1]",
        False,
        (Citation(1, DOC, 0, 42, TEXT[:42], 1),),
    )
    path = tmp_path / "history.json"
    # `rag ask --json … >> history.json` twice: two pretty-printed objects, one after the other.
    path.write_text(json.dumps(answer.to_json(), indent=2) + "\n" + json.dumps(answer.to_json(), indent=2))
    turns = read_history(path)
    assert [t.cited for t in turns] == [(("d1", 0, 42),)] * 2
    assert turns[0].searched == "Who?"
    assert Turn.from_json(Turn.of("Who?", answer).to_json()) == Turn.of("Who?", answer)


def test_a_country_is_the_new_speaker_only_when_the_index_holds_its_statements():
    earlier = [Turn("What did China say about Palestine in 2024?")]
    speaks = {"CHN", "GBR", "USA"}.__contains__
    assert standalone_question("And Ukraine?", earlier, speaks) == "What did China say about Ukraine in 2024?"
    assert (
        standalone_question("And the United Kingdom?", earlier, speaks)
        == "What did the United Kingdom say about Palestine in 2024?"
    )


def test_a_follow_up_with_nothing_to_carry_over_is_never_shown_with_empty_brackets():
    earlier = Turn("What was said?")  # names no one, no year, nothing to carry
    assert standalone_question("What did they say?", [earlier]) == "What did they say?"
    assert (
        standalone_question("What did they say?", [Turn("What did Peru say?")]) == "What did they say? (Peru)"
    )


def test_what_else_quotes_what_is_left_on_the_topic_though_it_says_less_in_the_questions_words():
    # The sentence left says less in the question's words than the one quoted first: asked
    # for more, it is the answer, not "nothing beyond the earlier answers".
    from tests.unit.fakes import KeywordEmbedder

    text = (
        "Ruritania wants Council reform that makes the Council more representative of Africa. "
        "We welcome our new colleagues in New York this year. "
        "The reform should also limit the veto of the permanent members.\n"
    )
    passages = _one_passage(text)
    generator = ExtractiveGenerator(KeywordEmbedder(), min_relevance=0.6)
    first = generator.generate(Question.of("What did Ruritania say about Council reform in 2015?"), passages)
    assert "more representative of Africa" in first.text and "veto" not in first.text
    earlier = Turn(first.question, cited=tuple((c.doc_id, c.start, c.end) for c in first.citations))
    more = generator.generate(Question.read("What else?", [earlier]), passages)
    assert "limit the veto" in more.text and "representative of Africa" not in more.text


def test_what_else_after_a_question_of_a_kind_asks_for_the_rest_of_that_topic_of_any_kind():
    # "How much …?" then "Anything else on that?": the rest of what was said on the topic,
    # not only more figures, and not "nothing beyond the earlier answers".
    from tests.unit.fakes import KeywordEmbedder

    text = (
        "Ruritania gave 40 million dollars to the peacekeeping fund this year. "
        "The weather in our capital was mild in the spring.\n"
        "We ask the Security Council to give the peacekeeping fund what it needs.\n"
    )
    passages = _one_passage(text)
    generator = ExtractiveGenerator(KeywordEmbedder(), min_relevance=0.6)
    for asked in (
        "How much did Ruritania give to the peacekeeping fund in 2015?",
        "What amount did Ruritania give the peacekeeping fund in 2015?",
        "When did Ruritania give to the peacekeeping fund?",
    ):
        first = generator.generate(Question.of(asked), passages)
        assert "40 million" in first.text, asked
        earlier = Turn(first.question, cited=tuple((c.doc_id, c.start, c.end) for c in first.citations))
        for more in ("Anything else on that?", "What else?", "Tell me more"):
            answer = generator.generate(Question.read(more, [earlier]), passages)
            assert not answer.refused and "what it needs" in answer.text, (asked, more, answer.text)
            assert "40 million" not in answer.text and "weather" not in answer.text


def test_a_date_line_is_quoted_only_to_say_when():
    # "2020-12-03 01:01" above a statement shares the speaker's name with every sentence:
    # asked for more, it is no answer (nor is it one to anything but "when").
    from tests.unit.fakes import KeywordEmbedder

    text = (
        "2020-12-03 01:01\n\n"
        "Ruritania wants Council reform that limits the veto of the permanent members.\n\n"
        "The weather in our capital was mild in the spring.\n"
    )
    meta = {"title": "Statement", "speaker": "Ambassador Zhang Jun", "date": "2020-12-03"}
    passages = _one_passage(text, meta, "statement.txt")
    generator = ExtractiveGenerator(KeywordEmbedder(), min_relevance=0.3)
    first = generator.generate(Question.of("What did Ambassador Zhang Jun say about the veto?"), passages)
    assert "limits the veto" in first.text and "2020-12-03" not in first.text
    earlier = Turn(first.question, cited=tuple((c.doc_id, c.start, c.end) for c in first.citations))
    for asked in ("What else?", "Anything else on that?"):
        more = generator.generate(Question.read(asked, [earlier]), passages)
        assert "01:01" not in more.text, (asked, more.text)
    when = generator.generate(Question.of("When did Ambassador Zhang Jun say it?"), passages)
    assert "01:01" in when.text or when.refused


def _one_passage(text: str, meta: dict | None = None, source: str = "RUR_70_2015.txt") -> list[Passage]:
    """One statement, retrieved whole as one passage."""
    doc = Document("r1", source, text, meta or {"title": "Statement", "country": "RUR", "year": 2015})
    return [Passage(1, Chunk("r1:0", "r1", 0, len(text), text), doc, 0.03, 0.6)]
