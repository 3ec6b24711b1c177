"""Conversations kept in the reader's browser (Gradio's BrowserState, in localStorage), so a
reload finds the conversation, earlier ones can be reopened, and each person's stay theirs:
nothing of them is kept on the server. One plain JSON-able dict:

    {user: {"current": id, "conversations": {id: {"title", "updated", "chat", "turns"}}}}
"""

from __future__ import annotations

import time
import uuid
from typing import Any

KEEP = 30  # conversations kept per user; the oldest go first
TITLE = 60  # characters of the first question that name a conversation


def _mine(saved: Any, user: str) -> dict[str, Any]:
    store = saved if isinstance(saved, dict) else {}
    mine = store.get(user)
    if not isinstance(mine, dict) or not isinstance(mine.get("conversations"), dict):
        return {"current": "", "conversations": {}}
    return mine


def current(saved: Any, user: str) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
    """The conversation to show on load: (id, chat messages, turns); empty when none."""
    mine = _mine(saved, user)
    conversation = mine["conversations"].get(mine.get("current", ""))
    if not isinstance(conversation, dict):
        return "", [], []
    return mine["current"], list(conversation.get("chat", [])), turns_from(conversation.get("turns", []))


def opened(saved: Any, user: str, key: str) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
    mine = _mine(saved, user)
    conversation = mine["conversations"].get(key)
    if not isinstance(conversation, dict):
        return "", [], []
    return key, list(conversation.get("chat", [])), turns_from(conversation.get("turns", []))


def remember(
    saved: Any, user: str, key: str, chat: list[dict[str, Any]], turns: list[dict[str, Any]]
) -> tuple[dict[str, Any], str]:
    """The store with this conversation saved as the current one (a new id when it has
    none), the oldest dropped past ``KEEP``."""
    store = dict(saved) if isinstance(saved, dict) else {}
    mine = _mine(store, user)
    if not turns:
        return store, key
    key = key or uuid.uuid4().hex[:12]
    conversations = dict(mine["conversations"])
    title = str(turns[0].get("question", ""))[:TITLE]
    conversations[key] = {"title": title, "updated": time.time(), "chat": chat, "turns": _as_json(turns)}
    kept = sorted(conversations.items(), key=lambda kv: -_updated(kv[1]))[:KEEP]
    store[user] = {"current": key, "conversations": dict(kept)}
    return store, key


def choices(saved: Any, user: str) -> list[tuple[str, str]]:
    """(label, id) for each saved conversation, newest first."""
    mine = _mine(saved, user)
    ordered = sorted(mine["conversations"].items(), key=lambda kv: -_updated(kv[1]))
    out = []
    for key, c in ordered:
        if isinstance(c, dict):
            when = time.strftime("%d %b %H:%M", time.localtime(_updated(c)))
            out.append((f"{str(c.get('title') or 'Untitled')[:80]} · {when}", str(key)))
    return out


def _updated(conversation: Any) -> float:
    """When a saved conversation last changed; 0 for one the browser kept malformed."""
    try:
        return float(conversation.get("updated", 0))
    except (AttributeError, TypeError, ValueError):
        return 0.0


def _as_json(turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Turns as JSON keeps them: citation and passage numbers as strings."""
    return [
        {**t, **{kind: {str(n): list(span) for n, span in t.get(kind, {}).items()} for kind in ("c", "p")}}
        for t in turns
    ]


def turns_from(raw: Any) -> list[dict[str, Any]]:
    """Turns as the page keeps them, from their JSON form in the browser: citation and
    passage numbers back to ints, spans back to tuples; anything malformed dropped."""
    out = []
    for turn in raw if isinstance(raw, list) else []:
        try:
            fixed = dict(turn)
            for kind in ("c", "p"):
                fixed[kind] = {int(n): tuple(span) for n, span in dict(turn.get(kind, {})).items()}
            out.append(fixed)
        except (TypeError, ValueError, AttributeError):
            continue
    return out
