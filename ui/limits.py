"""Gradio's own upload endpoint (``/gradio_api/upload``) takes up to 1,000 files a request,
from any client, before the app sees them. This ASGI middleware holds each request to what
one upload may be (``RAG_UPLOAD_MAX_FILES`` files of ``RAG_UPLOAD_MAX_MB``), answering 413
with one sentence otherwise; the files it lets through are deleted from Gradio's cache an
hour after they came (``CACHE_S``, set on the Blocks)."""

from __future__ import annotations

from typing import Any

CACHE_S = 3600  # Gradio's cache of uploaded files: cleaned this often, of files this old
_FILE_PART = b'filename="'


class _TooMany(Exception):
    pass


class UploadLimit:
    """Refuses an upload request with more files or bytes than one upload may hold."""

    def __init__(self, app: Any, max_files: int, max_mb: int):
        self.app = app
        self.max_files = max_files
        self.max_bytes = max_files * max_mb * 1_000_000 + 64_000  # the form's own lines
        self.max_mb = max_mb

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].endswith("/upload"):
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is None or not length.isdigit() or int(length) > self.max_bytes:
            await self._refuse(send, length is None)
            return
        seen = {"files": 0, "tail": b""}

        async def counting() -> dict[str, Any]:
            message = await receive()
            body = seen["tail"] + message.get("body", b"")
            seen["files"] += body.count(_FILE_PART)
            seen["tail"] = body[-(len(_FILE_PART) - 1) :]  # a marker cut between two chunks
            if seen["files"] > self.max_files:
                raise _TooMany
            return message

        try:
            await self.app(scope, counting, send)
        except _TooMany:
            await self._refuse(send, False)

    async def _refuse(self, send: Any, unsized: bool) -> None:
        text = (
            "An upload must say its size (Content-Length)."
            if unsized
            else f"An upload takes at most {self.max_files} files of {self.max_mb} MB each; "
            "add them in parts."
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 411 if unsized else 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8")],
            }
        )
        await send({"type": "http.response.body", "body": text})


def upload_limit(settings: Any) -> Any:
    """The middleware as the app is started with it."""
    from starlette.middleware import Middleware

    return Middleware(UploadLimit, max_files=settings.upload_max_files, max_mb=settings.upload_max_mb)
