"""What a question asks for, read once (``rag.question.asks``), and the answerability checks
that read it: lists told one item per sentence, deeds presumed by "why did X refuse …",
figures asked under many nouns, named things the scoped statements never use, compound
words. Invented questions and statements, generated over phrasings."""

from __future__ import annotations

import itertools

import pytest

from rag.answering import ExtractiveGenerator
from rag.answering.answerability import Scoped, list_not_given, not_answered, premise_denied
from rag.question import Question
from rag.question.asks import asks_of
from rag.types import Chunk, Document, Passage

SPEAKERS = ["Ruritania", "Freedonia", "the Philippines", "Kenya", "Peru"]


@pytest.mark.parametrize(
    "template",
    [
        "What {N} did {S} give for its flood losses in 2013?",
        "According to {S}, what was the {N} of the 2012 floods?",
        "In its 2014 speech, what {N} did {S} put on the reconstruction?",
    ],
)
def test_a_figure_is_asked_under_many_nouns(template):
    for noun, speaker in itertools.product(
        ["death toll", "total", "sum", "budget", "cost", "figure"], SPEAKERS
    ):
        assert asks_of(template.format(N=noun, S=speaker)).kind == "figure", (noun, speaker)
    assert asks_of(template.format(N="view", S="Peru")).kind != "figure"


def test_a_list_told_one_item_per_sentence_after_it_is_announced_is_given():
    asks = asks_of("What three pillars did Ruritania name for its migration policy?")
    announced = "Ruritania's migration policy rests on three pillars."
    after = " First is strong borders. Second is a humane asylum system. The third pillar is cooperation."
    assert list_not_given(asks, [announced], [after]) == ""
    assert list_not_given(asks, [announced], [" We are proud of it."]).startswith(
        "The statements mention three pillars"
    )


@pytest.mark.parametrize("joined", ["agriculture, infrastructure and energy", "agriculture, roads or energy"])
def test_a_list_of_three_joined_by_and_is_given(joined):
    asks = asks_of("What three national priorities did Freedonia name in 2012?")
    assert list_not_given(asks, [f"Our national priorities must focus on {joined}."]) == ""


@pytest.mark.parametrize(
    "question",
    [
        "Why did {S} refuse to sign the Zambezi accord in 2013?",
        "Why did {S} withdraw from the Zambezi accord?",
        "How come {S} dropped its support for the Zambezi accord?",
        "Why did {S} say in 2013 that it was dropping the Zambezi accord?",
        "Why did {S} reject the Zambezi accord?",
    ],
)
def test_a_deed_the_question_presumes_must_be_borne_out(question):
    for speaker in SPEAKERS:
        asks = asks_of(question.format(S=speaker))
        assert asks.premise and asks.turns, asks
        signed = [f"{speaker} signed the Zambezi accord and will ratify it this year."]
        assert premise_denied(asks, signed)
        turned = [f"{speaker} has decided to withdraw its support from the Zambezi accord; we reject it."]
        assert not premise_denied(asks, turned)


def test_a_deed_presumed_without_a_turn_is_checked_only_against_a_denial():
    from rag.answering.answerability import premise_denied

    asks = asks_of("Why did Peru call for reform of the Council?")
    assert asks.premise == "Peru call for reform of the Council" and asks.turns == ()
    assert not premise_denied(asks, ["Peru calls for reform of the Council."])
    assert not premise_denied(asks, ["Nothing here speaks of it."])
    assert premise_denied(asks, ["Peru has never called for reform of the Council."])


def test_a_named_thing_the_scoped_statement_never_uses_is_unanswered_even_beside_a_paraphrase():
    statement = "Chile committed a few months ago to becoming a carbon-neutral country."
    asks = asks_of("What did Chile say in 2019 about lithium mining in the Atacama desert?")
    why = not_answered(asks, [statement], [statement], lambda t: 1.0, Scoped([statement]), close=True)
    assert "Atacama" in why
    # An acronym may be written out in the statement: beside a close paraphrase, not counted.
    court = "Peru will abide by the ruling of the International Court of Justice in the maritime case."
    asks = asks_of("What did Peru say about the ICJ ruling on the maritime case?")
    assert not_answered(asks, [court], [court], lambda t: 1.0, Scoped([court]), close=True) == ""


@pytest.mark.parametrize(
    ("word", "statement"),
    [
        ("landmines", "We help clear the land of mines left by the war."),
        ("peacekeeping", "Keeping the peace in the region is our duty."),
    ],
)
def test_a_compound_word_is_mentioned_when_its_two_words_are(word, statement):
    asks = asks_of(f"What did Norway say about {word} in 2019?")
    assert not_answered(asks, [statement], [statement], lambda t: 5.0, Scoped([statement])) == ""
    other = "Norway supports the reform of the Council."
    assert word in not_answered(asks, [other], [other], lambda t: 5.0, Scoped([other]))


