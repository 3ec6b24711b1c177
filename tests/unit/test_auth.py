"""The app's login: refused logins wait (without holding the event loop), and a run of
wrong passwords locks the name, or the address they come from, a while."""

from __future__ import annotations

import asyncio

from ui.auth import CLIENT, FAILURES, LOCKED_S, TRACKED, WAIT_S, LoginGuard


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def _guard() -> tuple[LoginGuard, Clock]:
    clock = Clock()
    return LoginGuard("analyst", "s3cret", clock=clock, sleep=clock.sleep), clock


def _login(guard: LoginGuard, user: str, password: str, address: str | None = "203.0.113.7") -> bool:
    async def attempt() -> bool:
        CLIENT.set(address)
        return await guard.login(user, password)

    return asyncio.run(attempt())


def test_wrong_passwords_wait_then_lock_the_name_even_against_the_right_one():
    guard, clock = _guard()
    assert _login(guard, "analyst", "s3cret")
    for n in range(FAILURES):
        assert not _login(guard, "analyst", "guess", address=f"198.51.100.{n}")
    assert clock.slept == [WAIT_S] * FAILURES  # each wrong one answered only after a wait
    assert not _login(guard, "analyst", "s3cret")  # locked: the right password is refused too
    clock.now += LOCKED_S + 1
    assert _login(guard, "analyst", "s3cret")
    assert not _login(guard, "someone", "s3cret")


def test_an_address_trying_many_names_is_locked_and_no_one_else():
    guard, clock = _guard()
    for n in range(FAILURES):
        assert not _login(guard, f"name-{n}", "guess", address="203.0.113.7")
    assert not _login(guard, "analyst", "s3cret", address="203.0.113.7")
    assert _login(guard, "analyst", "s3cret", address="198.51.100.1")
    clock.now += LOCKED_S + 1
    assert _login(guard, "analyst", "s3cret", address="203.0.113.7")


def test_a_right_password_starts_the_count_again():
    guard, _ = _guard()
    for _ in range(3):
        for _ in range(FAILURES - 1):
            assert not _login(guard, "analyst", "guess")
        assert _login(guard, "analyst", "s3cret")


def test_a_flood_of_random_names_and_addresses_is_remembered_in_bounded_tables():
    guard, _ = _guard()

    async def flood() -> None:
        for n in range(3 * TRACKED):
            CLIENT.set(f"10.{n // 65536}.{n // 256 % 256}.{n % 256}")
            await guard.login(f"random-{n}" * 50, "guess")

    asyncio.run(flood())
    for table in (guard.names, guard.addresses):
        assert len(table.counts) <= TRACKED and len(table.locked_until) <= TRACKED
    assert all(len(key) == 32 for key in guard.names.counts)  # a digest, however long the name


def test_the_guard_is_a_coroutine_function_as_gradio_awaits_only_those():
    import inspect

    assert inspect.iscoroutinefunction(LoginGuard("analyst", "s3cret").login)
