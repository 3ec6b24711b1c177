"""What the browser sends back as stored conversations is untrusted: rebuilt from text of
known shape and bounded size, never a file, never a traceback."""

from __future__ import annotations

import json
import os
import stat

import orjson
import pytest

from ui import conversations

SPAN = ["d1", 0, 10]
GOOD_TURN = {"question": "Q?", "understood": "Q?", "cited": [SPAN], "c": {"1": SPAN}, "p": {"1": SPAN}}


def _store(conversation: dict, current: object = "a") -> dict:
    return {"": {"current": current, "conversations": {"a": conversation}}}


def test_chat_messages_are_text_only_whatever_the_client_sends():
    chat = [
        {"role": "assistant", "content": {"path": "/etc/passwd"}},
        {"role": "assistant", "content": {"file": {"path": "/srv/rag.toml"}}},
        {
            "role": "user",
            "content": [{"type": "file", "file": {"path": "/x"}}, {"type": "text", "text": "hi"}],
        },
        {"role": "system", "content": "not a role the page shows"},
        {"role": "assistant", "content": "An answer."},
        "junk",
    ]
    assert conversations.text_chat(chat) == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "An answer."},
    ]


def test_a_conversation_is_bounded_per_message_and_in_all():
    huge = [{"role": "user", "content": "x" * 5_000_000}] * 3
    assert conversations.text_chat(huge)[0]["content"] == conversations.TOO_LONG
    many = [{"role": "user", "content": "y" * 90_000}] * 50
    kept = conversations.text_chat(many)
    assert sum(len(m["content"]) for m in kept) <= conversations.MAX_CHAT_CHARS
    assert (
        len(conversations.text_chat([{"role": "user", "content": "q"}] * 500)) == conversations.MAX_MESSAGES
    )
    long_turn = {**GOOD_TURN, "question": "z" * 300_000}
    (turn,) = conversations.clean_turns([long_turn])
    assert len(turn["question"]) == 5000


@pytest.mark.parametrize(
    "conversation, current",
    [
        ({"title": "t", "updated": 1e300, "chat": [], "turns": [GOOD_TURN]}, "a"),
        ({"title": "t", "updated": "nan", "chat": [], "turns": [GOOD_TURN]}, "a"),
        ({"title": "t", "updated": float("nan"), "chat": [], "turns": [GOOD_TURN]}, "a"),
        ({"title": "t", "updated": -1e300, "chat": [], "turns": [GOOD_TURN]}, "a"),
        ({"title": ["t"], "updated": 1, "chat": 5, "turns": [GOOD_TURN]}, ["a"]),
        ({"title": "t", "updated": 1, "chat": "text", "turns": {"0": GOOD_TURN}}, {"a": 1}),
        (
            {"title": "t", "updated": 1, "chat": [], "turns": [{**GOOD_TURN, "c": {"1": ["d1", "0", "10"]}}]},
            "a",
        ),
        (
            {"title": "t", "updated": 1, "chat": [], "turns": [{**GOOD_TURN, "c": {"x": SPAN, "1": "abc"}}]},
            "a",
        ),
        ({"title": "t", "updated": 1, "chat": [], "turns": [{**GOOD_TURN, "question": 7}]}, "a"),
        ({"title": "t", "updated": 10**400, "chat": [], "turns": [GOOD_TURN]}, "a"),
        ({"title": "t", "updated": 1, "chat": [], "turns": [{**GOOD_TURN, "c": {"²": SPAN}}]}, "a"),
        (
            {
                "title": "t\udcff",
                "updated": 1,
                "chat": [{"role": "user", "content": "q\udcff"}],
                "turns": [GOOD_TURN],
            },
            "a",
        ),
        (
            {"title": "t", "updated": 1, "chat": [], "turns": [{**GOOD_TURN, "c": {"1": ["d", 0, 10**400]}}]},
            "a",
        ),
    ],
)
def test_a_malformed_stored_conversation_loads_without_an_error(conversation, current):
    saved = _store(conversation, current)
    key, chat, turns = conversations.current(saved, "")
    labels = conversations.choices(saved, "")
    assert len(labels) == 1 and labels[0][1] == "a"
    for turn in turns:
        for kind in ("c", "p"):
            assert all(isinstance(n, int) and isinstance(s, tuple) for n, s in turn[kind].items())
            assert all(isinstance(x, int) for _, start, end in turn[kind].values() for x in (start, end))
    assert all(isinstance(m["content"], str) for m in chat)
    store, key = conversations.remember(saved, "", key, chat, [GOOD_TURN])
    orjson.dumps(store)  # the browser keeps it as JSON, as Gradio writes it: no error
    orjson.dumps(conversations.current(store, "")[1])


def test_a_second_conversation_saved_keeps_the_first_as_json():
    """Saving a new conversation beside an earlier one: the whole store is still JSON as
    Gradio writes it (before, the earlier one's citation numbers were ints: every save
    after "New conversation" failed)."""
    first, key = conversations.remember({}, "", "", [{"role": "user", "content": "Q?"}], [GOOD_TURN])
    both, other = conversations.remember(first, "", "", [{"role": "user", "content": "R?"}], [GOOD_TURN])
    assert key != other and orjson.loads(orjson.dumps(both))
    assert conversations.opened(both, "", key)[2][0]["c"] == {1: ("d1", 0, 10)}


def test_what_is_stored_is_json_with_string_keys_and_reads_back_the_same():
    turns = conversations.clean_turns([{**GOOD_TURN, "c": {1: ("d1", 0, 10)}}])
    store, key = conversations.remember({}, "", "", [{"role": "user", "content": "Q?"}], turns)
    again = json.loads(json.dumps(store))
    assert conversations.current(again, "") == (key, [{"role": "user", "content": "Q?"}], turns)


def test_the_conversation_secret_is_made_once_and_private(tmp_path):
    first = conversations.secret(tmp_path)
    assert first == conversations.secret(tmp_path) and len(first) >= 16
    path = tmp_path / "state" / conversations.SECRET
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    path.write_text("")  # emptied by hand: a new one, kept from then on
    second = conversations.secret(tmp_path)
    assert second != first and second == conversations.secret(tmp_path)


def test_of_thousands_of_stored_conversations_the_newest_are_kept():
    import random

    times = list(range(2_000))
    random.Random(7).shuffle(times)
    found = {f"c{t}": {"title": f"T{t}", "updated": t, "chat": [], "turns": [GOOD_TURN]} for t in times}
    saved = {"": {"current": "c1999", "conversations": found}}
    labels = [key for _, key in conversations.choices(saved, "")]
    assert labels == [f"c{t}" for t in range(1_999, 1_999 - conversations.KEEP, -1)]
    assert conversations.current(saved, "")[0] == "c1999"
