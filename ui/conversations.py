"""Conversations kept in the reader's browser (Gradio's BrowserState, in localStorage), so a
reload finds the conversation, earlier ones can be reopened, and each person's stay theirs:
nothing of them is kept on the server. One plain JSON-able dict:

    {user: {"current": id, "conversations": {id: {"title", "updated", "chat", "turns"}}}}

Everything here comes back from the browser, and any client can send anything in its place:
it is rebuilt from text and numbers of known shape and bounded size before the page uses it
(a message is a role and a string, never a file, so no client can make the server serve one).
"""

from __future__ import annotations

import math
import os
import re
import secrets
import time
import uuid
from pathlib import Path
from typing import Any

from rag.question.text import MAX_QUESTION_CHARS

KEEP = 30  # conversations kept per user; the oldest go first
TITLE = 60  # characters of the first question that name a conversation
MAX_MESSAGES = 60  # chat messages kept of a conversation; older ones are dropped
MAX_MESSAGE_CHARS = 100_000  # an answer is far shorter; a longer message is not shown
MAX_CHAT_CHARS = 1_000_000  # a conversation's messages together
MAX_TURNS = 60  # turns kept of a conversation (a follow-up reads the last few)
MAX_SPANS = 200  # citations or passages of one turn
MAX_NAME = 200  # a speaker's name, an index's name, an id
MAX_OFFSET = 10**12  # a character offset (JSON allows integers of any length)
MAX_USERS = 20  # logins whose conversations one browser keeps
TOO_LONG = "(a message too long to show)"


def text_chat(raw: Any) -> list[dict[str, str]]:
    """Chat messages as text only: a role ("user" or "assistant") and a string, the newest
    ``MAX_MESSAGES`` within ``MAX_CHAT_CHARS``. A list of parts keeps its text parts; a file,
    a component or anything else a client sends is dropped."""
    kept: list[dict[str, str]] = []
    total = 0
    for message in reversed(raw if isinstance(raw, list) else []):
        if len(kept) == MAX_MESSAGES:
            break
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            continue
        text = _text(message.get("content"))
        if text is None:
            continue
        if len(text) > MAX_MESSAGE_CHARS:
            text = TOO_LONG
        total += len(text)
        if total > MAX_CHAT_CHARS:
            break
        kept.append({"role": str(message["role"]), "content": text})
    return kept[::-1]


_SURROGATE = re.compile("[\ud800-\udfff]")


def clean(text: str) -> str:
    """Text the page can send back as UTF-8: a lone surrogate becomes U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def _text(content: Any) -> str | None:
    if isinstance(content, str):
        return clean(content)
    if isinstance(content, list):  # the page may send a message as a list of parts
        parts = [p for p in content[:MAX_MESSAGES] if isinstance(p, dict) and p.get("type", "text") == "text"]
        texts = [clean(p["text"]) for p in parts if isinstance(p.get("text"), str)]
        return "".join(texts) if texts else None
    return None


def clean_turns(raw: Any) -> list[dict[str, Any]]:
    """Turns as the page keeps them, from what the browser sent back: strings and numbers of
    the shapes ``ui.render.turn_record`` writes, bounded; citation and passage numbers as
    ints, spans as (doc_id, start, end) tuples; a malformed turn dropped."""
    out = []
    for turn in (raw if isinstance(raw, list) else [])[-MAX_TURNS:]:
        if isinstance(turn, dict) and isinstance(turn.get("question"), str):
            out.append(_turn(turn))
    return out


def _turn(turn: dict[str, Any]) -> dict[str, Any]:
    def text(key: str, most: int) -> str:
        value = turn.get(key)
        return clean(value[:most]) if isinstance(value, str) else ""

    cited = [s for s in map(_span, _items(turn.get("cited"))) if s is not None]
    spans = {
        kind: {n: s for n, s in ((_number(k), _span(v)) for k, v in _pairs(turn.get(kind))) if n and s}
        for kind in ("c", "p")
    }
    speakers = [clean(s[:MAX_NAME]) for s in _items(turn.get("speakers")) if isinstance(s, str)]
    return {
        "question": text("question", MAX_QUESTION_CHARS),
        "understood": text("understood", MAX_QUESTION_CHARS),
        "cited": [list(s) for s in cited],
        "speakers": speakers[:20],
        "answer": text("answer", MAX_MESSAGE_CHARS),
        "refused": turn.get("refused") is True,
        **spans,
        **({"index": text("index", MAX_NAME)} if isinstance(turn.get("index"), str) else {}),
    }


def _items(value: Any) -> list[Any]:
    return value[:MAX_SPANS] if isinstance(value, list) else []


def _pairs(value: Any) -> list[tuple[Any, Any]]:
    return list(value.items())[:MAX_SPANS] if isinstance(value, dict) else []


def _number(key: Any) -> int | None:
    """A citation or passage number (JSON keeps it as a string): 1 to 999."""
    text = str(key)
    return int(text) if text.isascii() and text.isdigit() and 0 < len(text) <= 3 and int(text) > 0 else None


def _span(value: Any) -> tuple[str, int, int] | None:
    if not isinstance(value, list | tuple) or len(value) != 3:
        return None
    doc_id, start, end = value
    if not isinstance(doc_id, str) or len(doc_id) > MAX_NAME or _SURROGATE.search(doc_id):
        return None
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in (start, end)):
        return None
    return (doc_id, start, end) if 0 <= start <= end <= MAX_OFFSET else None


def _conversation(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        return None
    title = raw.get("title")
    return {
        "title": clean(title[:TITLE]) if isinstance(title, str) else "",
        "updated": _updated(raw.get("updated")),
        "chat": text_chat(raw.get("chat")),
        "turns": [_stored(t) for t in clean_turns(raw.get("turns"))],
    }


def _updated(value: Any) -> float:
    """When a saved conversation last changed: a time between 1970 and now (0 for one the
    browser kept malformed, so it sorts last and prints as a date). Compared before it is
    made a float: JSON allows integers of any length."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    if isinstance(value, float) and not math.isfinite(value):
        return 0.0
    now = time.time()
    return 0.0 if value < 0 else now if value > now else float(value)


