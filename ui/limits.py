"""Gradio's own upload endpoint (``/gradio_api/upload``) takes up to 1,000 files a request,
from any client, before the app sees them. This ASGI middleware holds each request to what
one upload may be (``RAG_UPLOAD_MAX_FILES`` files of ``RAG_UPLOAD_MAX_MB``), answering 413
with one sentence otherwise; the files it lets through are deleted from Gradio's cache an
hour after they came (``CACHE_S``, set on the Blocks)."""

from __future__ import annotations

from typing import Any

CACHE_S = 3600  # Gradio's cache of uploaded files: cleaned this often, of files this old


class _Refused(Exception):
    def __init__(self, status: int, text: str):
        self.status, self.text = status, text


class UploadLimit:
    """Refuses an upload request with more parts or bytes than one upload may hold."""

    def __init__(self, app: Any, max_files: int, max_mb: int):
        self.app = app
        self.max_files = max_files
        self.max_bytes = max_files * max_mb * 1_000_000 + 64_000  # the form's own lines
        self.max_mb = max_mb

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].endswith("/upload"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        boundary = _boundary(headers.get(b"content-type", b""))
        try:
            if length is None:
                raise _Refused(411, "An upload must say its size (Content-Length).")
            if not length.isdigit() or int(length) > self.max_bytes or not boundary:
                raise _Refused(413, self._too_much())
            await self.app(scope, self._counting(receive, b"--" + boundary), send)
        except _Refused as refused:
            await _answer(send, refused.status, refused.text)

    def _too_much(self) -> str:
        return f"An upload takes at most {self.max_files} files of {self.max_mb} MB each; add them in parts."

    def _counting(self, receive: Any, delimiter: bytes) -> Any:
        """``receive``, counting the form's parts by its own boundary as the body comes (a
        part however its headers are written), and refusing a name Gradio cannot read."""
        seen = {"parts": 0, "tail": b""}
        keep = max(len(delimiter), len(_EXTENDED_NAME)) - 1

        async def counted() -> dict[str, Any]:
            message = await receive()
            tail, body = seen["tail"], message.get("body", b"")
            joined = tail + body
            seen["parts"] += joined.count(delimiter) - tail.count(delimiter)
            if _EXTENDED_NAME in joined.lower():
                raise _Refused(400, "An upload's file names must be plain (filename=, not filename*=).")
            seen["tail"] = joined[-keep:]
            if seen["parts"] > self.max_files + 1:  # the closing delimiter is one more
                raise _Refused(413, self._too_much())
            return message

        return counted


_EXTENDED_NAME = b"filename*"


def _boundary(content_type: bytes) -> bytes:
    """The multipart form's boundary, as its Content-Type names it (quoted or not)."""
    for param in content_type.split(b";")[1:]:
        name, _, value = param.strip().partition(b"=")
        if name.strip().lower() == b"boundary":
            return value.strip().strip(b'"')
    return b""


async def _answer(send: Any, status: int, text: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8")],
        }
    )
    await send({"type": "http.response.body", "body": text.encode()})


def upload_limit(settings: Any) -> Any:
    """The middleware as the app is started with it."""
    from starlette.middleware import Middleware

    return Middleware(UploadLimit, max_files=settings.upload_max_files, max_mb=settings.upload_max_mb)
