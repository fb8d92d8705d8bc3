"""`qa agreement` (how the automatic verdicts fared against the inspectors, per item and month) and
`qa learn` (train, list, show and activate model versions; decide on suggested phrases)."""

from __future__ import annotations

import csv
import sys
from datetime import datetime

import click
from rich.table import Table
from sqlalchemy import select

from qa.access import ModelState
from qa.cli.scoring import rules_or_exit
from qa.cli.tally import MONTH_OPTION, chosen_month, config_session, policy_or_exit, wide_console
from qa.config import Config
from qa.db.models import LearnedModel
from qa.db.session import open_database
from qa.learning.agreement import ItemAgreement, month_agreement
from qa.learning.phrases import decide_phrase
from qa.learning.predict import refresh_predictions
from qa.learning.versions import activate, get_version, summary, train_version
from qa.spreadsheet import csv_row

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
        writer.writerow(csv_row([*COLUMNS, *(["overridden_calls"] if calls else [])]))
        for a in items:
            writer.writerow(csv_row([*_row(a), *([" ".join(map(str, a.overridden_calls))] if calls else [])]))
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


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _print_version(row: LearnedModel) -> None:
    scores = row.scores
    click.echo(f"version {row.version} ({row.state}{', active' if row.active else ''}): {row.calls} calls, "
               f"{row.examples} item verdicts, confirmed {row.data_from:%Y-%m-%d} – {row.data_to:%Y-%m-%d}")
    held = scores.get("overall")
    if not held:
        click.echo("no held-out calls to score it on (too few labelled calls)")
        return
    table = Table(title=f"held out: the latest {scores['held_out_share']:.0%} of calls "
                        f"({scores['queue']['calls']} calls), the model fitted on the rest")
    for header in ("area", "verdicts", "wrong", "rules agree", "model agrees", "AUC"):
        table.add_column(header, justify="left" if header == "area" else "right")
    for area, figures in [*scores["areas"].items(), ("all", held)]:
        table.add_row(area, str(figures["verdicts"]), str(figures["wrong"]), _share(figures["rule_agreement"]),
                      _share(figures["model_agreement"]), _ratio(figures["auc"]))
    wide_console().print(table)
    queue = scores["queue"]
    click.echo(f"first {queue['head_calls']} calls of the queue ordered by the model: {queue['found_in_head']} of "
               f"{queue['wrong_verdicts']} wrong verdicts (random order: {queue['expected_at_random']:.1f}; "
               f"{_ratio(queue['lift'])}x)")


@click.group()
def learn() -> None:
    """Models that learn from inspectors' verdicts: they order the queue and flag calls where they
    disagree with the rules, and suggest phrases for the checklists. They never change a verdict."""


@learn.command("train")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Only calls labelled before this day (UTC).")
@click.pass_obj
def train_command(config: Config, until: datetime | None) -> None:
    """Train and score a new version from the confirmed calls and calibration verdicts (the
    latest learning.held_out_share of them held out for its scores); activate it when
    learning.auto_activate is set. Workers also do this on their own every learning.retrain_every_hours."""
    rules = rules_or_exit(config)
    database = open_database(config)
    try:
        row = train_version(database, config, rules, "command", until.astimezone() if until else None)
        if row.active:
            click.echo(f"version {row.version} is active; {refresh_predictions(database, rules)} calls awaiting "
                       "review predicted")
    finally:
        database.dispose()
    _print_version(row)
    click.echo(f"{len(row.suggestions)} phrase suggestion(s): qa learn suggestions")


@learn.command("list")
@click.pass_obj
def list_versions(config: Config) -> None:
    """Every version, newest first, with its held-out figures."""
    with config_session(config) as session:
        rows = [summary(r) for r in session.scalars(select(LearnedModel).order_by(LearnedModel.version.desc()))]
    table = Table("version", "state", "trigger", "trained", "calls", "AUC", "rules agree", "model agrees",
                  "first 10 %", "")
    for r in rows:
        table.add_row(str(r["version"]), r["state"], r["trigger"], f"{r['created_at']:%Y-%m-%d %H:%M}",
                      str(r["calls"]), _ratio(r["auc"]), _share(r["rule_agreement"]), _share(r["model_agreement"]),
                      f"{_ratio(r['lift'])}x", "active" if r["active"] else r["error"][:60])
    wide_console().print(table)


@learn.command("show")
@click.argument("version", type=int)
@click.pass_obj
def show(config: Config, version: int) -> None:
    """A version's training range and held-out scores per area."""
    database = open_database(config)
    try:
        _print_version(get_version(database, version))
    finally:
        database.dispose()


@learn.command("activate")
@click.argument("version", type=int, required=False)
@click.option("--none", "deactivate", is_flag=True, help="Let no model order the queue.")
@click.pass_obj
def activate_command(config: Config, version: int | None, deactivate: bool) -> None:
    """Make VERSION the one that orders the queue (or, with --none, no model) and predict the calls
    awaiting review with it."""
    if (version is None) != deactivate:
        raise click.UsageError("give a VERSION or --none")
    database = open_database(config)
    try:
        with database.session() as session:
            activate(session, version)
        predicted = refresh_predictions(database, rules_or_exit(config))
    finally:
        database.dispose()
    click.echo(f"version {version} is active; {predicted} calls awaiting review predicted" if version
               else "no model is active; predictions cleared")


@learn.command("suggestions")
@click.pass_obj
def suggestions(config: Config) -> None:
    """Phrases the newest trained version suggests adding to the checklists."""
    with config_session(config) as session:
        row = session.scalars(select(LearnedModel).where(LearnedModel.state == ModelState.READY)
                              .order_by(LearnedModel.version.desc())).first()
        found = row.suggestions if row else []
    if not found:
        click.echo("no suggestions")
        return
    table = Table("item", "kind", "phrase", "missed calls holding it", "opposite calls holding it", "examples")
    for s in found:
        table.add_row(s["item"], s["kind"], s["phrase"], f"{s['calls']} / {s['missed']}", str(s["against"]),
                      " ".join(s["example_calls"]))
    wide_console().print(table)
    click.echo("qa learn accept ITEM PHRASE  |  qa learn reject ITEM PHRASE")


def _decide(config: Config, item: str, phrase: str, accept: bool) -> None:
    with config_session(config) as session:
        note = decide_phrase(session, config, None, item, phrase, accept).note
    click.echo(f"“{phrase}” added to {item} ({note}); re-score the calls awaiting review with `qa rescore`"
               if accept else f"“{phrase}” for {item} rejected; it will not be suggested again")


@learn.command("accept")
@click.argument("item")
@click.argument("phrase")
@click.pass_obj
def accept(config: Config, item: str, phrase: str) -> None:
    """Add PHRASE to ITEM's phrases in the centre's checklist file (scoring.checklists_dir)."""
    _decide(config, item, phrase, accept=True)


@learn.command("reject")
@click.argument("item")
@click.argument("phrase")
@click.pass_obj
def reject(config: Config, item: str, phrase: str) -> None:
    """Do not suggest PHRASE for ITEM again."""
    _decide(config, item, phrase, accept=False)
