"""The security headers (web/headers.py) on every response: each route of the URL map, signed in
as the admin and anonymously, static files, downloads and error pages; templates that need no
inline script or style; and Chromium showing the main pages with no Content Security Policy error."""

from __future__ import annotations

import re

from flask import Flask
from playwright.sync_api import ConsoleMessage
from test_browser import Site, browser, signed_in, site  # noqa: F401 - the browser tests' fixtures
from webworld import World, app_for_tests, login
from werkzeug.test import TestResponse

from qa.bundled import CHECKOUT as REPO_ROOT
from web.headers import HEADERS

TEMPLATES = REPO_ROOT / "web" / "templates"


def _without_nonce(policy: str) -> str:
    """The policy less a style-src nonce (the call page's, for wavesurfer.js's shadow <style>); the
    nonce is allowed nowhere else."""
    assert "nonce-" not in policy.replace("style-src 'self' 'nonce-", "", 1), policy
    return re.sub(r" 'nonce-[A-Za-z0-9_-]{20,}'", "", policy, count=1)


def _assert_secure(response: TestResponse, what: str) -> None:
    sent = {name: response.headers.get(name) for name in HEADERS}
    sent["Content-Security-Policy"] = _without_nonce(sent["Content-Security-Policy"] or "")
    assert sent == HEADERS, what
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers.get("Content-Type", "").count("charset") <= 1, (what, response.headers["Content-Type"])


def _urls(app: Flask, world: World) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) for every rule, its parts filled with the world's first call's id."""
    samples = {"int": str(world.calls["bad"]), "default": "2026-11", "string": "2026-11", "path": "app.css"}
    found = []
    for rule in app.url_map.iter_rules():
        url = rule.rule
        for name, converter in rule._converters.items():  # werkzeug has no public accessor
            kind = type(converter).__name__.removesuffix("Converter").lower()
            url = re.sub(rf"<(\w+:)?{name}>", samples.get(kind, "1"), url)
        found += [(rule.endpoint, method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return found


def test_every_route_sends_the_headers_signed_in_or_not(app: Flask, world: World) -> None:
    anonymous, admin = app.test_client(), app.test_client()
    login(admin, "admin1")
    statuses = set()
    for endpoint, method, url in _urls(app, world):
        _assert_secure(anonymous.open(url, method=method), f"anonymous {method} {url}")
        response = admin.open(url, method=method)
        _assert_secure(response, f"admin {method} {url}")
        statuses.add(response.status_code)
        if endpoint == "auth.logout":
            login(admin, "admin1")
    assert {200, 302, 404} <= statuses  # pages, redirects and error pages among them


def test_downloads_static_files_and_error_pages_send_them(world: World) -> None:
    app = app_for_tests(world.config, world.db)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # an unexpected error gets the product's error page

    @app.get("/raises")
    def raises() -> str:
        raise RuntimeError("an unexpected error")

    client = app.test_client()
    login(client, "manager1")
    for url, status in [("/static/call.js", 200), ("/tally/2026-11/export.xlsx", 200),
                        ("/tally/2026-11/export.csv?table=teams", 200), (f"/calls/{world.calls['bad']}/audio", 200),
                        ("/api/status", 200), ("/no/such/page", 404), ("/raises", 500)]:
        response = client.get(url)
        assert response.status_code == status, url
        _assert_secure(response, url)


def test_templates_have_no_inline_script_handler_or_style() -> None:
    """What script-src 'self' and style-src 'self' would block."""
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\b(src=|type=\"application/json\"))", text), template.name  # data is no script
        assert not re.search(r"\son[a-z]+\s*=|\sstyle\s*=|<style|javascript:", text), template.name


def test_the_main_pages_break_no_content_security_policy_in_chromium(site: Site) -> None:
    page = signed_in(site, "insp1")
    errors: list[str] = []

    def collect(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            errors.append(message.text)
    page.on("console", collect)
    for path in ["/queue", f"/calls/{site.world.calls['bad']}", "/upload/status", "/reports/weekly/2026-W45",
                 f"/agents/{site.world.agents['A1001']}"]:
        response = page.goto(f"{site.url}{path}")
        assert response is not None and response.status == 200, path
        assert _without_nonce(response.headers["content-security-policy"]) == HEADERS["Content-Security-Policy"]
        page.wait_for_load_state("networkidle")
    call_page = page.goto(f"{site.url}/calls/{site.world.calls['bad']}")
    assert call_page is not None and "'nonce-" in call_page.headers["content-security-policy"]
    page.locator("#waveform").wait_for()
    page.wait_for_function("() => [...document.getElementById('waveform').children].some((e) => e.shadowRoot)")
    assert errors == []
    page.context.close()
