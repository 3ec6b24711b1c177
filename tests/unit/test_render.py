"""What the page shows of a statement's words: emphasis as emphasis (never asterisks), a
highlight on exactly the cited characters, quotes grouped under their source, lists as lists."""

from __future__ import annotations

import re

import pytest

from rag.answering import check_sentences, verify_citations
from rag.answering.attribution import attribute
from rag.markup import plain, runs
from rag.types import Answer, Citation, Document
from ui.render import answer_html, emphasis_html, source_html

TEXT = (
    "**Mr President, Ladies and Gentlemen,**\n\n"
    "Canada has invested more than **$100 million** in support of *Haitians, for Haitians.*\n\n"
    "This reform must include the following objectives:\n"
    "- The revitalisation of the General Assembly;\n"
    "- The reform of the Security Council.\n"
    "A <b>bold</b> tag, snake_case_name, 2 * 3 = 6, and ![x](http://host/track.png).\n"
)
DOC = Document("d1", "CAN_79_2024.txt", TEXT, {"title": "Speech", "country": "CAN", "year": 2024})


def _marked(html: str) -> str:
    """The characters inside the highlight, as a reader sees them."""
    inner = "".join(re.findall(r"<mark class='cited'>(.*?)</mark>", html, re.S))
    return re.sub(r"<[^>]+>", "", inner)


def _unescape(text: str) -> str:
    import html

    return html.unescape(text)


def test_emphasis_is_read_with_exact_offsets():
    visible = plain(TEXT)
    assert "**" not in visible and "<b>" not in visible
    assert (
        "Mr President, Ladies and Gentlemen," in visible
        and "snake_case_name" in visible
        and "2 * 3 = 6" in visible
    )
    bold = [TEXT[r.start : r.end] for r in runs(TEXT) if r.bold]
    assert bold == ["Mr President, Ladies and Gentlemen,", "$100 million", "bold"]
    assert [TEXT[r.start : r.end] for r in runs(TEXT) if r.italic] == ["Haitians, for Haitians."]


@pytest.mark.parametrize(
    ("cited", "seen"),
    [
        # Bold inside the citation.
        (
            "Canada has invested more than **$100 million** in support",
            "Canada has invested more than $100 million in support",
        ),
        # Starting inside bold, ending inside italics.
        ("100 million** in support of *Haitians", "100 million in support of Haitians"),
        # Across the end of a bold salutation and a paragraph break.
        ("Ladies and Gentlemen,**\n\nCanada", "Ladies and Gentlemen,\n\nCanada"),
    ],
)
def test_the_highlight_covers_exactly_the_cited_characters(cited, seen):
    start = TEXT.index(cited)
    html = source_html(DOC, start, start + len(cited), "Citation [1]")
    assert _unescape(_marked(html)) == seen
    assert "**" not in html and "<strong>" in html and "<em>" in html


def test_document_markup_is_never_live():
    html = emphasis_html(TEXT)
    assert "<b>" not in html and "![x]" not in html and "](http" not in html
    assert "&#33;&#91;x&#93;(http://host/track.png)" in html  # shown, as its words


def test_answer_groups_quotes_under_their_source_and_keeps_lists():
    quote = TEXT[TEXT.index("This reform") : TEXT.index("A <b>")].rstrip()
    start = TEXT.index(quote)
    answer = Answer(
        "q",
        "Canada has invested more than **$100 million** in support of "
        "*Haitians, for Haitians.* [1]\n"
        "This reform must include the following objectives:\n- The revitalisation of the General Assembly;\n"
        "- The reform of the Security Council. [2]",
        False,
        (
            Citation(1, DOC, 40, 125, TEXT[40:125], 1),
            Citation(2, DOC, start, start + len(quote), quote, 1),
        ),
        unaddressed=("Mars",),
    )
    html = answer_html(attribute(answer), 0)
    assert '<div class="source-lead">Canada, 2024</div>' in html
    assert "<strong>$100 million</strong>" in html and "**" not in html
    assert "<p>This reform must include the following objectives:</p><ul><li>The revitalisation" in html
    assert re.search(r"<li>The reform of the Security Council\. <a href=\"#cite-0-c-2\"", html)
    assert "Not addressed in the statements found: Mars." in html


def test_a_sentence_its_citation_does_not_support_is_marked_alone():
    doc = Document("k", "KEN.txt", "The veto must go.", {"country": "KEN", "year": 2021})
    answer = check_sentences(
        attribute(
            Answer(
                "q",
                "The veto must go. The moon is made of cheese. [1]",
                False,
                (Citation(1, doc, 0, 17, "The veto must go.", 1),),
            )
        )
    )
    html = answer_html(answer, 0)
    flagged = re.findall(r'<span class="unsupported"[^>]*>⚠ (.*?)</span>', html)
    assert flagged == ["The moon is made of cheese."]
    assert "The veto must go." in html


def test_a_lead_in_is_shown_as_text_never_as_a_marker_or_an_unsupported_claim():
    doc = Document(
        "j",
        "j.txt",
        "The veto must go.",
        {"speaker": "Jane Doe [7] [8]", "country": "KEN", "date": "3 December 2020"},
    )
    plain_answer = Answer(
        "q", "The veto must go. [1]", False, (Citation(1, doc, 0, 17, "The veto must go.", 1),)
    )
    html = answer_html(check_sentences(attribute(verify_citations(plain_answer))), 0)
    assert re.findall(r'href="#cite-0-c-(\d+)"', html) == ["1"]
    assert '<div class="source-lead">Jane Doe &#91;7&#93; &#91;8&#93; (Kenya), 3 December 2020</div>' in html
    assert '<p>The veto must go. <a href="#cite-0-c-1"' in html
    assert "unsupported" not in html and "⚠" not in html


def test_document_words_are_escaped_once():
    from ui.render import escape

    assert escape("It's <b> & #1 *x* [y]") == "It&#x27;s &lt;b&gt; &amp; &#35;1 &#42;x&#42; &#91;y&#93;"
    assert "&amp;#" not in emphasis_html("Brazil's “quotes” & #hashtags")


def test_conversations_the_browser_kept_malformed_are_passed_over():
    from ui import conversations

    saved = {"": {"current": "a", "conversations": {"a": "junk", "b": {"title": "Q", "updated": "soon"}}}}
    assert conversations.choices(saved, "") == [(conversations.choices(saved, "")[0][0], "b")]
    assert conversations.current(saved, "") == ("", [], [])
    store, key = conversations.remember(
        saved, "", "", [{"role": "user", "content": "q"}], [{"question": "q"}]
    )
    assert store[""]["current"] == key and store[""]["conversations"][key]["title"] == "q"


def test_terminal_text_from_a_document_never_carries_escape_sequences():
    from rag.chat import shown

    text = shown("\x1b]0;pwned\x07Jane Doe\x1b[2J\x1b[8m")
    assert "\x1b" not in text and "\x07" not in text
    assert "Jane Doe" in text and "\\x1b" in text  # shown as text, not acted on
    assert shown("line one\nline two", lines=True) == "line one\nline two"
