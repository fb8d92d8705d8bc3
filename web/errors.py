"""Refusals as the user sees them: the product's errors (QAError, review refusals among them) and
HTTP errors become a translated message, as JSON for scripts and as a page for people; the one
place the web app turns them into words."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Flask, Response, flash, jsonify, render_template, request
from flask_babel import format_datetime, format_time, gettext, lazy_gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from qa.errors import QAError
from qa.review.actions import AppealDecided, Conflict, InvalidAction, PermissionDenied, ReviewError
from web import db
from web.db import db_session
from web.i18n import APPEAL_LABELS

# A kind not listed is 400 (what was sent cannot be used); what is missing on the server (a model,
# Celery: the kinds that are RuntimeErrors) is 503.
STATUS = ((PermissionDenied, 403), (Conflict, 409), (InvalidAction, 400), (RuntimeError, 503))
MESSAGES = {
    "not_reviewer": lazy_gettext("Only inspectors and managers review calls."),
    "not_reviewable": lazy_gettext("This call is no longer awaiting review."),
    "bad_verdict": lazy_gettext("Unknown verdict."),
    "override_needs_comment": lazy_gettext("Overriding the automatic verdict needs a comment."),
    "decision_needs_comment": lazy_gettext("A decision needs a comment."),
    "not_own_call": lazy_gettext("You may appeal only your own calls."),
    "not_confirmed": lazy_gettext("Only items of confirmed calls can be appealed."),
    "not_failed": lazy_gettext("Only failed items can be appealed."),
    "already_appealed": lazy_gettext("This item has already been appealed."),
    "reason_required": lazy_gettext("An appeal needs a reason."),
    "own_confirmation": lazy_gettext("You confirmed this call, so another inspector must decide its appeal."),
    "not_manager": lazy_gettext("Only managers publish tallies and record entries."),
    "unchanged": lazy_gettext("The latest published version already has these figures."),
    "note_required": lazy_gettext("A new version needs a note saying why the figures changed."),
    "published_meanwhile": lazy_gettext("Someone else published this month just now; reload the page."),
    "adjustment_needs_reason": lazy_gettext("An adjustment needs a reason."),
    "empty_adjustment": lazy_gettext("An adjustment needs points or yuan."),
    "unknown_event": lazy_gettext("This is not an event of the reward-and-penalty policy."),
    "event_amounts": lazy_gettext("An event's amounts come from the policy; record an adjustment instead."),
    "bad_quantity": lazy_gettext("The quantity must be at least 1."),
    "not_agents_call": lazy_gettext("That call is not this agent's."),
    "not_allowed": lazy_gettext("Your role does not allow this."),
    "calibration_closed": lazy_gettext("This calibration session is closed."),
    "calibration_incomplete": lazy_gettext("A calibration session needs a title and at least one call."),
    "calibration_calls_unknown": lazy_gettext("Some of these calls do not exist or are not processed yet."),
    "not_in_calibration": lazy_gettext("That call is not in this calibration session."),
    "calibration_items_missing": lazy_gettext("Give every item a verdict."),
    "training_busy": lazy_gettext("Version %(version)s is being trained or waiting for a worker."),
    "not_enough_data": lazy_gettext("%(calls)s labelled calls so far; a model needs at least %(needed)s."),
    "no_version": lazy_gettext("There is no model version %(version)s."),
    "not_trained": lazy_gettext("Model version %(version)s is not trained."),
    "phrase_item_unknown": lazy_gettext("No checklist has the item %(item)s."),
    "phrase_combined": lazy_gettext("%(item)s in %(file)s combines phrases (all / any / none / unless): "
                                    "add “%(phrase)s” to it by hand."),
    "phrase_present": lazy_gettext("%(item)s already has “%(phrase)s”."),
    "phrase_breaks": lazy_gettext("The checklists would not load with “%(phrase)s” added; nothing was changed."),
    "phrase_decided": lazy_gettext("“%(phrase)s” for %(item)s has been decided already."),
    "no_own_checklists": lazy_gettext("The bundled checklists are not edited: copy them with "
                                      "“qa checklist copy DIR” and set scoring.checklists_dir, then accept again."),
}
HTTP_MESSAGES = {
    400: lazy_gettext("The request was not understood."),
    403: lazy_gettext("You do not have permission to see this page."),
    404: lazy_gettext("Not found."),
    405: lazy_gettext("This action is not allowed here."),
    413: lazy_gettext("The upload is too large: at most 2 GB at once; upload the files in several batches."),
}


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def error_message(error: QAError) -> str:
    if isinstance(error, AppealDecided):
        return gettext("%(by)s already decided this appeal (%(state)s) at %(time)s; nothing was changed.",
                       by=error.params["by"], state=str(APPEAL_LABELS.get(error.params["state"], error.params["state"])),
                       time=format_datetime(error.params["at"], "yyyy-MM-dd HH:mm"))
    if isinstance(error, Conflict):
        return gettext("Changed by %(by)s at %(time)s; please reload and try again.",
                       by=error.params["by"], time=format_time(error.params["at"], "HH:mm"))
    message = MESSAGES.get(error.code)
    return str(error) if message is None else str(message) % error.params


@dataclass
class Outcome:
    refused: bool = False


@contextmanager
def form_action() -> Iterator[Outcome]:
    """Run a form's action in a savepoint of the request's session: a refusal (ReviewError) undoes
    only what the action did, is flashed to the user, and marks the outcome refused."""
    outcome = Outcome()
    try:
        with db_session().begin_nested():
            yield outcome
    except ReviewError as error:
        flash(error_message(error), "error")
        outcome.refused = True


def refuse(status: int, message: str) -> tuple[Response | str, int]:
    if wants_json():
        return jsonify(ok=False, error=message), status
    return render_template("error.html", status=status, message=message), status


def _product_error(error: QAError) -> tuple[Response | str, int]:
    """A refusal or any other error of the product's that a request ran into, with the status of its
    kind (STATUS), in the user's language where its code has a message."""
    db.restart()  # nothing of the refused action is kept, and the page can still load the user
    return refuse(next((status for kind, status in STATUS if isinstance(error, kind)), 400), error_message(error))


def _csrf_error(_error: CSRFError) -> tuple[Response | str, int]:
    return refuse(400, gettext("The form has expired or was not sent from this site; reload the page and try again."))


def _http_error(error: HTTPException) -> tuple[Response | str, int] | HTTPException:
    if error.code is None or error.code < 400:
        return error
    return refuse(error.code, str(HTTP_MESSAGES.get(error.code, error.description)))


def init_app(app: Flask) -> None:
    app.register_error_handler(QAError, _product_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
