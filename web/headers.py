"""Security headers on every response (pages, JSON, static files, downloads, error pages): the
browser runs only the app's own scripts, never shows it inside another site's frame, never guesses
a download's type, and sends no page address to other sites.

The templates have no inline script, event handler or style attribute (tests/test_security_headers.py
checks), so scripts and styles are 'self' only. default-src 'self' covers the rest: the call page's
recording and its fetches come from the app itself, and charts are inline SVG, not images."""

from __future__ import annotations

from flask import Flask
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


def _secure(response: Response) -> Response:
    response.headers.update(HEADERS)
    return response


def init_app(app: Flask) -> None:
    app.after_request(_secure)
