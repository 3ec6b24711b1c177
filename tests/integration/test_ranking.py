"""Which sentence of a speaker's own statement answers: the one saying what was asked, not
one that repeats the speaker's name or the year the question names (every sentence of the
statement is that speaker's, from that year). Real embedding model, real index."""

from __future__ import annotations

import pytest

from rag.ingest import ingest, open_or_create
from rag.pipeline import Pipeline
from rag.settings import load_settings

COUNTRIES = {
    "SWE": "Sweden",
    "KEN": "Kenya",
    "PER": "Peru",
    "NOR": "Norway",
    "GHA": "Ghana",
    "JOR": "Jordan",
    "CHL": "Chile",
    "NZL": "New Zealand",
}
# (question, the sentence that answers it without naming the speaker, words only it holds)
TOPICS = (
    (
        "How did {c} describe the Security Council's response to Ukraine in 2014?",
        "When a permanent member annexed part of Ukraine, the response of the Council was to stand by "
        "as a bystander.",
        "bystander",
    ),
    (
        "What did {c} say about plastic waste in the oceans in 2014?",
        "Millions of tonnes of plastic waste enter the oceans every year and choke marine life.",
        "plastic waste",
    ),
    (
        "What did {c} say in 2014 about the Ebola epidemic?",
        "The Ebola epidemic in West Africa demands a swift and generous international response.",
        "Ebola epidemic",
    ),
)
# Sentences that say little but name the speaker, the year or the body asked about.
FILLERS = (
    "{c} is prepared to do its part.",
    "{c} is a candidate for a seat on the Security Council.",
    "{c} has always been a friend of the United Nations, in 2014 as before.",
    "{c} is part of that common effort.",
    "In 2014 {c} will continue to work with all Member States.",
    "{c} will not stand idly by.",
    "The people of {c} are proud of what was achieved in 2014.",
)


@pytest.fixture(scope="module")
def statements(tmp_path_factory, embedder) -> Pipeline:
    folder = tmp_path_factory.mktemp("statements")
    for code, name in COUNTRIES.items():
        paragraphs = [f"Statement by {name}"]
        for i, (_, answer, _) in enumerate(TOPICS):
            before, after = FILLERS[2 * i], FILLERS[2 * i + 1]
            paragraphs.append(" ".join([before.format(c=name), answer, after.format(c=name)]))
        paragraphs.append(FILLERS[-1].format(c=name))
        (folder / f"{code}_69_2014.txt").write_text("\n\n".join(paragraphs) + "\n")
    home = tmp_path_factory.mktemp("ranking-home")
    index_dir = home / "index" / "statements"
    index = open_or_create(index_dir, embedder, 800, 200)
    ingest([folder], index, embedder, home, progress=False)
    return Pipeline.open(load_settings().with_overrides(home=home, index_dir=index_dir), embedder)


def test_the_sentence_that_answers_outranks_ones_repeating_the_speakers_name(statements):
    missed = []
    for name in COUNTRIES.values():
        for question, _, words in TOPICS:
            asked = question.format(c=name)
            answer = statements.ask(asked)
            if answer.refused or words not in answer.text:
                missed.append(f"{asked} -> {answer.text[:160]!r}")
    assert not missed, f"{len(missed)} of {len(COUNTRIES) * len(TOPICS)}:\n" + "\n".join(missed)
