"""The weekly QA report (inspectors and managers): the page with its chart, and the workbook."""

from __future__ import annotations

import io
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, redirect, render_template, send_file, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from qa.access import STAFF
from qa.tally.period import Week, WeekError
from qa.tally.weekly import WeeklyReport, weekly_report, write_weekly_xlsx
from web.charts import Bar, BarGroup, Chart, bars_chart
from web.db import db_session
from web.periods import latest_week
from web.security import roles_required
from web.settings import qa_config

bp = Blueprint("reports", __name__, url_prefix="/reports")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _report(week: str) -> WeeklyReport:
    try:
        chosen = Week.parse(week)
    except WeekError:
        abort(404)
    return weekly_report(db_session(), chosen, ZoneInfo(qa_config().timezone))


def deductions_chart(report: WeeklyReport) -> Chart:
    """Each frequent deduction: calls failing it last week and this week."""
    groups = [BarGroup(d.name, [
        Bar(d.previous_calls, str(d.previous_calls), gettext("%(item)s last week: %(calls)d calls", item=d.name,
                                                              calls=d.previous_calls), "previous"),
        Bar(d.calls, str(d.calls), gettext("%(item)s this week: %(calls)d calls", item=d.name, calls=d.calls), "warn"),
    ]) for d in report.deductions]
    return bars_chart(groups, gettext("Most frequent deductions: calls this week and last week"),
                    legend=[("previous", gettext("Last week")), ("warn", gettext("This week"))])


@bp.get("/weekly")
@roles_required(*STAFF)
def weekly_index() -> Response:
    return redirect(url_for("reports.weekly", week=str(latest_week(db_session(), ZoneInfo(qa_config().timezone)))))


@bp.get("/weekly/<week>")
@roles_required(*STAFF)
def weekly(week: str) -> str:
    report = _report(week)
    return render_template("weekly.html", report=report, chart=deductions_chart(report),
                           latest=latest_week(db_session(), ZoneInfo(qa_config().timezone)))


@bp.get("/weekly/<week>.xlsx")
@roles_required(*STAFF)
def weekly_xlsx(week: str) -> Response:
    buffer = io.BytesIO()
    write_weekly_xlsx(_report(week), buffer)
    buffer.seek(0)
    return send_file(buffer, mimetype=XLSX, as_attachment=True, download_name=f"质检周报-{week}.xlsx")
