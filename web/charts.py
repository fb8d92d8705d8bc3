"""Charts as data for Apache ECharts (web/static/charts.js draws them: tooltips, zoom, export as
image), each with its figures as a plain table beneath, so the page reads without script too.

The figures travel in a <script type="application/json"> block, which the browser never runs (it
is allowed under script-src 'self'); `tojson` escapes it. Labels and values are formatted by the
caller in the user's locale."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from flask import g, render_template
from markupsafe import Markup


@dataclass(frozen=True)
class Point:
    label: str  # x-axis label, e.g. 2026-09
    value: float  # 0-100
    shown: str  # the value as the user reads it, e.g. 86.5
    title: str  # tooltip, e.g. "2026-09: 86.5 (12 calls)"


@dataclass(frozen=True)
class Bar:
    value: float
    shown: str  # the value as the user reads it
    title: str  # tooltip
    series: str = "current"  # current | previous | warn: its colour, and its legend entry


@dataclass(frozen=True)
class BarGroup:
    label: str
    bars: list[Bar]


@dataclass
class Chart:
    """What charts.js needs to draw one chart; rendered in a template it becomes the chart and its table."""

    kind: str  # bars | trend
    caption: str
    labels: list[str]  # one per category (a group of bars, a month)
    series: list[dict[str, Any]]  # {"key", "name", "cells": [{"value", "shown", "title"} or None per label]}
    bands: list[dict[str, Any]] = field(default_factory=list)  # trend: grade bands {"name", "bound"}
    floor: float = 0.0  # trend: the bottom of the scale

    def spec(self) -> dict[str, Any]:
        return asdict(self)

    def __html__(self) -> Markup:
        g.charts_drawn = True  # base.html then loads ECharts and charts.js at the end of the page
        return Markup(render_template("_chart.html", chart=self))


def _floor(points: list[Point], bands: list[tuple[str, float]]) -> float:
    """The bottom of the scale: a little below the lowest value and the lowest passing band, so
    that months of 90-odd scores do not look flat; 0 as soon as anything scored low."""
    passing = min((bound for _, bound in bands if bound > 0), default=0.0)
    lowest = min([p.value for p in points] + [passing])
    return max(0.0, math.floor((lowest - 10) / 10) * 10)


def trend_chart(points: list[Point], bands: list[tuple[str, float]], caption: str, name: str) -> Chart:
    """Monthly values as a line over the grade bands."""
    floor = _floor(points, bands)
    cells = [{"value": p.value, "shown": p.shown, "title": p.title} for p in points]
    return Chart("trend", caption, [p.label for p in points], [{"key": "current", "name": name, "cells": cells}],
                 [{"name": band, "bound": bound} for band, bound in bands if bound > floor], floor)


def bars_chart(groups: list[BarGroup], caption: str, legend: list[tuple[str, str]] | None = None) -> Chart:
    """Horizontal bars, one row per group (e.g. a team: last month and this month), one series per
    legend entry; without a legend, one unnamed series."""
    keys = legend or [(key, caption) for key in dict.fromkeys(b.series for g in groups for b in g.bars)]
    series = []
    for key, name in keys:
        cells = []
        for group in groups:
            bar = next((b for b in group.bars if b.series == key), None)
            cells.append(None if bar is None else {"value": bar.value, "shown": bar.shown, "title": bar.title})
        series.append({"key": key, "name": name, "cells": cells})
    return Chart("bars", caption, [g.label for g in groups], series)
