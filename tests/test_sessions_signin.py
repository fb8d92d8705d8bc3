"""Sessions that end (sign-out, password change, deactivation, a working day) and the back-off on
password guessing, over HTTP on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from conftest import run_qa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from webworld import PASSWORD, World, app_for_tests, login

from qa.config import SignInConfig
from qa.db.models import SignInAttempt, utcnow
from web.security import SIGNED_IN_AT
from web.signin import _dummy_hash, _wait_after

JSON = {"Accept": "application/json"}


def _captured(app: Flask, client: FlaskClient) -> FlaskClient:
    """A second client holding a copy of `client`'s session cookie, as an attacker would."""
    thief = app.test_client()
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief.set_cookie("session", cookie.value)
    return thief


def _signed_in(client: FlaskClient) -> bool:
    return client.get("/queue", headers=JSON).status_code == 200


def test_sign_out_ends_a_copied_session_cookie(app: Flask, world: World) -> None:
    client = app.test_client()
    login(client, "insp1")
    thief = _captured(app, client)
    assert _signed_in(thief)
    assert client.post("/logout").status_code == 302
    assert not _signed_in(client)
    assert thief.get("/queue", headers=JSON).status_code == 401
    assert thief.get("/queue").headers["Location"].startswith("/login")
    login(client, "insp1")  # signing in again works, with a new session
    assert _signed_in(client) and not _signed_in(thief)


def test_password_change_and_deactivation_end_sessions(app: Flask, world: World) -> None:
    inspector, manager = app.test_client(), app.test_client()
    login(inspector, "insp1")
    login(manager, "manager1")
    thief = _captured(app, inspector)
    result = run_qa(world.config, "users", "passwd", "insp1", "--password-stdin", stdin="a new pass phrase 9\n")
    assert result.exit_code == 0, result.output
    assert "sessions have ended" in result.output
    assert not _signed_in(inspector) and not _signed_in(thief)
    assert _signed_in(manager)  # other users are untouched
    result = run_qa(world.config, "users", "deactivate", "manager1")
    assert result.exit_code == 0, result.output
    assert not _signed_in(manager)
    assert manager.post("/login", data={"username": "manager1", "password": PASSWORD}).status_code == 401
    assert run_qa(world.config, "users", "activate", "manager1").exit_code == 0
    login(manager, "manager1")
    assert run_qa(world.config, "users", "deactivate", "nobody").exit_code != 0


def test_a_session_lasts_a_working_day(app: Flask, world: World) -> None:
    assert app.permanent_session_lifetime == timedelta(hours=10)  # web.session_hours, the product default
    client = app.test_client()
    login(client, "insp1")
    assert _signed_in(client)
    with client.session_transaction() as session:  # as if signed in 10 h 1 min ago
        session[SIGNED_IN_AT] = (utcnow() - timedelta(hours=10, minutes=1)).timestamp()
    assert not _signed_in(client)
    short = app_for_tests(world.config.model_copy(update={"web": world.config.web.model_copy(
        update={"session_hours": 0.5})}), world.db)
    assert short.permanent_session_lifetime == timedelta(minutes=30)
    client = short.test_client()
    login(client, "insp1")
    with client.session_transaction() as session:
        session[SIGNED_IN_AT] = (utcnow() - timedelta(minutes=31)).timestamp()
    assert not _signed_in(client)


def _attempt(client: FlaskClient, username: str, password: str) -> int:
    return client.post("/login", data={"username": username, "password": password}).status_code


def test_password_guessing_backs_off_then_the_attempts_are_logged(
        client: FlaskClient, world: World, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="web.signin")
    assert [_attempt(client, "insp1", f"guess{i}") for i in range(5)] == [401] * 5
    refused = client.post("/login", data={"username": "insp1", "password": PASSWORD})
    assert refused.status_code == 429  # even the right password waits while backing off
    assert 1 <= int(refused.headers["Retry-After"]) <= 2
    assert "秒" in refused.get_data(as_text=True)
    assert _attempt(client, "insp2", PASSWORD) == 302  # another user name is not held up
    with world.db.session() as s:
        rows = s.execute(select(SignInAttempt.username, SignInAttempt.outcome, SignInAttempt.address)
                         .order_by(SignInAttempt.id)).all()
    assert [(name, outcome) for name, outcome, _ in rows] == [("insp1", "wrong")] * 5 + [
        ("insp1", "throttled"), ("insp2", "ok")]
    assert {address for *_, address in rows} == {"127.0.0.1"}
    assert sum("failed" in r.getMessage() for r in caplog.records) == 5
    assert any("backing off" in r.getMessage() for r in caplog.records)


def test_a_success_resets_the_count_and_unknown_names_count_too(client: FlaskClient, world: World) -> None:
    for _ in range(2):
        assert [_attempt(client, "insp1", "wrong") for _ in range(4)] == [401] * 4
        assert _attempt(client, "insp1", PASSWORD) == 302
        client.post("/logout")
    assert [_attempt(client, "ghost", "x") for _ in range(5)] == [401] * 5
    assert _attempt(client, "ghost", "x") == 429


def test_one_address_guessing_many_names_backs_off(client: FlaskClient, world: World) -> None:
    assert [_attempt(client, f"user{i}", "x") for i in range(20)] == [401] * 20
    assert _attempt(client, "insp1", PASSWORD) == 429


def test_guesses_sent_at_once_still_count_each_other(app: Flask, world: World) -> None:
    codes: list[int] = []
    start = threading.Barrier(10)

    def guess(i: int) -> None:
        client = app.test_client()
        start.wait()
        codes.append(_attempt(client, "insp1", f"guess{i}"))

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Each attempt is committed before it counts the others; on PostgreSQL an attempt committed in
    # the same instant may not be seen yet, so one more than the free five may get through there.
    assert set(codes) == {401, 429} and 5 <= codes.count(401) <= 6, codes


def test_back_off_doubles_up_to_the_limit_and_unknown_names_hash_like_real_ones() -> None:
    rules = SignInConfig()
    assert [_wait_after(n, 5, rules) for n in (0, 4, 5, 6, 7, 20)] == [0, 0, 2, 4, 8, 900]
    assert _dummy_hash().startswith("scrypt:")  # werkzeug's default method, as real hashes are made
