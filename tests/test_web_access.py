"""Who may see what: every role's pages, agents kept to their own calls, CSRF, cookies, audio
paths, escaping."""

from __future__ import annotations

import contextlib
import re
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from liveserver import served
from webworld import PASSWORD, SCRIPT, World, login

from qa.config import Config, WebConfig
from qa.db.models import Call
from web.app import create_app
from web.charts import Point, trend_chart

STAFF_PAGES = ["/queue", "/upload", "/upload/status", "/api/status", "/appeals", "/agents"]


def _urls(w: World, call: str) -> list[str]:
    call_id = w.calls[call]
    return [f"/calls/{call_id}", f"/calls/{call_id}/audio", f"/api/calls/{call_id}", f"/api/calls/{call_id}/peaks"]


@pytest.mark.parametrize("role", ["insp1", "manager1", "admin1"])
def test_staff_see_every_page_and_every_call(client: FlaskClient, world: World, role: str) -> None:
    login(client, role)
    pages = STAFF_PAGES + [f"/agents/{world.agents['A1001']}", f"/agents/{world.agents['A2002']}"]
    for url in pages + _urls(world, "bad") + _urls(world, "other"):
        assert client.get(url).status_code == 200, url
    assert client.get("/").headers["Location"] == "/queue"


def test_agent_sees_own_calls_and_scorecard_only(client: FlaskClient, world: World) -> None:
    login(client, "agent1")
    assert client.get("/").headers["Location"] == "/scorecard"
    assert client.get("/scorecard").headers["Location"] == f"/agents/{world.agents['A1001']}"
    for url in [f"/agents/{world.agents['A1001']}", "/appeals"] + _urls(world, "bad"):
        assert client.get(url).status_code == 200, url
    for url in _urls(world, "other") + [f"/agents/{world.agents['A2002']}"]:
        assert client.get(url).status_code == 403, url
    for url in ["/queue", "/upload", "/upload/status", "/api/status", "/agents"]:
        assert client.get(url).status_code == 403, url


def test_agent_cannot_review_or_upload(client: FlaskClient, world: World) -> None:
    login(client, "agent1")
    call = world.calls["bad"]
    with world.db.session() as s:
        verdict_id = s.get_one(Call, call).verdicts[0].id
    assert client.post(f"/calls/{call}/items/{verdict_id}", data={"verdict": "pass", "version": 0}).status_code == 403
    assert client.post(f"/calls/{call}/confirm", data={"version": 0}).status_code == 403
    assert client.post("/upload", data={}).status_code == 403
    assert client.post(f"/upload/calls/{call}/retry").status_code == 403


def test_admin_may_not_review(client: FlaskClient, world: World) -> None:
    login(client, "admin1")
    assert client.post(f"/calls/{world.calls['bad']}/confirm", data={"version": 0}).status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(client: FlaskClient, world: World) -> None:
    response = client.get(f"/calls/{world.calls['bad']}/audio")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
    assert client.get("/api/status").status_code == 401
    assert client.get("/queue").status_code == 302


def test_sign_in_checks_the_password_and_never_redirects_off_site(client: FlaskClient) -> None:
    assert client.post("/login", data={"username": "insp1", "password": "wrong"}).status_code == 401
    for target in ("//evil.example/x", "/\\evil.example", "https://evil.example/"):
        response = client.post("/login", query_string={"next": target},
                               data={"username": "insp1", "password": PASSWORD})
        assert response.headers["Location"] == "/queue", target
        client.post("/logout")
    response = client.post("/login?next=/agents", data={"username": "insp1", "password": PASSWORD})
    assert response.headers["Location"] == "/agents"


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_posts_without_csrf_token_are_refused(app: Flask, world: World) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    assert client.post("/login", data={"username": "insp1", "password": PASSWORD}).status_code == 400
    token = _token(client.get("/login").get_data(as_text=True))
    assert client.post("/login", data={"username": "insp1", "password": PASSWORD, "csrf_token": token}).status_code == 302
    call = world.calls["bad"]
    with world.db.session() as s:
        verdict = s.get_one(Call, call).verdicts[0]
    url = f"/calls/{call}/items/{verdict.id}"
    form = {"verdict": verdict.auto_verdict, "version": 0}
    refused = client.post(url, data=form, headers={"Accept": "application/json"})
    assert refused.status_code == 400 and refused.json["ok"] is False
    with world.db.session() as s:
        assert s.get_one(Call, call).review is None
    token = _token(client.get(f"/calls/{call}").get_data(as_text=True))
    accepted = client.post(url, data=form, headers={"Accept": "application/json", "X-CSRFToken": token})
    assert accepted.status_code == 200 and accepted.json["version"] == 1


