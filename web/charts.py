"""Charts drawn on the server as inline SVG: no script and nothing fetched from elsewhere.
Every label is escaped; the numbers are formatted by the caller in the user's locale."""

from __future__ import annotations

import math
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 16, 24, 36
TOP_SCORE = 100.0


@dataclass(frozen=True)
class Point:
    label: str  # x-axis label, e.g. 2026-09
    value: float  # 0-100
    shown: str  # the value as the user reads it, e.g. 86.5
    title: str  # tooltip, e.g. "2026-09: 86.5 (12 calls)"


def _floor(points: list[Point], bands: list[tuple[str, float]]) -> float:
    """The bottom of the scale: a little below the lowest value and the lowest passing band, so
    that months of 90-odd scores do not look flat; 0 as soon as anything scored low."""
    passing = min((bound for _, bound in bands if bound > 0), default=0.0)
    lowest = min([p.value for p in points] + [passing])
    return max(0.0, math.floor((lowest - 10) / 10) * 10)


def trend_svg(points: list[Point], bands: list[tuple[str, float]], caption: str) -> Markup:
    """Monthly values as a line over the grade bands (dashed), each point labelled with its value."""
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    floor = _floor(points, bands)

    def y(value: float) -> float:
        return TOP + inner_h * (1 - (min(TOP_SCORE, max(floor, value)) - floor) / (TOP_SCORE - floor))

    def x(i: int) -> float:
        return LEFT + inner_w * (i + 0.5) / max(1, len(points))

    out = [(f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(caption)}" '
            f'xmlns="http://www.w3.org/2000/svg"><title>{escape(caption)}</title>'),
           f'<line class="axis" x1="{LEFT}" y1="{y(floor):.1f}" x2="{WIDTH - RIGHT}" y2="{y(floor):.1f}"/>',
           f'<text class="y-label" x="{LEFT - 6}" y="{y(floor) + 4:.1f}" text-anchor="end">{floor:g}</text>']
    for name, bound in bands:
        if bound <= floor:
            continue
        out.append(f'<line class="band" x1="{LEFT}" y1="{y(bound):.1f}" x2="{WIDTH - RIGHT}" y2="{y(bound):.1f}"/>'
                   f'<text class="y-label" x="{LEFT - 6}" y="{y(bound) + 4:.1f}" text-anchor="end">{bound:g}</text>'
                   f'<text class="band-label" x="{WIDTH - RIGHT}" y="{y(bound) - 4:.1f}" text-anchor="end">'
                   f'{escape(name)}</text>')
    if len(points) > 1:
        path = " ".join(f"{x(i):.1f},{y(p.value):.1f}" for i, p in enumerate(points))
        out.append(f'<polyline class="line" points="{path}"/>')
    for i, p in enumerate(points):
        out.append(f'<circle class="dot" cx="{x(i):.1f}" cy="{y(p.value):.1f}" r="4"><title>{escape(p.title)}</title>'
                   f'</circle><text class="value" x="{x(i):.1f}" y="{y(p.value) - 9:.1f}" text-anchor="middle">'
                   f'{escape(p.shown)}</text><text class="x-label" x="{x(i):.1f}" y="{HEIGHT - 12}" '
                   f'text-anchor="middle">{escape(p.label)}</text>')
    out.append("</svg>")
    return Markup("".join(out))


@dataclass(frozen=True)
class Bar:
    value: float
    shown: str  # the value as the user reads it
    title: str  # tooltip
    series: str = "current"  # CSS class: current | previous | warn


@dataclass(frozen=True)
class BarGroup:
    label: str
    bars: list[Bar]


BAR_H, BAR_GAP, GROUP_GAP, LABEL_W, BARS_WIDTH = 14, 2, 10, 80, 400


def bars_svg(groups: list[BarGroup], caption: str, legend: list[tuple[str, str]] | None = None) -> Markup:
    """Horizontal bars, one group per label (e.g. a team: last month and this month), each bar
    labelled with its value; the scale starts at 0 and ends at the largest value. Narrower than
    the trend chart: these sit three abreast."""
    top = max((b.value for g in groups for b in g.bars), default=0.0) or 1.0
    inner_w = BARS_WIDTH - LABEL_W - RIGHT - 40
    legend_h = 18 if legend else 0
    height = TOP // 2 + legend_h + sum(len(g.bars) * (BAR_H + BAR_GAP) + GROUP_GAP for g in groups) + 4
    out = [(f'<svg class="chart bars" viewBox="0 0 {BARS_WIDTH} {height}" role="img" aria-label="{escape(caption)}" '
            f'xmlns="http://www.w3.org/2000/svg"><title>{escape(caption)}</title>')]
    x = LABEL_W
    for series, name in legend or []:
        out.append(f'<rect class="bar {escape(series)}" x="{x}" y="4" width="12" height="10"/>'
                   f'<text class="x-label" x="{x + 16}" y="13">{escape(name)}</text>')
        x += 24 + 14 * len(name)
    y = TOP // 2 + legend_h
    for group in groups:
        group_h = len(group.bars) * (BAR_H + BAR_GAP)
        out.append(f'<text class="y-label" x="{LABEL_W - 6}" y="{y + group_h / 2 + 4:.1f}" text-anchor="end">'
                   f'{escape(group.label)}</text>')
        for bar in group.bars:
            width = max(0.0, inner_w * bar.value / top)
            out.append(f'<rect class="bar {escape(bar.series)}" x="{LABEL_W}" y="{y}" width="{width:.1f}" '
                       f'height="{BAR_H}"><title>{escape(bar.title)}</title></rect>'
                       f'<text class="value" x="{LABEL_W + width + 4:.1f}" y="{y + BAR_H - 3}">{escape(bar.shown)}</text>')
            y += BAR_H + BAR_GAP
        y += GROUP_GAP
    out.append("</svg>")
    return Markup("".join(out))
