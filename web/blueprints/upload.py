"""Uploading recordings (with an optional metadata CSV), and the processing status page."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response

from qa.access import STAFF, CallState
from qa.audit import record
from qa.work.ingest import IngestError, MetadataSheet, ingest_file, read_metadata_csv, safe_name
from qa.work.jobs import retry as retry_job
from web.db import database, db_session
from web.security import call_or_403, roles_required
from web.settings import qa_config

bp = Blueprint("upload", __name__, url_prefix="/upload")


@dataclass(frozen=True)
class FileResult:
    name: str
    status: str  # stored | duplicate | error
    message: str
    call_id: int | None = None


def _metadata(upload: FileStorage | None) -> MetadataSheet | None:
    """The CSV read by the product's reader (which knows the encodings Excel writes). Its problems
    name the uploaded file, as the person knows it, not the server's temporary copy."""
    if upload is None or not upload.filename:
        return None
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "metadata.csv"
        upload.save(path)
        sheet = read_metadata_csv(path)
    copy, name = f"{path}:", safe_name(upload.filename)
    return replace(sheet, problems=[f"{name}:{p.removeprefix(copy)}" if p.startswith(copy) else p
                                    for p in sheet.problems])


def _ingest(upload: FileStorage, sheet: MetadataSheet | None) -> FileResult:
    name = safe_name(upload.filename or "")
    try:
        result = ingest_file(database(), qa_config(), upload.stream, name, sheet.rows.get(name) if sheet else None)
    except IngestError as exc:
        return FileResult(name, "error", str(exc))
    return FileResult(name, "stored" if result.created else "duplicate", result.message, result.call_id)


@bp.route("", methods=["GET", "POST"])
@roles_required(*STAFF)
def index() -> str | tuple[str, int]:
    if request.method == "GET":
        return render_template("upload.html")
    files = [f for f in request.files.getlist("files") if f.filename]
    if not files:
        return render_template("upload.html", error=gettext("Choose at least one recording.")), 400
    sheet = _metadata(request.files.get("metadata"))
    results = [_ingest(f, sheet) for f in files]
    return render_template("upload.html", results=results, problems=sheet.problems if sheet else [])


@bp.get("/status")
@roles_required(*STAFF)
def status() -> str:
    return render_template("status.html")


@bp.post("/calls/<int:call_id>/retry")
@roles_required(*STAFF)
def retry(call_id: int) -> Response | tuple[str, int]:
    call = call_or_403(call_id)
    before = {"state": call.state, "error": call.error}
    try:
        retry_job(database(), qa_config(), call_id)
    except ValueError:
        flash(gettext("Only failed calls can be retried."), "error")
        return redirect(url_for("upload.status"))
    record(db_session(), current_user, "retry", "call", call_id, call_id, before, {"state": CallState.QUEUED})
    flash(gettext("Call %(id)d is queued again.", id=call_id), "ok")
    return redirect(url_for("upload.status"))
