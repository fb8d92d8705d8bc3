"""Models learned from inspectors (managers): versions with their held-out scores, which one
orders the queue, retraining on request, and the phrases they suggest for the checklists, which
a manager accepts into the checklist YAML or rejects (qa/learning)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from qa.access import MANAGERS, ModelState
from qa.db.models import LearnedModel, PhraseDecision
from qa.learning.phrases import decide_phrase
from qa.learning.versions import activate, request_training, summary
from web.charts import Bar, BarGroup, Chart, bars_chart
from web.db import db_session
from web.errors import form_action
from web.i18n import AREA_LABELS, percent
from web.ids import form_int
from web.security import roles_required
from web.settings import qa_config

bp = Blueprint("learning", __name__, url_prefix="/learning")
SHOWN_DECISIONS = 50
MODEL_STATE_LABELS = {"requested": lazy_gettext("Waiting for a worker"), "training": lazy_gettext("Training"),
                      "ready": lazy_gettext("Trained"), "failed": lazy_gettext("Failed")}


def agreement_chart(scores: dict[str, Any]) -> Chart:
    """Per area, on held-out calls: how often the rules and how often the model agreed with inspectors."""
    groups = []
    for area, figures in scores.get("areas", {}).items():
        bars = [Bar(figures[key] * 100, percent(figures[key]), gettext(
            "%(area)s: %(who)s agreed with inspectors on %(share)s of verdicts", area=AREA_LABELS.get(area, area), who=who,
            share=percent(figures[key])), series)
            for key, who, series in (("rule_agreement", gettext("rules"), "previous"),
                                     ("model_agreement", gettext("model"), "current"))
            if figures.get(key) is not None]
        groups.append(BarGroup(str(AREA_LABELS.get(area, area)), bars))
    return bars_chart(groups, gettext("Held-out calls: agreement with inspectors"),
                    legend=[("previous", gettext("Rules")), ("current", gettext("Model"))])


@bp.get("")
@roles_required(*MANAGERS)
def index() -> str:
    session = db_session()
    rows = session.scalars(select(LearnedModel).order_by(LearnedModel.version.desc())).all()
    shown = next((r for r in rows if r.active), None) or next((r for r in rows if r.state == ModelState.READY), None)
    newest = next((r for r in rows if r.state == ModelState.READY), None)
    decisions = session.scalars(select(PhraseDecision).order_by(PhraseDecision.decided_at.desc())
                                .limit(SHOWN_DECISIONS)).all()
    decided = {(d.item, d.phrase) for d in session.execute(select(PhraseDecision.item, PhraseDecision.phrase))}
    suggestions = [s for s in (newest.suggestions if newest else []) if (s["item"], s["phrase"]) not in decided]
    return render_template("learning.html", versions=[summary(r) for r in rows], shown=shown, newest=newest,
                           chart=agreement_chart(shown.scores) if shown else "", suggestions=suggestions,
                           decisions=decisions, busy=any(r.state in (ModelState.REQUESTED, ModelState.TRAINING) for r in rows),
                           own_checklists=qa_config().scoring.checklists_dir is not None, states=MODEL_STATE_LABELS,
                           settings=qa_config().learning)


@bp.post("/train")
@roles_required(*MANAGERS)
def train() -> Response:
    with form_action() as outcome:
        row = request_training(db_session(), current_user)
    if not outcome.refused:
        flash(gettext("Version %(version)s will be trained by the next idle worker.", version=row.version), "info")
    return redirect(url_for("learning.index"))


@bp.post("/activate")
@roles_required(*MANAGERS)
def activate_version() -> Response:
    version = form_int("version")
    with form_action() as outcome:
        activate(db_session(), version, current_user)
    if not outcome.refused:
        flash(gettext("Version %(version)s orders the queue now; the workers update the calls awaiting review "
                      "in the background.", version=version) if version else
              gettext("No model orders the queue now."), "info")
    return redirect(url_for("learning.index"))


@bp.post("/phrases")
@roles_required(*MANAGERS)
def decide() -> Response:
    accept = request.form.get("decision") == "accept"
    item, phrase = request.form.get("item", ""), request.form.get("phrase", "")
    with form_action() as outcome:
        decision = decide_phrase(db_session(), qa_config(), current_user, item, phrase, accept,
                                 form_int("version"))
    if not outcome.refused:
        flash(gettext("“%(phrase)s” added to %(item)s (%(note)s). It counts for calls scored after the workers "
                      "restart; “qa rescore” scores the calls awaiting review again.",
                      phrase=phrase, item=item, note=decision.note) if accept else
              gettext("“%(phrase)s” for %(item)s rejected; it will not be suggested again.", phrase=phrase, item=item),
              "info")
    return redirect(url_for("learning.index"))