def test_session_cookie_flags(world: World) -> None:
    config = world.config.model_copy(update={"web": WebConfig(secret_key="k", secure_cookies=True)})
    app = create_app(config, world.db)
    app.config["WTF_CSRF_ENABLED"] = False
    response = app.test_client().post("/login", data={"username": "insp1", "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_secret_key_is_kept_in_the_data_dir(tmp_path: Path, world: World) -> None:
    config = Config(data_dir=tmp_path / "fresh")
    first = create_app(config, world.db).config["SECRET_KEY"]
    assert len(first) >= 32 and (tmp_path / "fresh" / "secret_key").stat().st_mode & 0o077 == 0
    assert create_app(config, world.db).config["SECRET_KEY"] == first


def test_audio_supports_range_requests(client: FlaskClient, world: World) -> None:
    login(client, "agent1")
    response = client.get(f"/calls/{world.calls['bad']}/audio", headers={"Range": "bytes=0-99"})
    assert response.status_code == 206
    assert len(response.data) == 100 and response.headers["Content-Range"].startswith("bytes 0-99/")
    assert response.data[:4] == b"RIFF"


@pytest.mark.parametrize("stored_path", ["../secret.txt", "audio/../../secret.txt", "/etc/passwd", "link.wav"])
def test_audio_outside_the_data_dir_is_refused(client: FlaskClient, world: World, stored_path: str) -> None:
    outside = world.config.data_dir.parent / "secret.txt"
    outside.write_text("not for you", encoding="utf-8")
    (world.config.data_dir / "link.wav").symlink_to(outside)
    with world.db.session() as s:
        s.get_one(Call, world.calls["bad"]).audio_path = stored_path
    login(client, "insp1")
    response = client.get(f"/calls/{world.calls['bad']}/audio")
    assert response.status_code == 403
    assert b"not for you" not in response.data and b"root:" not in response.data


def test_transcript_text_is_escaped(client: FlaskClient, world: World) -> None:
    login(client, "insp1")
    html = client.get(f"/calls/{world.calls['xss']}").get_data(as_text=True)
    assert SCRIPT not in html
    assert "你好&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert client.get(f"/api/calls/{world.calls['xss']}").json["turns"][1]["text"] == f"你好{SCRIPT}"


def test_chart_labels_are_escaped(app: Flask) -> None:
    """In the figures table and in the JSON block, which a label must not close."""
    chart = trend_chart([Point("<b>9月</b>", 80, "80", "</script><script>alert(1)</script>")], [("<i>优秀</i>", 90)],
                        "<caption>", "<name>")
    with app.test_request_context():
        html = chart.__html__()
    assert "<b>" not in html and "<script>alert" not in html and "<i>" not in html and "<name>" not in html
    assert "&lt;b&gt;9月" in html and html.count("</script>") == 1


def test_qa_serve_migrates_serves_and_stops_on_sigterm_however_busy(tmp_path: Path) -> None:
    """SIGTERM arrives while requests are being answered (waitress swallows most exceptions
    raised in its loop: the stop must still get through); `served` requires a clean exit."""
    settings = tmp_path / "qa.yaml"
    settings.write_text(f"data_dir: {tmp_path / 'data'}\n", encoding="utf-8")
    busy = threading.Event()
    with served(settings, "--no-worker") as server:
        with urllib.request.urlopen(server.base + "/login") as response:
            assert response.status == 200 and "登录" in response.read().decode()

        def hammer() -> None:
            while not busy.is_set():
                with contextlib.suppress(OSError):
                    urllib.request.urlopen(server.base + "/login", timeout=5).close()
        threads = [threading.Thread(target=hammer, daemon=True) for _ in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(1)
    busy.set()
    assert (tmp_path / "data" / "qa.db").is_file() and (tmp_path / "data" / "secret_key").is_file()


PUBLIC_ENDPOINTS = {"static", "auth.login", "auth.set_locale"}


def test_every_route_but_sign_in_needs_a_signed_in_user(app: Flask) -> None:
    """Walks the whole URL map, so a new page cannot be added without a login check."""
    client = app.test_client()
    samples = {"int": "1", "default": "2026-11", "string": "2026-11", "path": "x"}
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        url = rule.rule
        for name, converter in rule._converters.items():  # werkzeug has no public accessor
            kind = type(converter).__name__.removesuffix("Converter").lower()
            url = re.sub(rf"<(\w+:)?{name}>", samples.get(kind, "1"), url)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            assert response.status_code in (302, 401), (method, url, response.status_code)
            if response.status_code == 302:
                assert response.headers["Location"].startswith("/login"), (method, url)
            checked += 1
    assert checked >= 25


@pytest.mark.parametrize("role", ["agent1", "insp1"])
def test_only_managers_reach_the_tally(client: FlaskClient, world: World, role: str) -> None:
    login(client, role)
    for url in ["/tally", "/tally/2026-11", "/tally/2026-11/v1", f"/tally/2026-11/agents/{world.agents['A1001']}",
                "/tally/2026-11/export.xlsx"]:
        assert client.get(url).status_code == 403, url
    for url in ["/tally/2026-11/publish", "/tally/2026-11/entries"]:
        assert client.post(url, data={}).status_code == 403, url
