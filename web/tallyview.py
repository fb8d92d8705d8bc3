"""What the tally pages show besides the figures: charts (score distribution, points lost by
area, each team against last month) and how a month's state reads (draft or published)."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext
from sqlalchemy.orm import Session

from qa.db.models import PublishedTally
from qa.tally.actions import Change, changes, digest, live_tally, published, versions
from qa.tally.period import Month
from qa.tally.policy import LoadedPolicy
from qa.tally.result import Tally
from web.charts import Bar, BarGroup, Chart, bars_chart
from web.i18n import AREA_LABELS, number

SCORE_BINS = [(95.0, "95–100"), (90.0, "90–95"), (85.0, "85–90"), (80.0, "80–85"), (70.0, "70–80"), (60.0, "60–70"),
              (0.0, "< 60")]


@dataclass
class MonthView:
    """A month as a page shows it: the figures, and which version they are."""

    month: Month
    tally: Tally
    version: PublishedTally | None  # None: the live draft
    versions: list[PublishedTally]
    changed: list[Change]  # draft against the latest version; a version against the one before


def month_view(session: Session, loaded: LoadedPolicy, month: Month, version: int | None) -> MonthView | None:
    """The draft (version None) or a published version; None when that version does not exist."""
    listed = versions(session, month)
    if version is None:
        tally = live_tally(session, loaded, month)
        latest = published(session, month)
        moved = [] if latest is None or latest.digest == digest(tally) else changes(Tally.from_json(latest.data), tally)
        return MonthView(month, tally, None, listed, moved)
    row = published(session, month, version)
    if row is None:
        return None
    tally = Tally.from_json(row.data)
    before = published(session, month, version - 1) if version > 1 else None
    return MonthView(month, tally, row, listed, changes(Tally.from_json(before.data), tally) if before else [])


def score_histogram(tally: Tally) -> Chart:
    counts = {label: 0 for _, label in SCORE_BINS}
    for agent in tally.agents:
        if agent.score is not None:
            counts[next(label for bound, label in SCORE_BINS if agent.score >= bound)] += 1
    groups = [BarGroup(label, [Bar(count, str(count), gettext("%(bin)s: %(count)d agents", bin=label, count=count))])
              for label, count in counts.items()]
    return bars_chart(groups, gettext("Agents by performance score"))


def area_chart(tally: Tally) -> Chart:
    areas = sorted(tally.centre.area_points.items(), key=lambda kv: -kv[1])
    groups = [BarGroup(str(AREA_LABELS.get(area, area)), [Bar(points, number(points), gettext(
        "%(area)s: %(points)s points lost", area=AREA_LABELS.get(area, area), points=number(points)), "warn")])
        for area, points in areas]
    return bars_chart(groups, gettext("Points lost on confirmed calls, by area"))


def team_trend_chart(tally: Tally) -> Chart:
    groups = []
    for team in [*tally.teams, tally.centre]:
        bars = []
        if team.previous_mean is not None:
            bars.append(Bar(team.previous_mean, number(team.previous_mean), gettext(
                "%(team)s last month: %(score)s (%(calls)d calls)", team=team.name, score=number(team.previous_mean),
                calls=team.previous_calls), "previous"))
        if team.mean is not None:
            bars.append(Bar(team.mean, number(team.mean), gettext(
                "%(team)s this month: %(score)s (%(calls)d calls)", team=team.name, score=number(team.mean),
                calls=team.calls)))
        if bars:
            groups.append(BarGroup(team.name, bars))
    return bars_chart(groups, gettext("Average confirmed score: last month and this month"),
                    legend=[("previous", gettext("Last month")), ("current", gettext("This month"))])
