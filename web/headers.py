"""Security headers on every response (pages, JSON, static files, downloads, error pages): the
browser runs only the app's own scripts, never shows it inside another site's frame, never guesses
a download's type, and sends no page address to other sites.

The templates have no inline script, event handler or style attribute (tests/test_security_headers.py
checks), so scripts and styles are 'self' only. default-src 'self' covers the rest: the call page's
recording and its fetches come from the app itself; charts are drawn by ECharts on a canvas."""

from __future__ import annotations

import secrets

from flask import Flask, g
from werkzeug.wrappers import Response

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def csp_nonce() -> str:
    """A nonce for this response's style-src, for a library that must add a <style> element of its
    own: wavesurfer.js (the call page's waveform) puts one in its shadow DOM and sets this nonce on it
    (its cspNonce option). Only a page that asks gets one; every other response keeps style-src 'self'."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return str(g.csp_nonce)


def _secure(response: Response) -> Response:
    response.headers.update(HEADERS)
    if "csp_nonce" in g:
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
            "style-src 'self'", f"style-src 'self' 'nonce-{g.csp_nonce}'")
    return response


def init_app(app: Flask) -> None:
    app.after_request(_secure)
    app.add_template_global(csp_nonce)
