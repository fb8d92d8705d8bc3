"""Calibration sessions (see qa/learning/calibration.py): managers create them, see where the
inspectors disagree and record agreed verdicts; inspectors rate each call blind to one another
and to the automatic verdict."""

from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from qa.access import MANAGERS, REVIEWERS, STAFF
from qa.db.models import CalibrationRating, CalibrationSession, Call, Transcript
from qa.learning.calibration import close, create_session, decide, items_of, rate, results
from web.callview import turn_views
from web.db import db_session
from web.errors import form_action
from web.ids import form_int
from web.security import roles_required

bp = Blueprint("calibration", __name__, url_prefix="/calibration")


def _calibration_or_404(cal_id: int) -> CalibrationSession:
    cal = db_session().get(CalibrationSession, cal_id)
    if cal is None:
        abort(404)
    return cal


@bp.get("")
@roles_required(*STAFF)
def index() -> str:
    sessions = db_session().scalars(select(CalibrationSession).order_by(CalibrationSession.id.desc())).all()
    return render_template("calibration_list.html", sessions=sessions, manager=current_user.role in MANAGERS)


@bp.post("")
@roles_required(*MANAGERS)
def create() -> Response:
    call_ids = [int(n) for n in re.findall(r"\d+", request.form.get("calls", ""))]
    with form_action() as outcome:
        cal = create_session(db_session(), current_user, request.form.get("title", ""), call_ids)
    if outcome.refused:
        return redirect(url_for("calibration.index"))
    return redirect(url_for("calibration.show", cal_id=cal.id))


@bp.get("/<int:cal_id>")
@roles_required(*STAFF)
def show(cal_id: int) -> str:
    cal = _calibration_or_404(cal_id)
    if current_user.role in MANAGERS:
        return render_template("calibration_results.html", cal=cal, results=results(db_session(), cal))
    rated = set(db_session().scalars(select(CalibrationRating.call_id).where(
        CalibrationRating.session_id == cal_id, CalibrationRating.inspector_id == current_user.id)))
    return render_template("calibration_calls.html", cal=cal, rated=rated)


@bp.route("/<int:cal_id>/calls/<int:call_id>", methods=["GET", "POST"])
@roles_required(*REVIEWERS)
def rate_call(cal_id: int, call_id: int) -> str | Response:
    cal = _calibration_or_404(cal_id)
    if call_id not in {c.call_id for c in cal.calls}:
        abort(404)
    session = db_session()
    if request.method == "POST":
        verdicts = {key.removeprefix("v:"): value for key, value in request.form.items() if key.startswith("v:")}
        with form_action() as outcome:
            rate(session, current_user, cal, call_id, verdicts)
        if not outcome.refused:
            flash(gettext("Your verdicts are saved."), "ok")
            return redirect(url_for("calibration.show", cal_id=cal_id))
    call = session.get_one(Call, call_id)
    transcript = session.scalars(select(Transcript.data).where(Transcript.call_id == call_id)).first()
    mine = {r.item: r.verdict for r in session.scalars(select(CalibrationRating).where(
        CalibrationRating.session_id == cal_id, CalibrationRating.call_id == call_id,
        CalibrationRating.inspector_id == current_user.id))}
    return render_template("calibration_rate.html", cal=cal, call=call, turns=turn_views(transcript, []),
                           items=items_of(session, call_id), mine=mine)


@bp.post("/<int:cal_id>/decide")
@roles_required(*MANAGERS)
def decide_item(cal_id: int) -> Response:
    cal = _calibration_or_404(cal_id)
    call_id = form_int("call", 0)
    with form_action() as outcome:
        decide(db_session(), current_user, cal, call_id, request.form.get("item", ""), request.form.get("verdict", ""),
               request.form.get("note", ""))
    if not outcome.refused:
        flash(gettext("Agreed verdict recorded."), "ok")
    return redirect(url_for("calibration.show", cal_id=cal_id) + f"#c{call_id}")


@bp.post("/<int:cal_id>/close")
@roles_required(*MANAGERS)
def close_session(cal_id: int) -> Response:
    cal = _calibration_or_404(cal_id)
    with form_action() as outcome:
        close(db_session(), current_user, cal)
    if not outcome.refused:
        flash(gettext("Calibration session closed."), "ok")
    return redirect(url_for("calibration.show", cal_id=cal_id))
