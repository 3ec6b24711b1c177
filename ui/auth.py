"""The app's login, slowed against guessing: each refused login waits a moment, and a run
of wrong passwords locks the name, or the client address they come from, for a while,
whatever password comes next.

Gradio awaits a coroutine-function ``auth`` on the server's event loop, so the wait is an
``asyncio.sleep``: a guesser waits, everyone else goes on (a ``time.sleep`` there held up
every request of every user). Gradio passes only the name and password; the address
comes from ``ClientAddress``, a middleware that notes each request's client (as uvicorn
reports it: behind a proxy on this machine, the address the proxy forwards)."""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import hmac
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

FAILURES = 5  # wrong passwords in a row before a name or an address is locked
LOCKED_S = 30.0
WAIT_S = 0.5  # each refused login is answered only after this long
TRACKED = 10_000  # names, and addresses, remembered at most (the oldest forgotten first)

CLIENT: contextvars.ContextVar[str | None] = contextvars.ContextVar("login_client", default=None)


class ClientAddress:
    """ASGI middleware: the client address of the request being handled, for the guard."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        client = scope.get("client") if scope["type"] == "http" else None
        token = CLIENT.set(client[0] if client else None)
        try:
            await self.app(scope, receive, send)
        finally:
            CLIENT.reset(token)


class Failures:
    """Wrong passwords in a row and lockouts, by key, for at most ``TRACKED`` keys each:
    a flood of random names forgets the oldest counts, never grows without bound."""

    def __init__(self, clock: Callable[[], float]):
        self.clock = clock
        self.counts: OrderedDict[str, int] = OrderedDict()
        self.locked_until: OrderedDict[str, float] = OrderedDict()

    def locked(self, key: str | None) -> bool:
        if key is None:
            return False
        until = self.locked_until.get(key)
        if until is not None and until <= self.clock():
            del self.locked_until[key]
            return False
        return until is not None

    def failed(self, key: str | None) -> None:
        if key is None:
            return
        count = self.counts.pop(key, 0) + 1
        if count < FAILURES:
            self.counts[key] = count
            _bound(self.counts)
            return
        self.locked_until.pop(key, None)
        self.locked_until[key] = self.clock() + LOCKED_S
        _bound(self.locked_until)

    def succeeded(self, key: str | None) -> None:
        if key is not None:
            self.counts.pop(key, None)


def _key(name: str) -> str:
    """A name as remembered: a short digest, however long the name sent."""
    return hashlib.blake2b(_bytes(name), digest_size=16).hexdigest()


def _bytes(text: str) -> bytes:
    """Text as compared: any string a form may carry, a lone surrogate included."""
    return text.encode("utf-8", "surrogatepass")


def _bound(table: OrderedDict[str, Any]) -> None:
    while len(table) > TRACKED:
        table.popitem(last=False)


class LoginGuard:
    """The login for one user name and password: ``login`` is Gradio's ``auth``."""

    def __init__(
        self,
        user: str,
        password: str,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        self.user, self.password = user, password
        self.clock, self.sleep = clock, sleep
        self.names = Failures(clock)
        self.addresses = Failures(clock)

    async def login(self, user: str, password: str) -> bool:
        # One event loop runs every login: nothing between the checks and the updates
        # awaits, so no lock is needed.
        address, name = CLIENT.get(), _key(user)
        if self.names.locked(name) or self.addresses.locked(address):
            await self.sleep(WAIT_S)
            return False
        right = hmac.compare_digest(_bytes(user), _bytes(self.user)) & hmac.compare_digest(
            _bytes(password), _bytes(self.password)
        )
        if right:
            self.names.succeeded(name)
            self.addresses.succeeded(address)
            return True
        self.names.failed(name)
        self.addresses.failed(address)
        await self.sleep(WAIT_S)
        return False


def client_address() -> Any:
    """The middleware as the app is started with it (harmless without a login)."""
    from starlette.middleware import Middleware

    return Middleware(ClientAddress)
