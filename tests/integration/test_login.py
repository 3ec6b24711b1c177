"""`rag serve --auth`: wrong passwords wait without holding up anyone else, and a run of
them locks the name, or the client address they come from, for a while. Against the real
server on 127.0.0.1; the figures are printed on every run."""

from __future__ import annotations

import statistics
import threading
import time
import uuid

import httpx
import pytest

from tests.conftest import WANG_YI
from tests.integration.test_reliability import _free_port, _text
from ui.auth import FAILURES

USER, PASSWORD = "analyst", "s3cret"
GUESSERS = 8
ATTACK_LIMIT_S = 120  # the guessers stop by then whatever happens


@pytest.fixture
def server(pipeline):
    from ui.app import launch

    port = _free_port()
    demo = launch(pipeline, host="127.0.0.1", port=port, auth=(USER, PASSWORD), block=False)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        demo.close()


def _login(url: str, user: str, password: str, address: str | None = None) -> int:
    """The status of one login; ``address``: the client it comes from, as a proxy in
    front of the server (trusted from 127.0.0.1 only) reports it."""
    headers = {"X-Forwarded-For": address} if address else {}
    reply = httpx.post(
        f"{url}/login", data={"username": user, "password": password}, headers=headers, timeout=60
    )
    return reply.status_code


def _timed(call, errors: list[str]) -> float:
    """Seconds the call took, failed or not (its failure noted)."""
    started = time.perf_counter()
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - a timeout is a figure too; reported below
        errors.append(f"{type(exc).__name__}: {exc}")
    return time.perf_counter() - started


def test_wrong_passwords_from_eight_clients_do_not_hold_up_a_logged_in_user(server, capsys):
    """Eight clients send wrong passwords as fast as they are answered while a logged-in
    user reloads the page's settings and asks questions: the user waits no longer than
    without them (each wrong password waiting 0.5 s on the server's event loop made a
    question take 18-23 s)."""
    from gradio_client import Client

    user = httpx.Client(base_url=server, timeout=120)
    assert user.post("/login", data={"username": USER, "password": PASSWORD}).status_code == 200
    asker = Client(server, auth=(USER, PASSWORD), verbose=False)

    def config() -> None:
        assert user.get("/config").status_code == 200

    def question() -> None:
        chat, *_ = asker.predict(WANG_YI, [], 5, [], [], None, None, "extractive", api_name="/ask")
        assert "Alya Ahmed Saif Al-Thani" in _text(chat[-1])

    question()  # warm: the answer's scorer loads with the first question
    errors: list[str] = []
    alone = [_timed(config, errors) for _ in range(5)], [_timed(question, errors) for _ in range(3)]

    stop = threading.Event()
    refused: list[int] = []

    def guess() -> None:
        with httpx.Client(base_url=server, timeout=60) as client:
            deadline = time.monotonic() + ATTACK_LIMIT_S
            while not stop.is_set() and time.monotonic() < deadline:
                name = f"guess-{uuid.uuid4().hex[:8]}"
                status = client.post("/login", data={"username": name, "password": "wrong"}).status_code
                refused.append(status)

    guessers = [threading.Thread(target=guess, daemon=True) for _ in range(GUESSERS)]
    for thread in guessers:
        thread.start()
    try:
        time.sleep(2)  # the guessing is in full swing
        during = [_timed(config, errors) for _ in range(5)], [_timed(question, errors) for _ in range(3)]
    finally:
        stop.set()
        for thread in guessers:
            thread.join(timeout=90)
    with capsys.disabled():
        print(
            f"\n[login] alone: settings {_figures(alone[0])}, question {_figures(alone[1])}; "
            f"with {GUESSERS} clients guessing ({len(refused)} wrong logins answered): "
            f"settings {_figures(during[0])}, question {_figures(during[1])}"
        )
    assert errors == [] and refused and set(refused) == {400}
    assert max(during[0]) < 2.0 and max(during[1]) < 2.0 + max(alone[1])


def _figures(seconds: list[float]) -> str:
    return f"median {statistics.median(seconds):.2f} s / max {max(seconds):.2f} s"


def test_a_name_guessed_at_is_locked_even_against_the_right_password(server):
    assert _login(server, USER, PASSWORD) == 200
    for n in range(FAILURES):
        assert _login(server, USER, "wrong", address=f"203.0.113.{n + 1}") == 400
    assert _login(server, USER, PASSWORD, address="198.51.100.9") == 400  # from anywhere


def test_an_address_guessing_many_names_is_locked_while_others_log_in(server):
    guesser, colleague = "203.0.113.7", "198.51.100.9"
    for _ in range(FAILURES):
        assert _login(server, f"guess-{uuid.uuid4().hex[:8]}", "wrong", address=guesser) == 400
    assert _login(server, USER, PASSWORD, address=guesser) == 400  # that address is locked
    assert _login(server, USER, PASSWORD, address=colleague) == 200  # the name is not
