"""JSON for the pages' scripts: a call's data, its waveform peaks, and processing status.
Each route checks the role and, for agents, that the call is theirs, like the pages do."""

from __future__ import annotations

from flask import Blueprint, jsonify, url_for
from flask_login import login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from qa.access import STAFF, CallState
from qa.db.models import Call, Job
from qa.errors import CallError
from qa.review.actions import review_version
from qa.speech.peaks import cached_peaks
from web.db import db_session
from web.errors import refuse
from web.i18n import STAGE_LABELS, STATE_LABELS, when
from web.security import audio_file, call_or_403, roles_required
from web.settings import qa_config

bp = Blueprint("api", __name__, url_prefix="/api")
RECENT_CALLS = 50


@bp.get("/calls/<int:call_id>")
@login_required
def call(call_id: int) -> Response:
    call = call_or_403(call_id)
    return jsonify(
        id=call.id, state=call.state, score=call.score, grade=call.grade, fatal=call.fatal,
        version=review_version(call), turns=call.transcript.data["turns"] if call.transcript else [],
        items=[{"id": v.id, "item": v.item, "name": v.name, "auto_verdict": v.auto_verdict,
                "final_verdict": v.final_verdict, "confidence": v.confidence, "deduct": v.deduct,
                "fatal": v.fatal, "evidence": v.evidence, "comment": v.comment} for v in call.verdicts])


@bp.get("/calls/<int:call_id>/peaks")
@login_required
def peaks(call_id: int) -> Response | tuple[Response | str, int]:
    call = call_or_403(call_id)
    try:
        return jsonify(cached_peaks(audio_file(call, qa_config().data_dir), call.sha256, qa_config()))
    except CallError as exc:
        return refuse(422, exc.reason)


@bp.get("/status")
@roles_required(*STAFF)
def status() -> Response:
    """The most recent calls with their latest job, for the self-refreshing status page."""
    session = db_session()
    calls = session.scalars(select(Call).order_by(Call.created_at.desc(), Call.id.desc()).limit(RECENT_CALLS)).all()
    jobs = {job.call_id: job for job in session.scalars(
        select(Job).where(Job.call_id.in_([c.id for c in calls])).order_by(Job.id))}
    return jsonify(calls=[{
        "id": c.id, "name": c.original_name, "state": c.state, "state_label": str(STATE_LABELS.get(c.state, c.state)),
        "stage": str(STAGE_LABELS.get(jobs[c.id].stage, jobs[c.id].stage)) if c.id in jobs else "",
        "progress": jobs[c.id].progress if c.id in jobs else 0.0,
        "error": c.error, "created": when(c.created_at), "url": url_for("calls.page", call_id=c.id),
        "retry_url": url_for("upload.retry", call_id=c.id) if c.state == CallState.FAILED else None,
    } for c in calls])
