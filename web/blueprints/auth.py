"""Signing in and out, the start page for each role, and the language switch."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select
from werkzeug.security import check_password_hash
from werkzeug.wrappers import Response

from qa.db.models import User
from web.db import db_session
from web.i18n import LOCALES
from web.security import safe_next

bp = Blueprint("auth", __name__)


def home_for(user: User) -> str:
    return url_for("scorecard.mine") if user.role == "agent" else url_for("queue.index")


@bp.get("/")
@login_required
def index() -> Response:
    return redirect(home_for(current_user))


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    if request.method == "GET":
        return render_template("login.html")
    username = request.form.get("username", "").strip()
    user = db_session().scalars(select(User).where(User.username == username)).first()
    if user is None or not user.active or not check_password_hash(user.password_hash, request.form.get("password", "")):
        return render_template("login.html", error=gettext("Wrong user name or password."), username=username), 401
    session.clear()  # a fresh session at every login (no fixation)
    login_user(user)
    return redirect(safe_next(request.args.get("next"), home_for(user)))


@bp.post("/logout")
@login_required
def logout() -> Response:
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.post("/locale")
def set_locale() -> Response:
    """Remember the language on the user (or, before login, on the browser session)."""
    chosen = request.form.get("locale", "")
    if chosen in LOCALES:
        session["locale"] = chosen
        if current_user.is_authenticated:
            current_user.locale = chosen
    return redirect(safe_next(request.form.get("next"), url_for("auth.index")))
