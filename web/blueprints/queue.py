"""The inspector queue: calls awaiting review, riskiest first, sampled passing calls mixed in."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from qa.access import STAFF
from qa.db.models import Agent, Team
from web.db import db_session
from web.ids import form_int
from web.queries import QueueFilters, paginate, queue_count, queue_statement, verdict_summaries
from web.security import roles_required
from web.settings import checklist_items, qa_config, scoring_template

bp = Blueprint("queue", __name__)


@bp.get("/queue")
@roles_required(*STAFF)
def index() -> str:
    session = db_session()
    filters = QueueFilters.from_args(request.args)
    zone = ZoneInfo(qa_config().timezone)
    page = paginate(session, queue_statement(filters, zone), form_int("page", 1),
                    count=queue_count(filters, zone))
    return render_template(
        "queue.html", page=page, filters=filters, items=checklist_items(),
        summaries=verdict_summaries(session, [call.id for call in page.items]),
        agents=session.scalars(select(Agent).options(selectinload(Agent.team)).order_by(Agent.code)).all(),
        teams=session.scalars(select(Team).order_by(Team.name)).all(),
        grades=[g.name for g in scoring_template().grades])
