"""An upload's details as its user gives or confirms them: the country a text names offered
(for every country in the table, under many title forms), never set on its own; dates as
people type them; what is kept beside the upload and read back by loading."""

from __future__ import annotations

import json

import pytest

from rag import countries, details
from rag.errors import InputError
from rag.loading import load_file, parse_date
from rag.types import Document

# Every country of the table a statement could be by (the corpus's codes), by its name.
CODES = sorted({code for code in countries.names().values() if len(countries.country_name(code)) > 3})
TITLES = (
    "Statement by the Permanent Representative of {name} to the United Nations",
    "Remarks of {name} at the Security Council open debate on climate and security",
    "{name}: address to the General Assembly",
    "Explanation of vote by the delegation of {name}",
)


def _doc(text: str, title: str = "") -> Document:
    return Document(doc_id="x", source="uploads/x.txt", text=text, metadata={"title": title})


@pytest.mark.parametrize("template", TITLES)
def test_the_country_a_title_names_is_offered_for_every_country(template):
    wrong = []
    for code in CODES:
        name = countries.country_name(code)
        title = template.format(name=name)
        got = details.suggested_country(_doc(f"{title}\n\nWe thank the President.", title))
        if got != code and countries.country_name(got or "") != name:
            wrong.append((title, got))
    assert not wrong, wrong[:10]


def test_a_text_naming_several_countries_equally_offers_none():
    text = "Kenya and Chile spoke. Kenya thanked Chile. We support both."
    assert details.suggested_country(_doc(text, "Remarks at the open debate")) is None
    # Named most often in the opening (twice at least): offered.
    text = "Ghana thanks the President. Ghana supports reform, as Chile said."
    assert details.suggested_country(_doc(text, "Remarks at the open debate")) == "GHA"
    # A demonym counts for its country; a word like "us" names nobody.
    text = "The Chilean delegation thanks us all. The Chilean people support us."
    assert details.suggested_country(_doc(text, "Remarks")) == "CHL"
    assert details.suggested_country(_doc("Let us work together; let us act.", "Remarks")) is None


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2024-09-24", {"date": "2024-09-24", "year": 2024}),
        (" 24 September 2024 ", {"date": "2024-09-24", "year": 2024}),
        ("September 24, 2024", {"date": "2024-09-24", "year": 2024}),
        ("1995", {"year": 1995}),
    ],
)
def test_dates_as_people_type_them(typed, expected):
    assert parse_date(typed) == expected


@pytest.mark.parametrize("typed", ["2024-02-30", "yesterday", "2024 and 2025", "24/09", "9/24/2024", "20245"])
def test_what_is_no_date_is_one_sentence(typed):
    with pytest.raises(InputError, match="is not a date such as 2024-09-24"):
        parse_date(typed)


def test_entries_are_checked_and_an_empty_one_gives_nothing():
    assert details.checked("Kenya", " Ambassador  Jane Doe ", "2021") == {
        "country": "KEN",
        "speaker": "Ambassador Jane Doe",
        "year": 2021,
    }
    assert details.checked("ken") == {"country": "KEN"}
    assert details.checked("", "", "") == {}
    with pytest.raises(InputError, match="'Narnia' is not a country's name or three-letter code"):
        details.checked("Narnia")
    with pytest.raises(InputError, match="speaker of 201 characters"):
        details.checked(speaker="x" * 201)


def test_details_kept_beside_an_upload_are_what_loading_reads(tmp_path):
    upload = tmp_path / "uploads" / "drought.txt"
    upload.parent.mkdir()
    upload.write_text(
        "Statement on drought\n\n24 September 2019\n\nWe propose a regional fund for drought.\n"
    )
    first = load_file(upload, "uploads/drought.txt", uploaded=True)
    assert isinstance(first, Document)
    assert first.metadata.get("country") is None and first.metadata["year"] == 2019
    assert first.metadata["date"] == "2019-09-24"

    details.keep(upload, details.checked("Kenya", "Jane Doe", "2021"))
    again = load_file(upload, "uploads/drought.txt", uploaded=True)
    assert isinstance(again, Document) and again.metadata["uploaded"] is True
    # The year given wins, and the text's date of another year is not kept beside it.
    assert (again.metadata["country"], again.metadata["speaker"], again.metadata["year"]) == (
        "KEN",
        "Jane Doe",
        2021,
    )
    assert "date" not in again.metadata

    details.keep(upload, details.checked(date="3 March 2022"), fields=("date",))
    kept = json.loads((tmp_path / "uploads" / "drought.meta.json").read_text())
    assert kept == {"country": "KEN", "speaker": "Jane Doe", "date": "2022-03-03", "year": 2022}
    third = load_file(upload, "uploads/drought.txt", uploaded=True)
    assert isinstance(third, Document) and (third.metadata["date"], third.metadata["year"]) == (
        "2022-03-03",
        2022,
    )

    details.keep(upload, {})  # every field emptied: the text says them again, and no file is left
    assert not (tmp_path / "uploads" / "drought.meta.json").exists()
    fourth = load_file(upload, "uploads/drought.txt", uploaded=True)
    assert isinstance(fourth, Document) and fourth.metadata.get("country") is None
    assert fourth.metadata["date"] == "2019-09-24"
