"""How the automatic verdicts fare against the inspectors (managers): per checklist item and
month, agreement and precision / recall of automatic "fail", with the overridden calls a click away."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from qa.access import MANAGERS
from qa.db.models import Call, ItemVerdict
from qa.learning.agreement import ItemAgreement, month_agreement
from qa.tally.period import Month, MonthError
from web.charts import Bar, BarGroup, Chart, bars_chart
from web.db import db_session
from web.i18n import number, percent
from web.periods import latest_month
from web.security import roles_required
from web.settings import tally_policy

bp = Blueprint("agreement", __name__, url_prefix="/agreement")
SHOWN_CALLS = 500  # an item page lists at most this many overridden calls (the count is always whole)


def _month(text: str) -> Month:
    try:
        return Month.parse(text)
    except MonthError:
        abort(404)


def _items(month: Month) -> list[ItemAgreement]:
    return month_agreement(db_session(), month, tally_policy().policy.period)


def detection_chart(items: list[ItemAgreement]) -> Chart:
    """Precision and recall of automatic "fail" for each item that failed or should have."""
    groups = []
    for a in items:
        bars = []
        if a.precision is not None:
            bars.append(Bar(a.precision * 100, percent(a.precision), gettext(
                "%(item)s: %(share)s of automatic fails kept by inspectors", item=a.name, share=percent(a.precision))))
        if a.recall is not None:
            bars.append(Bar(a.recall * 100, percent(a.recall), gettext(
                "%(item)s: %(share)s of final fails failed automatically", item=a.name, share=percent(a.recall)),
                "previous"))
        if bars:
            groups.append(BarGroup(a.name, bars))
    return bars_chart(groups, gettext("Automatic fails: precision and recall"),
                    legend=[("current", gettext("Precision")), ("previous", gettext("Recall"))])


def override_chart(items: list[ItemAgreement]) -> Chart:
    overridden = [a for a in items if a.overridden]
    return bars_chart([BarGroup(a.name, [Bar(a.overridden, number(a.overridden), gettext(
        "%(item)s: %(count)d verdicts changed by inspectors", item=a.name, count=a.overridden), "warn")])
        for a in overridden], gettext("Verdicts changed by inspectors"))


@bp.get("")
@roles_required(*MANAGERS)
def index() -> Response:
    return redirect(url_for("agreement.month", month=str(latest_month(db_session(), tally_policy().policy.period))))


@bp.get("/<month>")
@roles_required(*MANAGERS)
def month(month: str) -> str:
    chosen = _month(month)
    items = _items(chosen)
    return render_template("agreement.html", month=chosen, items=items, detection=detection_chart(items),
                           overrides=override_chart(items), previous=chosen.shift(-1), following=chosen.shift(1),
                           latest=latest_month(db_session(), tally_policy().policy.period))


@bp.get("/<month>/<item>")
@roles_required(*MANAGERS)
def item(month: str, item: str) -> str:
    chosen = _month(month)
    found = next((a for a in _items(chosen) if a.item == item), None)
    if found is None:
        abort(404)
    shown = found.overridden_calls[:SHOWN_CALLS]
    verdicts = db_session().scalars(
        select(ItemVerdict).where(ItemVerdict.item == item, ItemVerdict.call_id.in_(shown))
        .options(selectinload(ItemVerdict.call).selectinload(Call.agent)).order_by(ItemVerdict.call_id)).all()
    return render_template("agreement_item.html", month=chosen, agreement=found, verdicts=verdicts)
