"""`qa report weekly`: the week's QA analysis on the command line, and as a workbook."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import click
from rich.table import Table

from qa.cli.tally import config_session, wide_console
from qa.config import Config
from qa.tally.period import Week, WeekError, current_week
from qa.tally.weekly import weekly_report, write_weekly_xlsx


@click.group()
def report() -> None:
    """QA reports."""


@report.command("weekly")
@click.option("--week", help="ISO week as YYYY-Www, e.g. 2026-W47 (default: the current week, timezone).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Also write the report as XLSX here.")
@click.pass_obj
def weekly(config: Config, week: str | None, out: Path | None) -> None:
    """The week's most frequent deductions with example calls, the agents most affected, the
    training focus, and the trend against the previous week (every processed call, with the
    inspectors' verdicts where given)."""
    zone = ZoneInfo(config.timezone)
    try:
        chosen = Week.parse(week) if week else current_week(zone)
    except WeekError as exc:
        raise click.BadParameter(str(exc), param_hint="--week") from exc
    with config_session(config) as session:
        found = weekly_report(session, chosen, zone)
    now, before = found.figures, found.previous
    console = wide_console()
    console.print(f"{chosen}: {now.calls} calls ({now.confirmed} confirmed), mean "
                  f"{'—' if now.mean is None else f'{now.mean:.1f}'}, {now.fatal_calls} with 高压线; previous week "
                  f"{before.calls} calls, mean {'—' if before.mean is None else f'{before.mean:.1f}'}", highlight=False)
    items = Table(title="扣分项目")
    for header in ("名称", "通话数", "上周", "扣分", "示例通话"):
        items.add_column(header, justify="left" if header in ("名称", "示例通话") else "right")
    for d in found.deductions:
        items.add_row(d.name, str(d.calls), str(d.previous_calls), f"{d.points:g}", " ".join(map(str, d.examples)))
    agents = Table(title="坐席")
    for header in ("工号", "姓名", "班组", "通话数", "未通过项次", "扣分", "高压线", "最常见问题"):
        agents.add_column(header)
    for a in found.agents:
        agents.add_row(a.code, a.name, a.team, str(a.calls), str(a.failed_items), f"{a.points:g}", str(a.fatal), a.top_item)
    console.print(items)
    console.print(agents)
    if out:
        with out.open("wb") as handle:
            write_weekly_xlsx(found, handle)
        click.echo(f"written {out}")
