"""Who may see what: logins, sessions that end, roles, an agent's own calls, and the secret key
that signs sessions.

A session cookie is signed, not stored, so ending a session takes state on the server: the cookie
carries the user's session version and the moment of sign-in, and every request checks both
(version still current, sign-in younger than web.session_hours)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Response, abort, jsonify, redirect, request, session, url_for
from flask_babel import gettext
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from sqlalchemy.orm.interfaces import ORMOption
from werkzeug.wrappers import Response as BaseResponse

from qa.access import STAFF, Role
from qa.config import Config
from qa.db.models import Call, User, utcnow
from web.db import db_session
from web.errors import wants_json
from web.settings import qa_config

SECRET_FILE = "secret_key"
SESSION_VERSION, SIGNED_IN_AT = "qa_sv", "qa_at"  # kept in the signed session cookie

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = None

F = TypeVar("F", bound=Callable[..., Any])


@login_manager.unauthorized_handler
def _unauthorized() -> BaseResponse | tuple[Response, int]:
    """Scripts get 401; people go to the sign-in page and come back afterwards."""
    if wants_json():
        return jsonify(ok=False, error=gettext("Sign in first.")), 401
    return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    """The signed-in user, unless the session has ended: deactivated, signed out or password
    changed since (session version), or signed in longer ago than web.session_hours."""
    user = db_session().get(User, int(user_id)) if user_id.isdigit() and len(user_id) < 19 else None
    if user is None or not user.active or session.get(SESSION_VERSION) != user.session_version:
        return None
    signed_in = session.get(SIGNED_IN_AT)
    if not isinstance(signed_in, (int, float)) or utcnow().timestamp() - signed_in > session_lifetime().total_seconds():
        return None
    return user


def session_lifetime() -> timedelta:
    return timedelta(hours=qa_config().web.session_hours)


def sign_in(user: User) -> None:
    """Start a fresh session for `user` (no fixation) that ends with its version or its lifetime."""
    session.clear()
    login_user(user)
    session[SESSION_VERSION], session[SIGNED_IN_AT] = user.session_version, utcnow().timestamp()


def sign_out(user: User) -> None:
    """End this session and every other of the user's, so a copied cookie stops working too."""
    user.end_sessions()
    logout_user()
    session.clear()


# Flask-Login asks the user object these; the model stays free of web concerns.
User.is_authenticated = property(lambda self: True)
User.is_anonymous = property(lambda self: False)
User.is_active = property(lambda self: self.active)
User.get_id = lambda self: str(self.id)


def roles_required(*roles: str) -> Callable[[F], F]:
    """Log in first, then 403 unless the user has one of `roles`."""
    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return login_required(wrapped)
    return decorate


def may_see_call(user: User, call: Call) -> bool:
    """Staff see every call; an agent only calls whose agent is their own."""
    return user.role in STAFF or (user.role == Role.AGENT and user.agent_id is not None and call.agent_id == user.agent_id)


def call_or_403(call_id: int, *options: ORMOption) -> Call:
    """The call, loaded with `options` (eager loading for pages that show its parts); 404 or 403."""
    call = db_session().get(Call, call_id, options=options)
    if call is None:
        abort(404)
    if not may_see_call(current_user, call):
        abort(403)
    return call


def audio_file(call: Call, data_dir: Path) -> Path:
    """The call's audio on disk; 403 for a stored path that resolves outside the data directory."""
    root = data_dir.resolve()
    path = (root / call.audio_path).resolve()
    if not path.is_relative_to(root):
        abort(403)
    if not path.is_file():
        abort(404)
    return path


def safe_next(target: str | None, fallback: str) -> str:
    """Follow `next` only to a path on this site (no open redirect)."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith(("//", "/\\")):
            return target
    return fallback


def secret_key(config: Config) -> str:
    """The configured key, else a random one kept in the data directory so sessions survive restarts."""
    if config.web.secret_key:
        return config.web.secret_key
    path = config.data_dir / SECRET_FILE
    if not path.is_file():
        config.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32), encoding="ascii")
    return path.read_text(encoding="ascii").strip()
