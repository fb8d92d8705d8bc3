"""The call page (player, transcript, items, audit log), its audio, and the review actions."""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload
from werkzeug.wrappers import Response

from qa.access import REVIEWABLE, REVIEWERS, CallState, Role
from qa.db.models import AuditEntry, Call, ItemVerdict
from qa.review.actions import confirm_call, review_version, set_verdict
from qa.scoring.scorecard import score_verdicts
from web.callview import audit_changes, item_views, role_review, turn_views
from web.db import db_session
from web.errors import wants_json
from web.i18n import STATE_LABELS, VERDICT_LABELS, number
from web.ids import form_int
from web.security import audio_file, call_or_403, roles_required
from web.settings import qa_config, scoring_template

bp = Blueprint("calls", __name__, url_prefix="/calls")
# What the call page shows, in two queries however many items and appeals the call has: the call with its
# agent, transcript and review, then its items with their appeals.
PAGE_LOADING = (joinedload(Call.agent), joinedload(Call.transcript), joinedload(Call.review),
                selectinload(Call.verdicts).joinedload(ItemVerdict.appeal))


@bp.get("/<int:call_id>")
@login_required
def page(call_id: int) -> str:
    call = call_or_403(call_id, *PAGE_LOADING)
    audit = db_session().scalars(select(AuditEntry).where(AuditEntry.call_id == call.id)
                                 .options(joinedload(AuditEntry.user)).order_by(AuditEntry.at, AuditEntry.id)).all()
    preview = score_verdicts(call.verdicts, scoring_template())
    return render_template(
        "call.html", call=call, turns=turn_views(call.transcript.data if call.transcript else None, call.verdicts),
        items=item_views(call.verdicts), version=review_version(call), preview=preview,
        role_review=role_review(call.transcript.data if call.transcript else None),
        audit=[(entry, audit_changes(entry, {v.item: v.name for v in call.verdicts})) for entry in audit],
        review_below=scoring_template().review_below_confidence,
        can_review=current_user.role in REVIEWERS and call.state in REVIEWABLE,
        can_appeal=current_user.role == Role.AGENT and call.state == CallState.CONFIRMED)


@bp.get("/<int:call_id>/audio")
@login_required
def audio(call_id: int) -> Response:
    """The recording, after the permission check; range requests let the player seek."""
    call = call_or_403(call_id)
    return send_file(audio_file(call, qa_config().data_dir), conditional=True, max_age=0)


def _verdict_of(call_id: int, verdict_id: int) -> ItemVerdict:
    call = call_or_403(call_id)
    verdict = db_session().get(ItemVerdict, verdict_id)
    if verdict is None or verdict.call_id != call.id:
        abort(404)
    return verdict


def _version() -> int:
    version = form_int("version")
    if version is None:
        abort(400)
    return version


@bp.post("/<int:call_id>/items/<int:verdict_id>")
@roles_required(*REVIEWERS)
def save_item(call_id: int, verdict_id: int) -> Response:
    verdict = _verdict_of(call_id, verdict_id)
    set_verdict(db_session(), current_user, verdict, request.form.get("verdict", ""),
                request.form.get("comment", ""), _version())
    if not wants_json():
        return redirect(url_for("calls.page", call_id=call_id, _anchor=f"v{verdict.id}"))
    score, grade, fatal = score_verdicts(verdict.call.verdicts, scoring_template())
    return jsonify(ok=True, version=review_version(verdict.call), score=score, grade=grade, fatal=fatal,
                   state_label=str(STATE_LABELS[verdict.call.state]),
                   item={"id": verdict.id, "verdict": verdict.verdict, "label": str(VERDICT_LABELS[verdict.verdict]),
                         "comment": verdict.comment, "reviewer": current_user.display_name or current_user.username})


@bp.post("/<int:call_id>/confirm")
@roles_required(*REVIEWERS)
def confirm(call_id: int) -> Response:
    call = confirm_call(db_session(), current_user, call_or_403(call_id), _version(), scoring_template())
    if wants_json():
        return jsonify(ok=True, version=review_version(call), score=call.score, grade=call.grade,
                       redirect=url_for("calls.page", call_id=call.id))
    flash(gettext("Call confirmed: %(score)s points, %(grade)s.", score=number(call.score),
                  grade=call.grade), "ok")
    return redirect(url_for("calls.page", call_id=call.id))
