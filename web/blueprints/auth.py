"""Signing in and out, the start page for each role, and the language switch."""

from __future__ import annotations

import math

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from qa.access import Role
from qa.db.models import User
from web.db import database, db_session
from web.i18n import LOCALES
from web.security import safe_next, sign_in, sign_out
from web.settings import qa_config
from web.signin import check_sign_in

bp = Blueprint("auth", __name__)


def home_for(user: User) -> str:
    return url_for("scorecard.mine") if user.role == Role.AGENT else url_for("queue.index")


@bp.get("/")
@login_required
def index() -> Response:
    return redirect(home_for(current_user))


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int] | tuple[str, int, dict[str, str]]:
    if request.method == "GET":
        return render_template("login.html")
    username = request.form.get("username", "").strip()
    user_id, wait = check_sign_in(database(), username, request.form.get("password", ""), request.remote_addr or "",
                                  qa_config().web.sign_in)
    if wait:
        seconds = math.ceil(wait)
        page = render_template("login.html", username=username, error=gettext(
            "Too many failed sign-ins: wait %(seconds)s seconds, then try again.", seconds=seconds))
        return page, 429, {"Retry-After": str(seconds)}
    if user_id is None:
        return render_template("login.html", error=gettext("Wrong user name or password."), username=username), 401
    user = db_session().get_one(User, user_id)
    sign_in(user)
    return redirect(safe_next(request.args.get("next"), home_for(user)))


@bp.post("/logout")
@login_required
def logout() -> Response:
    sign_out(current_user)
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