PILLARS = Document(
    "p1",
    "RUR_71_2016.txt",
    "Ruritania welcomes the New York Declaration. Our response to the global surge in migration is "
    "based on three pillars. First is strong border controls, with measures against people-smuggling. "
    "Second is a compassionate humanitarian policy that resettles refugees. The third pillar is "
    "regional cooperation. We are a nation of immigrants.\n",
    {"title": "Statement", "country": "RUR", "year": 2016},
)


def test_a_list_told_one_item_per_sentence_is_quoted_whole(embedder):
    passages = [Passage(1, Chunk("p1:0", "p1", 0, len(PILLARS.text), PILLARS.text), PILLARS, 0.03, 0.6)]
    question = Question.of(
        "What three pillars did Ruritania give for its response to the surge in migration?"
    )
    answer = ExtractiveGenerator(embedder, min_relevance=0.5).generate(question, passages)
    assert not answer.refused
    for item in ("strong border controls", "compassionate humanitarian policy", "regional cooperation"):
        assert item in answer.text


GOALS = Document(
    "g1",
    "RUR_71_2016.txt",
    "We are proud of our record. In Ruritania, we have set ourselves three main objectives.\n"
    "Our first goal is to move towards zero poverty. That means equal opportunities for every child. "
    "A country like ours cannot accept hunger.\n"
    "Our second goal is to defeat drug trafficking. The drug problem requires that we work together.\n"
    "Our third goal is to unite Ruritanians through dialogue. Leadership is measured by trust.\n",
    {"title": "Statement", "country": "RUR", "year": 2016},
)


def _whole(doc: Document) -> list[Passage]:
    return [Passage(1, Chunk(f"{doc.doc_id}:0", doc.doc_id, 0, len(doc.text), doc.text), doc, 0.03, 0.6)]


def test_a_list_whose_items_take_several_sentences_each_is_quoted_item_by_item(embedder):
    question = Question.of("What three main goals did Ruritania's president set out in 2016?")
    answer = ExtractiveGenerator(embedder, min_relevance=0.5).generate(question, _whole(GOALS))
    for item in ("zero poverty", "defeat drug trafficking", "unite Ruritanians"):
        assert item in answer.text


def test_a_count_of_thousands_of_digits_is_no_list_and_no_error():
    # int() refuses more than 4,300 digits: a question under the 5,000-character limit could
    # hold them and ended in a ValueError.
    question = Question.of("Which " + "9" * 4400 + " priorities did Kenya name in 2014?")
    assert question.asks.count == 0
    assert Question.of("Which 12 priorities did Kenya name in 2014?").asks.count == 12


def test_a_list_told_as_our_first_goal_is_given_and_not_refused():
    asks = asks_of("What three main goals did Ruritania set out in 2016?")
    announced = "In Ruritania, we have set ourselves three main goals."
    after = (
        " Our first goal is to move towards zero poverty. That means equal opportunities."
        " Our second goal is to defeat drug trafficking. Our third goal is to unite the country."
    )
    assert list_not_given(asks, [announced], [after]) == ""


TALKS = Document(
    "t1",
    "RUR_67_2012.txt",
    "My Government has resolved to enter into peace talks with the rebel forces to end the armed "
    "conflict. We will hold the peace talks with the rebel forces prudently and firmly. We thank "
    "our neighbours for their goodwill, which has been constant over many years of conflict. "
    "The talks will begin in Valmora in October and will continue in Osterby. "
    "We are a nation of hope.\n",
    {"title": "Statement", "country": "RUR", "year": 2012},
)


@pytest.mark.parametrize(
    "question",
    [
        "Where did Ruritania say its peace talks with the rebel forces would be held?",
        "Did Ruritania say where the peace talks with the rebel forces would take place?",
        "In which city would Ruritania's peace talks with the rebel forces begin?",
    ],
)
def test_a_where_question_quotes_the_sentence_naming_the_place(embedder, question):
    # The sentences naming the talks most closely name no place; the one that answers is
    # further on in the paragraph.
    answer = ExtractiveGenerator(embedder, min_relevance=0.5).generate(Question.of(question), _whole(TALKS))
    assert not answer.refused
    assert "begin in Valmora" in answer.text


MEETING = Document(
    "m1",
    "RUR_77_2022.txt",
    "Foreign Minister Ivo Marek met the co-chairs of the negotiations on Council reform on Tuesday. "
    "Co-chairs were Alya Saif, permanent representative of Qatar, and Martin Holm, permanent "
    "representative of Denmark. The minister thanked them for their work.\n",
    {"title": "Statement", "country": "RUR", "year": 2022},
)


def test_a_part_that_another_parts_quote_answers_is_never_said_to_be_unaddressed(embedder):
    question = Question.of(
        "Who were the co-chairs Ivo Marek met, and which countries do the co-chairs represent?"
    )
    assert len(question.parts) == 2
    answer = ExtractiveGenerator(embedder, min_relevance=0.3).generate(question, _whole(MEETING))
    assert "Qatar" in answer.text and "Denmark" in answer.text
    assert answer.unaddressed == ()
