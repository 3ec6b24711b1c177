"""An upload's country, speaker and date as its user confirms them: the country its text
names offered on the upload form, set only when chosen; details edited in the Library,
kept beside the upload, and what the next question is scoped by (the real app, index and
model)."""

from __future__ import annotations

import json

from rag.pipeline import Pipeline
from rag.storage import Index
from tests.integration.test_sharing import _answer, home_app  # noqa: F401 - the fixture
from ui.app import App
from ui.library import NOT_UPLOADED

KENYA = (
    "Statement by the delegation of Kenya on drought\n\n"
    "24 September 2019\n\n"
    "The delegation proposed a regional fund for drought resilience in the pastoral counties. "
    "It asked donors to pledge to the fund before the next rainy season.\n"
)
DROUGHT = "What did Kenya propose about drought?"


def _row(app: App, title_words: str) -> tuple[list, str]:
    rows, ids = app.library.rows(None, title_words)
    assert len(rows) == 1, rows
    return rows[0], ids[0]


def test_an_upload_is_by_the_country_its_user_chose_and_never_by_one_read_alone(home_app, tmp_path):  # noqa: F811
    library = home_app.library
    upload = tmp_path / "kenya.txt"
    upload.write_text(KENYA)
    assert library.suggest([str(upload)]) == "Kenya"  # offered, not set

    refused = library.add(None, [str(upload)], country="Narnia")
    assert refused == (
        "&#x27;Narnia&#x27; is not a country&#x27;s name or three-letter code (such as Kenya or KEN). "
        "Nothing was added."
    )
    assert len(library.rows(None)[0]) == 2
    assert not (home_app.pipeline.settings.home / "uploads" / "kenya.txt").exists()

    assert "1 added" in library.add(None, [str(upload)])
    row, doc_id = _row(home_app, "drought")
    assert row[1] == "" and row[2] == "2019-09-24"  # no country until a user says so
    assert "Kenya" not in home_app.country_choices(None).__str__()

    # The same file again with the country chosen: its details change, its text does not.
    assert "0 added, 1 replaced" in library.add(None, [str(upload)], country="Kenya")
    row, doc_id = _row(home_app, "drought")
    assert row[1] == "KEN" and row[0] == "Statement by the delegation of Kenya on drought"
    assert ("Kenya", "KEN") in home_app.country_choices(None)
    # The country filter and a question naming the country now find it.
    assert "regional fund for drought resilience" in _answer(home_app, DROUGHT)
    assert "regional fund" in _answer(home_app, "What fund did the delegation propose?", countries=["KEN"])
    kept = json.loads((home_app.pipeline.settings.home / "uploads" / "kenya.meta.json").read_text())
    assert kept == {"country": "KEN"}


def test_details_set_in_the_library_are_kept_beside_the_upload_and_asked_by(home_app, tmp_path):  # noqa: F811
    library = home_app.library
    upload = tmp_path / "kenya.txt"
    upload.write_text(KENYA.replace("of Kenya ", "").replace("Kenya", "the delegation"))
    assert library.suggest([str(upload)]) is None
    assert "1 added" in library.add(None, [str(upload)])
    row, doc_id = _row(home_app, "drought")
    assert library.details(None, doc_id) == ("", "the delegation", "2019-09-24", True)  # as its title says

    bad = library.set_details(None, doc_id, "Kenya", "Amb. Jane Doe", "last spring")
    assert "is not a date such as 2024-09-24" in bad and bad.endswith("Nothing was changed.")
    assert _row(home_app, "drought")[0][1] == ""

    saved = library.set_details(None, doc_id, "Kenya", "Amb. Jane Doe", "2021")
    assert saved.startswith(
        "Statement by the delegation on drought: set country Kenya, speaker Amb. Jane Doe, year 2021.<br>"
    ), saved
    assert "0 added, 1 replaced" in saved, saved
    row, doc_id = _row(home_app, "drought")
    assert row[1:4] == ["KEN", "2021", "Amb. Jane Doe"]
    assert library.details(None, doc_id) == ("Kenya", "Amb. Jane Doe", "2021", True)
    # Asked of Kenya in 2021; never offered as a question to try (an upload is about anything).
    assert not [q for q in home_app.examples() if "Kenya" in q]
    answer = _answer(home_app, "What did Kenya propose about drought in 2021?")
    assert "regional fund for drought resilience" in answer and "Amb. Jane Doe (Kenya)" in answer
    # A new process on the same home reads the same details: they are on disk, not in the page.
    settings = home_app.pipeline.settings
    again = App(
        Pipeline(settings, Index.open(settings.index_dir), home_app.pipeline.embedder), tmp_path / "r"
    )
    assert _row(again, "drought")[0][1:4] == ["KEN", "2021", "Amb. Jane Doe"]

    # Saved again unchanged: nothing embedded. Emptied: the text's own date is back.
    assert "is unchanged since it was indexed" in library.set_details(
        None, doc_id, "KEN", "Amb. Jane Doe", "2021"
    )
    assert "1 replaced" in library.set_details(None, doc_id, "", "", "")
    row, doc_id = _row(home_app, "drought")
    assert row[1:4] == ["", "2019-09-24", "the delegation"]

    # A statement `rag ingest` added keeps the details its own file gives.
    seed_rows, seed_ids = library.rows(None, "CHN")
    assert library.details(None, seed_ids[0])[3] is False
    assert library.set_details(None, seed_ids[0], "Kenya", "", "") == NOT_UPLOADED
    assert library.rows(None, "CHN")[0] == seed_rows
