"""The app's login, slowed against guessing: each wrong password waits a moment, and after
a few wrong ones in a row a name is locked for a while, whatever password comes next."""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable

FAILURES = 5  # wrong passwords in a row before a name is locked
LOCKED_S = 30.0
WAIT_S = 0.5  # each wrong password waits this long before it is answered


class LoginGuard:
    """A Gradio ``auth`` callable for one user name and password."""

    def __init__(
        self,
        user: str,
        password: str,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.user, self.password = user, password
        self.clock, self.sleep = clock, sleep
        self._failures: dict[str, int] = {}
        self._locked_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def __call__(self, user: str, password: str) -> bool:
        with self._lock:
            if self._locked_until.get(user, 0.0) > self.clock():
                return False
        right = hmac.compare_digest(user.encode(), self.user.encode()) & hmac.compare_digest(
            password.encode(), self.password.encode()
        )
        with self._lock:
            if right:
                self._failures.pop(user, None)
                return True
            self._failures[user] = self._failures.get(user, 0) + 1
            if self._failures[user] >= FAILURES:
                self._locked_until[user] = self.clock() + LOCKED_S
                self._failures[user] = 0
        self.sleep(WAIT_S)
        return False
