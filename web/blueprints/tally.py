"""The monthly tally and ranking (managers): the month as it stands, published versions,
events and adjustments, publishing, exports; and each agent's month, where figures trace back
to the calls behind them. Agents see their own month on their scorecard, published only."""

from __future__ import annotations

import io

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from qa.access import MANAGERS
from qa.db.models import Agent
from qa.tally.actions import add_entry, publish
from qa.tally.compute import ADJUSTMENT
from qa.tally.export import TABLES, csv_text, write_xlsx
from qa.tally.period import Month, MonthError
from web.coverage import month_coverage
from web.db import db_session
from web.errors import form_action
from web.ids import form_int
from web.periods import latest_month
from web.security import roles_required
from web.settings import tally_policy
from web.tallyview import MonthView, area_chart, month_view, score_histogram, team_trend_chart

bp = Blueprint("tally", __name__, url_prefix="/tally")


def _month(text: str) -> Month:
    try:
        return Month.parse(text)
    except MonthError:
        abort(404)


def _view(month: str, version: int | None) -> MonthView:
    view = month_view(db_session(), tally_policy(), _month(month), version)
    if view is None:
        abort(404)
    return view


@bp.get("")
@roles_required(*MANAGERS)
def index() -> Response:
    return redirect(url_for("tally.month", month=str(latest_month(db_session(), tally_policy().policy.period))))


@bp.get("/<month>")
@bp.get("/<month>/v<int:version>")
@roles_required(*MANAGERS)
def month(month: str, version: int | None = None) -> str:
    view = _view(month, version)
    session, period = db_session(), tally_policy().policy.period
    agents = session.scalars(select(Agent).order_by(Agent.code)).all()
    return render_template("tally.html", view=view, policy=tally_policy().policy, agents=agents,
                           coverage=month_coverage(session, view.month, period, view.tally.centre.name),
                           latest=latest_month(session, period),
                           histogram=score_histogram(view.tally), areas=area_chart(view.tally),
                           trend=team_trend_chart(view.tally), ADJUSTMENT=ADJUSTMENT, TABLES=TABLES)


@bp.get("/<month>/agents/<int:agent_id>")
@bp.get("/<month>/v<int:version>/agents/<int:agent_id>")
@roles_required(*MANAGERS)
def agent(month: str, agent_id: int, version: int | None = None) -> str:
    view = _view(month, version)
    figures = view.tally.agent(agent_id)
    if figures is None:
        abort(404)
    return render_template("tally_agent.html", view=view, agent=figures, ranked=sum(a.ranked for a in view.tally.agents))


def _back(month: str) -> Response:
    return redirect(url_for("tally.month", month=month))


@bp.post("/<month>/publish")
@roles_required(*MANAGERS)
def publish_month(month: str) -> Response:
    with form_action() as outcome:
        row = publish(db_session(), tally_policy(), _month(month), current_user, request.form.get("note", ""))
    if outcome.refused:
        return _back(month)
    flash(gettext("Published %(month)s as version %(version)d.", month=month, version=row.version), "ok")
    return redirect(url_for("tally.month", month=month, version=row.version))


@bp.post("/<month>/entries")
@roles_required(*MANAGERS)
def add(month: str) -> Response:
    session = db_session()
    person = session.get(Agent, form_int("agent", 0))
    if person is None:
        abort(400)
    with form_action() as outcome:
        add_entry(session, tally_policy(), current_user, person, _month(month), request.form.get("kind", ""),
                  request.form.get("note", ""), quantity=form_int("quantity", 1),
                  points=request.form.get("points", 0.0, type=float) or 0.0,
                  yuan=request.form.get("yuan", 0.0, type=float) or 0.0,
                  call_id=form_int("call"))
    if not outcome.refused:
        flash(gettext("Recorded for %(agent)s.", agent=person.code), "ok")
    return _back(month)


@bp.get("/<month>/export.<fmt>")
@bp.get("/<month>/v<int:version>/export.<fmt>")
@roles_required(*MANAGERS)
def export(month: str, fmt: str, version: int | None = None) -> Response:
    view = _view(month, version)
    label = (gettext("version %(version)d", version=view.version.version) if view.version
             else gettext("draft, not published"))
    name = f"tally-{month}-{f'v{view.version.version}' if view.version else 'draft'}"
    if fmt == "xlsx":
        buffer = io.BytesIO()
        write_xlsx(view.tally, label, buffer)
        buffer.seek(0)
        return send_file(buffer, as_attachment=True, download_name=f"{name}.xlsx",
                         mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    table = request.args.get("table", "summary")
    if fmt != "csv" or table not in TABLES:
        abort(404)
    return send_file(io.BytesIO(csv_text(view.tally, table).encode("utf-8")), as_attachment=True,
                     download_name=f"{name}-{table}.csv", mimetype="text/csv")  # Flask adds the charset
