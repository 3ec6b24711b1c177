"""The app's login: wrong passwords are slowed, and a run of them locks the name a while."""

from __future__ import annotations

from ui.auth import FAILURES, LOCKED_S, WAIT_S, LoginGuard


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def test_wrong_passwords_wait_then_lock_the_name_even_against_the_right_one():
    clock = Clock()
    guard = LoginGuard("analyst", "s3cret", clock=clock, sleep=clock.sleep)
    assert guard("analyst", "s3cret")
    for _ in range(FAILURES):
        assert not guard("analyst", "guess")
    assert clock.slept == [WAIT_S] * FAILURES  # each wrong one answered only after a wait
    assert not guard("analyst", "s3cret")  # locked: the right password is refused too
    clock.now += LOCKED_S + 1
    assert guard("analyst", "s3cret")
    assert not guard("someone", "s3cret")
