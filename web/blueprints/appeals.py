"""Appeals: an agent appeals a confirmed item of their call; another inspector decides."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from qa.access import REVIEWERS, AppealState, Role
from qa.db.models import Appeal, ItemVerdict
from qa.review.actions import decide_appeal, file_appeal
from web.db import db_session
from web.queries import users_by_id
from web.security import call_or_403, roles_required
from web.settings import scoring_template

bp = Blueprint("appeals", __name__, url_prefix="/appeals")
RECENT = 50


@bp.get("")
@login_required
def index() -> str:
    """Staff see open appeals first, then recent decisions; an agent sees their own."""
    query = select(Appeal).options(selectinload(Appeal.verdict).selectinload(ItemVerdict.call))
    if current_user.role == Role.AGENT:
        query = query.where(Appeal.agent_user_id == current_user.id)
    appeals = db_session().scalars(query.order_by((Appeal.state == AppealState.OPEN).desc(), Appeal.created_at.desc())
                                   .limit(RECENT)).all()
    people = users_by_id(db_session(), {a.agent_user_id for a in appeals} | {a.decided_by for a in appeals})
    return render_template("appeals.html", appeals=appeals, people=people,
                           can_decide=current_user.role in REVIEWERS)


@bp.post("/items/<int:verdict_id>")
@roles_required(Role.AGENT)
def file(verdict_id: int) -> Response:
    verdict = db_session().get(ItemVerdict, verdict_id)
    if verdict is None:
        abort(404)
    call_or_403(verdict.call_id)
    file_appeal(db_session(), current_user, verdict, request.form.get("reason", ""))
    flash(gettext("Your appeal has been sent to an inspector."), "ok")
    return redirect(url_for("calls.page", call_id=verdict.call_id, _anchor=f"v{verdict.id}"))


@bp.post("/<int:appeal_id>/decide")
@roles_required(*REVIEWERS)
def decide(appeal_id: int) -> Response:
    appeal = db_session().get(Appeal, appeal_id)
    if appeal is None:
        abort(404)
    decision = request.form.get("decision")
    if decision not in (AppealState.UPHELD, AppealState.REJECTED):
        abort(400)
    decide_appeal(db_session(), current_user, appeal, decision == AppealState.UPHELD, request.form.get("comment", ""),
                  scoring_template())
    flash(gettext("Decision saved."), "ok")
    return redirect(url_for("appeals.index"))
