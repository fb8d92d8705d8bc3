"""`qa agreement`: how the automatic verdicts fared against the inspectors, per item and month."""

from __future__ import annotations

import csv
import sys

import click
from rich.table import Table

from qa.config import Config
from qa.learning.agreement import ItemAgreement, month_agreement
from qa.tally.commands import MONTH_OPTION, chosen_month, config_session, policy_or_exit, wide_console

COLUMNS = ("item", "name", "area", "reviewed", "overridden", "agreement", "precision", "recall",
           "true_fail", "false_fail", "missed_fail")


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _row(a: ItemAgreement) -> list[object]:
    return [a.item, a.name, a.area, a.reviewed, a.overridden, a.agreement, a.precision, a.recall,
            a.true_fail, a.false_fail, a.missed_fail]


@click.command()
@MONTH_OPTION
@click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table", show_default=True)
@click.option("--calls", is_flag=True, help="List each item's overridden calls (ids) as well.")
@click.pass_obj
def agreement(config: Config, month: str | None, fmt: str, calls: bool) -> None:
    """Per checklist item, how often inspectors kept the automatic verdict in the month's
    confirmed calls: agreement, and precision / recall of automatic "fail" against their final
    verdicts. Most overridden items first."""
    loaded = policy_or_exit(config)
    chosen = chosen_month(loaded, month)
    with config_session(config) as session:
        items = month_agreement(session, chosen, loaded.policy.period)
    if fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow([*COLUMNS, *(["overridden_calls"] if calls else [])])
        for a in items:
            writer.writerow([*_row(a), *([" ".join(map(str, a.overridden_calls))] if calls else [])])
        return
    if not items:
        click.echo(f"{chosen}: no confirmed calls")
        return
    verdicts = sum(a.reviewed for a in items)
    table = Table(title=f"{chosen}：自动判定与质检员终判（{verdicts} 项判定，已确认的通话）")
    for header in ("项目", "名称", "类别", "复核", "改判", "一致率", "精确率", "召回率", *(["改判通话"] if calls else [])):
        table.add_column(header, justify="right" if header in ("复核", "改判", "一致率", "精确率", "召回率") else "left")
    for a in items:
        table.add_row(a.item, a.name, a.area, str(a.reviewed), str(a.overridden), _share(a.agreement),
                      _share(a.precision), _share(a.recall),
                      *([" ".join(map(str, a.overridden_calls))] if calls else []))
    wide_console().print(table)
