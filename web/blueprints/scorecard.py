"""Agent scorecards: own calls and scores, the monthly trend, the costliest deductions, and the
agent's published month (rank, rewards, penalties and what each came from)."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, selectinload
from werkzeug.wrappers import Response

from qa.access import STAFF, CallState, Role
from qa.db.models import Agent, Appeal, Call, PublishedTally, call_time
from qa.tally.actions import published, published_months
from qa.tally.period import Month
from qa.tally.result import AgentTally, agent_in
from web.agentstats import monthly_scores, top_deductions
from web.charts import Point, trend_chart
from web.db import db_session
from web.i18n import number
from web.ids import form_int
from web.queries import paginate
from web.security import roles_required
from web.settings import qa_config, scoring_template

bp = Blueprint("scorecard", __name__)


@bp.get("/scorecard")
@roles_required(Role.AGENT)
def mine() -> Response:
    if current_user.agent_id is None:
        abort(404)
    return redirect(url_for("scorecard.agent", agent_id=current_user.agent_id))


@bp.get("/agents")
@roles_required(*STAFF)
def agents() -> str:
    confirmed = (select(Call.agent_id, func.count(Call.id).label("calls"), func.avg(Call.score).label("average"))
                 .where(Call.state == CallState.CONFIRMED).group_by(Call.agent_id).subquery())
    rows = db_session().execute(select(Agent, confirmed.c.calls, confirmed.c.average)
                                .outerjoin(confirmed, confirmed.c.agent_id == Agent.id)
                                .options(selectinload(Agent.team)).order_by(Agent.code)).all()
    return render_template("agents.html", rows=rows)


@bp.get("/agents/<int:agent_id>")
@roles_required(*STAFF, Role.AGENT)
def agent(agent_id: int) -> str:
    if current_user.role == Role.AGENT and current_user.agent_id != agent_id:
        abort(403)
    person = db_session().get(Agent, agent_id)
    if person is None:
        abort(404)
    session = db_session()
    months = monthly_scores(session, agent_id, ZoneInfo(qa_config().timezone))
    chart = trend_chart(
        [Point(m.label, m.average, number(m.average), gettext("%(month)s: %(score)s (%(calls)d calls)",
                                                               month=m.label, score=number(m.average), calls=m.calls))
         for m in months],
        [(g.name, g.min_score) for g in scoring_template().grades],
        gettext("Average confirmed score by month"), gettext("Average score"))
    calls = paginate(session, select(Call).where(Call.agent_id == agent_id).order_by(call_time().desc(), Call.id.desc()),
                     form_int("page", 1))
    appeals = session.scalars(select(Appeal).join(Call).where(Call.agent_id == agent_id)
                              .options(joinedload(Appeal.verdict)).order_by(Appeal.created_at.desc())).all()
    return render_template("scorecard.html", agent=person, months=months, chart=chart,
                           deductions=top_deductions(session, agent_id), calls=calls, appeals=appeals,
                           tally=_published_month(session, agent_id, request.args.get("month")))


@dataclass
class PublishedMonth:
    """An agent's month as last published: what the agent sees of the monthly tally."""

    month: str
    months: list[str]  # every published month, newest first
    version: PublishedTally
    agent: AgentTally | None
    ranked: int


def _published_month(session: Session, agent_id: int, wanted: str | None) -> PublishedMonth | None:
    months = published_months(session)
    if not months:
        return None
    chosen = wanted if wanted in months else months[0]
    row = published(session, Month.parse(chosen))
    assert row is not None  # the month is in the list of published months
    figures, ranked = agent_in(row.data, agent_id)
    return PublishedMonth(chosen, months, row, figures, ranked)
