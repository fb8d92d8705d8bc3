"""One database session per request, committed when the response succeeds, rolled back otherwise.

The session is opened lazily (static files never touch the database) through the product's
`Database.session()`, so the web app uses the same unit of work as workers and CLI commands.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, g
from sqlalchemy.orm import Session

from qa.db.session import Database

EXTENSION = "qa.database"


class _Rollback(Exception):
    """Thrown into the session block to make it roll back instead of commit."""


def database() -> Database:
    return current_app.extensions[EXTENSION]


def db_session() -> Session:
    if "db_block" not in g:
        g.db_block = database().session()
        g.db = g.db_block.__enter__()
    return g.db


def _close(commit: bool) -> None:
    block = g.pop("db_block", None)
    g.pop("db", None)
    if block is None:
        return
    if commit:
        block.__exit__(None, None, None)
    else:
        block.__exit__(_Rollback, _Rollback(), None)


def restart() -> Session:
    """Roll back the request's work and go on in a fresh session: after a refused write (a
    concurrent save that failed at flush) the old session can load nothing, yet the error page
    still shows who is signed in. The signed-in user is loaded again, into the new session."""
    _close(commit=False)
    g.pop("_login_user", None)  # Flask-Login's per-request user: reloaded on next use
    return db_session()


def _after_request(response: Response) -> Response:
    _close(commit=response.status_code < 400)
    return response


def _teardown(_exc: BaseException | None) -> None:
    _close(commit=False)  # only reached with a block still open when the view raised


def init_app(app: Flask, db: Database) -> None:
    app.extensions[EXTENSION] = db
    app.after_request(_after_request)
    app.teardown_appcontext(_teardown)
