"""The check of a model's sentence against the words it cites, as a careful reader makes
it: the same words in other spellings and number formats pass; a changed number, a name or
country the words do not give, an added or dropped negation, a hope stated as done and an
"all" for "three of" do not. Invented statements; the labelled pairs in eval/gold/claims.jsonl
measure it (docs/answers.md)."""

from __future__ import annotations

import pytest

from rag.answering.support import judge

KENYA = (
    "Kenya has committed 1,200 million dollars to the programme, some 5 per cent of its budget. "
    "The organisation of the conference in Nairobi will be led by Ambassador Amina Odhiambo of Kenya. "
    "We have not ratified the Treaty on Fisheries, and we will not do so until our concerns are met. "
    "Kenya hopes that the Council will adopt the resolution by next year. "
    "Three of our five targets have been met."
)

SUPPORTED = [
    "Kenya said it had committed $1.2 billion to the programme, about 5% of its budget.",
    "Kenya committed 1.2 billion dollars to the programme.",
    "Kenya said the organization of the Nairobi conference would be led by Ambassador Amina Odhiambo.",
    "Kenya said it had not ratified the fisheries treaty.",
    "Kenya said it hoped the Council would adopt the resolution by next year.",
    "Kenya said that three of its five targets had been met.",
    "The Kenyan delegation said it had committed 1,200 million dollars to the programme.",
]
UNSUPPORTED = [
    ("Kenya said it had committed $2.1 billion to the programme.", "2.1"),
    ("Kenya committed 1.2 billion dollars, some 15 per cent of its budget.", "15"),
    ("The conference in Nairobi will be led by Ambassador Amina Odhiambo of Uganda.", "Uganda"),
    ("The conference in Mombasa will be led by Ambassador Amina Odhiambo.", "Mombasa"),
    ("Kenya said it had ratified the Treaty on Fisheries.", "negated"),
    ("Kenya said it had never committed funds to the programme.", "negated"),
    ("Kenya said the Council had adopted the resolution.", "hoped"),
    ("Kenya said all five of its targets had been met.", "all"),
    ("Kenya said four of its five targets had been met.", "4"),
    ("Kenya said the second of its five targets had been met.", "the second"),
]


@pytest.mark.parametrize("claim", SUPPORTED)
def test_a_faithful_sentence_in_other_words_and_formats_is_supported(claim):
    verdict = judge(claim, [KENYA], ["Kenya"])
    assert verdict.supported, verdict.why


@pytest.mark.parametrize("claim, why", UNSUPPORTED)
def test_a_changed_number_name_negation_or_modality_is_not_and_says_why(claim, why):
    verdict = judge(claim, [KENYA], ["Kenya"])
    assert not verdict.supported and why in verdict.why, verdict


def test_the_speaker_may_be_named_where_the_words_say_we():
    said = "Peru said that it had signed the agreement in 2019."
    assert judge(said, ["We signed the agreement in 2019."], ["Peru"]).supported
    assert not judge(said, ["We signed the agreement in 2019."], ["Chile"]).supported


def test_a_sentence_citing_nothing_is_not_supported():
    assert judge("Kenya committed funds.", [], ["Kenya"]).why == "it cites nothing"


def test_an_acronym_and_its_words_are_the_same_name():
    agency = ["We welcome the work of the International Atomic Energy Agency."]
    assert judge("Chile welcomed the work of the IAEA.", agency, ["Chile"]).supported
    nations = ["We welcome the work of the United Nations."]
    assert judge("Chile welcomed the UN's work.", nations, ["Chile"]).supported


def test_a_sentence_the_cited_words_hold_word_for_word_is_supported_whatever_is_beside_it():
    """A quoted answer's sentence, opened with a capital where the quote began mid-sentence,
    beside other sentences on the same thing that hope or negate, is what the cited words say."""
    cited = (
        "Third, security sector reform is an important aspect of reconstruction. Security sector "
        "reform should be owned by the countries concerned. Security sector reform is not easy."
    )
    assert judge("Security sector reform is an important aspect of reconstruction.", [cited]).supported