def _mine(saved: Any, user: str) -> dict[str, Any]:
    """One user's conversations, rebuilt from what the browser sent: the newest ``KEEP``."""
    store = saved if isinstance(saved, dict) else {}
    mine = store.get(user)
    found = mine.get("conversations") if isinstance(mine, dict) else None
    # The newest KEEP by their own "updated", and only those rebuilt: a browser may send
    # thousands of them.
    found = found if isinstance(found, dict) else {}
    newest = sorted(
        (key for key in found if _key(key)),
        key=lambda key: -_updated(found[key].get("updated") if isinstance(found[key], dict) else None),
    )[:KEEP]
    conversations = {key: c for key in newest if (c := _conversation(found[key])) is not None}
    current = mine.get("current") if isinstance(mine, dict) else ""
    return {"current": current if _key(current) else "", "conversations": conversations}


def _key(value: Any) -> bool:
    """A conversation's id as the page makes them: short plain text."""
    return isinstance(value, str) and len(value) <= MAX_NAME and not _SURROGATE.search(value)


def current(saved: Any, user: str) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
    """The conversation to show on load: (id, chat messages, turns); empty when none."""
    mine = _mine(saved, user)
    return _opened(mine, mine["current"])


def opened(saved: Any, user: str, key: Any) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
    return _opened(_mine(saved, user), key)


def _opened(mine: dict[str, Any], key: Any) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
    conversation = mine["conversations"].get(key) if isinstance(key, str) else None
    if conversation is None:
        return "", [], []
    return key, conversation["chat"], clean_turns(conversation["turns"])


def remember(
    saved: Any, user: str, key: str, chat: list[dict[str, Any]], turns: list[dict[str, Any]]
) -> tuple[dict[str, Any], str]:
    """The store with this conversation saved as the current one (a new id when it has
    none), the oldest dropped past ``KEEP``; other users' entries are left as they were."""
    # Every entry rebuilt, not only this user's: all of it goes back to the browser as JSON.
    others = [u for u in (saved if isinstance(saved, dict) else {}) if _key(u) and u != user]
    users = [user, *others][:MAX_USERS]
    store = {u: _mine(saved, u) for u in users}
    turns = clean_turns(turns)
    if not turns:
        return store, key
    mine = store.get(user) or {"current": "", "conversations": {}}  # rebuilt just above
    key = key if key and _key(key) else uuid.uuid4().hex[:12]
    conversations = dict(mine["conversations"])
    title = turns[0]["question"][:TITLE]
    saved_turns = [_stored(t) for t in turns]
    conversations[key] = {
        "title": title,
        "updated": time.time(),
        "chat": text_chat(chat),
        "turns": saved_turns,
    }
    kept = sorted(conversations.items(), key=lambda kv: -kv[1]["updated"])[:KEEP]
    store[user] = {"current": key, "conversations": dict(kept)}
    return store, key


def made_current(saved: Any, user: str, key: str) -> dict[str, Any]:
    """The store with one of this user's saved conversations as the one a reload shows."""
    others = [u for u in (saved if isinstance(saved, dict) else {}) if _key(u) and u != user]
    store = {u: _mine(saved, u) for u in [user, *others][:MAX_USERS]}
    if key in store[user]["conversations"]:
        store[user] = {**store[user], "current": key}
    return store


def _stored(turn: dict[str, Any]) -> dict[str, Any]:
    """A turn as the browser keeps it, as JSON: citation and passage numbers as strings,
    spans as lists (the page's own copy has ints and tuples)."""
    return {**turn, **{kind: {str(n): list(span) for n, span in turn[kind].items()} for kind in ("c", "p")}}


def choices(saved: Any, user: str) -> list[tuple[str, str]]:
    """(label, id) for each saved conversation, newest first."""
    out = []
    for key, c in _mine(saved, user)["conversations"].items():
        when = time.strftime("%d %b %H:%M", time.localtime(c["updated"]))
        out.append((f"{c['title'] or 'Untitled'} · {when}", key))
    return out


SECRET = "conversation-secret"  # under $RAG_HOME/state/


def secret(home: Path) -> str:
    """The key the browser's copy of conversations is kept under: made once per home and
    kept private to its user, so conversations survive a restart of the server."""
    path = home / "state" / SECRET
    try:
        found = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        found = ""
    if len(found) >= 16 and found.isalnum():
        return found
    path.parent.mkdir(parents=True, exist_ok=True)
    made = secrets.token_hex(16)
    temp = path.with_name(f".{SECRET}.{os.getpid()}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(made)
    try:
        if path.exists():  # there but unusable (empty, edited): replaced
            os.replace(temp, path)
        else:
            os.link(temp, path)  # a second server starting at once keeps the first one's key
    except FileExistsError:
        return path.read_text(encoding="ascii").strip() or made
    finally:
        temp.unlink(missing_ok=True)
    return made
