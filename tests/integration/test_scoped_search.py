"""Inside the one statement a question is kept to, the passage that answers is found even
when it does not repeat the speaker's name that every other passage repeats."""

from __future__ import annotations

from rag.ingest import ingest, open_or_create
from rag.pipeline import Pipeline
from rag.settings import load_settings

TOPICS = [
    "tourism in the Andes and the heritage of Machu Picchu",
    "mining royalties and the fiscal rules of the national budget",
    "fisheries off the coast and the protection of anchovy stocks",
    "the bicentennial of independence and the celebrations planned",
    "rural schools and the teachers trained in the highlands",
    "the Amazon rainforest and the indigenous communities living there",
    "trade agreements with Pacific partners and export growth",
    "the fight against corruption and the reform of the judiciary",
]
COUNCIL = (
    "The Security Council must be expanded in its permanent and non-permanent member "
    "categories in order to become more representative, legitimate and effective. Most "
    "Member States do not want a decision on this matter to be postponed forever."
)


def _speech(name: str) -> str:
    paragraphs = [
        f"{name} is proud of its work on {topic}. {name} has invested in {topic}, and the people "
        f"of {name} expect {name} to keep its promises on {topic} in the years to come."
        for topic in TOPICS
    ]
    paragraphs.insert(5, COUNCIL)
    return "\n\n".join(paragraphs) + "\n"


def test_the_passage_on_the_council_is_found_in_a_speech_that_repeats_its_speakers_name(tmp_path, embedder):
    speeches = tmp_path / "speeches"
    speeches.mkdir()
    for code, name in (("PER", "Peru"), ("CHL", "Chile"), ("COL", "Colombia")):
        (speeches / f"{code}_70_2015.txt").write_text(_speech(name), encoding="utf-8")
    home = tmp_path / "home"
    index = open_or_create(home / "index", embedder, 800, 200)
    ingest([speeches], index, embedder, home, progress=False)
    pipeline = Pipeline.open(load_settings().with_overrides(home=home, index_dir=home / "index"), embedder)
    for question in (
        "What did Peru say in 2015 about enlarging the Security Council?",
        "In its 2015 speech, how did Chile describe expanding the Security Council?",
        "What was Colombia's position on the enlargement of the Security Council in 2015?",
    ):
        answer = pipeline.ask(question)
        assert not answer.refused, (question, answer.text)
        assert "must be expanded" in answer.text, (question, answer.text)
