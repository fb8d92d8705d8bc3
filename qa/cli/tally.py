"""`qa tally`, `qa rank`, `qa export`, `qa entry` and `qa policy`: the month from the command line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from qa.cli.scoring import rules_or_exit
from qa.config import Config
from qa.db.models import Agent
from qa.db.session import open_database
from qa.tally.actions import add_entry, digest, live_tally, publish, published, versions
from qa.tally.compute import ADJUSTMENT
from qa.tally.export import TABLES, write_csv, write_xlsx
from qa.tally.period import Month, MonthError, current_month
from qa.tally.policy import LoadedPolicy, PolicyError, load_policy
from qa.tally.result import Tally


def policy_or_exit(config: Config, path: Path | None = None) -> LoadedPolicy:
    """The policy in use (checked against the checklists in use); a bad file ends the command."""
    items = {item.id for _, item in rules_or_exit(config).items()}
    try:
        return load_policy(path or config.tally.policy, known_items=items)
    except PolicyError as exc:
        raise click.ClickException(f"the reward-and-penalty policy cannot be used:\n{exc}") from exc


def chosen_month(loaded: LoadedPolicy, text: str | None) -> Month:
    try:
        return Month.parse(text) if text else current_month(loaded.policy.period)
    except MonthError as exc:
        raise click.BadParameter(str(exc), param_hint="--month") from exc


@contextmanager
def config_session(config: Config) -> Iterator[Session]:
    database = open_database(config)
    try:
        with database.session() as session:
            yield session
    finally:
        database.dispose()


def wide_console() -> Console:
    """Wide tables stay whole when the output goes to a file or a pipe (rich assumes 80 columns)."""
    console = Console()
    return console if console.is_terminal else Console(width=200)


MONTH_OPTION = click.option("--month", help="Month as YYYY-MM (default: the current month in the policy's time zone).")
POLICY_OPTION = click.option("--policy", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                             help="Policy YAML (default: tally.policy in qa.yaml, else the bundled one).")


def _money(value: float) -> str:
    return f"{value:+,.2f}".rstrip("0").rstrip(".") if value else "0"


def print_tally(console: Console, tally: Tally, title: str) -> None:
    table = Table(title=title, show_lines=False)
    for header in ("排名", "工号", "姓名", "班组", "通话", "平均分", "绩效分", "等级", "高压线", "元", "处分", "标记 / 称号"):
        table.add_column(header, justify="right" if header in ("排名", "通话", "平均分", "绩效分", "高压线", "元") else "left")
    for a in tally.agents:
        table.add_row(str(a.rank) if a.rank else "—", a.code, a.name, a.team, str(a.calls),
                      f"{a.mean:.2f}" if a.mean is not None else "—", f"{a.score:.2f}" if a.score is not None else "—",
                      a.tier or "", str(a.fatal), _money(a.net_yuan), a.discipline or "", "、".join(a.flags + a.titles))
    console.print(table)
    totals = Table(title="班组与全中心")
    for header in ("班组", "坐席", "通话", "平均分", "上月", "高压线", "奖励", "扣款", "合计"):
        totals.add_column(header, justify="left" if header == "班组" else "right")
    for t in [*tally.teams, tally.centre]:
        totals.add_row(t.name, str(t.agents), str(t.calls), f"{t.mean:.2f}" if t.mean is not None else "—",
                       f"{t.previous_mean:.2f}" if t.previous_mean is not None else "—", str(t.fatal),
                       _money(t.reward_yuan), _money(t.penalty_yuan), _money(t.net_yuan))
    console.print(totals)


@click.command()
@MONTH_OPTION
@POLICY_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the whole tally as JSON, every line with its calls.")
@click.pass_obj
def tally(config: Config, month: str | None, policy: Path | None, as_json: bool) -> None:
    """The month's tally from confirmed calls and recorded events, as it stands now.

    Per agent: confirmed calls, mean and median score, performance points and score, tier, 高压线
    items, rewards and penalties in 元, warnings and flags; then team and centre totals. Only
    confirmed calls count (appeals decided so far included). Publishing is `qa rank --publish`.
    """
    loaded = policy_or_exit(config, policy)
    chosen = chosen_month(loaded, month)
    with config_session(config) as session:
        result = live_tally(session, loaded, chosen)
        latest = published(session, chosen)
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=1))
        return
    console = wide_console()
    print_tally(console, result, f"{chosen} 月度考核（草稿，{result.policy}）")
    if latest is not None:
        same = latest.digest == digest(result)
        console.print(f"已发布第 {latest.version} 版；"
                      + ("数字与之相同。" if same else "之后数字有变化：可用 qa rank --publish 发布新版。"))


@click.command()
@MONTH_OPTION
@click.option("--publish", "do_publish", is_flag=True, help="Freeze the ranking as the month's next version.")
@click.option("--note", default="", help="Why this version (required from the second version on).")
@POLICY_OPTION
@click.pass_obj
def rank(config: Config, month: str | None, do_publish: bool, note: str, policy: Path | None) -> None:
    """The month's ranking; with --publish, freeze it as a new version.

    Order: performance score (mean confirmed score plus the policy's points), then the policy's
    tie-breaks (default: fewer 高压线 items, more confirmed calls, higher median); agents still
    equal share a rank. Agents under ranking.min_calls are not ranked. Published versions never
    change: figures that change later (an appeal upheld) are published as the next version.
    """
    loaded = policy_or_exit(config, policy)
    chosen = chosen_month(loaded, month)
    console = wide_console()
    with config_session(config) as session:
        result = live_tally(session, loaded, chosen)
        table = Table(title=f"{chosen} 排名")
        for header in ("排名", "工号", "姓名", "绩效分", "高压线", "通话", "中位数", "奖项", "标记"):
            table.add_column(header)
        for a in (a for a in result.agents if a.ranked):
            awards = "、".join(f"{line.name}{_money(line.yuan) if line.yuan else ''}" for line in a.lines
                              if line.kind == "award")
            table.add_row(str(a.rank), a.code, a.name, f"{a.score:.2f}", str(a.fatal), str(a.calls),
                          f"{a.median:.2f}", awards, "、".join(a.flags))
        console.print(table)
        unranked = [a.code for a in result.agents if not a.ranked]
        if unranked:
            console.print(f"未排名（确认通话少于 {loaded.policy.ranking.min_calls} 通）：{'、'.join(unranked)}")
        if do_publish:
            row = publish(session, loaded, chosen, None, note)
            console.print(f"已发布 {chosen} 第 {row.version} 版（{row.policy}）。")
        for v in versions(session, chosen):
            console.print(f"v{v.version}  {v.published_at:%Y-%m-%d %H:%M} UTC  {v.publisher}  {v.note}")


@click.command("export")
@MONTH_OPTION
@click.option("--version", "version", type=int, help="A published version (default: the latest one).")
@click.option("--draft", is_flag=True, help="Export the figures as they stand now, not a published version.")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv"]), default="xlsx", show_default=True)
@click.option("--table", type=click.Choice(TABLES), default="summary", show_default=True,
              help="For CSV: which table (XLSX has them all).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="File to write.")
@POLICY_OPTION
@click.pass_obj
def export(config: Config, month: str | None, version: int | None, draft: bool, fmt: str, table: str,
           out: Path, policy: Path | None) -> None:
    """Write the month's tally for payroll: XLSX (月度汇总, 奖惩明细, 班组汇总, 说明) or CSV.

    By default the latest published version; a month not yet published needs --draft.
    """
    loaded = policy_or_exit(config, policy)
    chosen = chosen_month(loaded, month)
    with config_session(config) as session:
        if draft:
            result, label = live_tally(session, loaded, chosen), "草稿（未发布）"
        else:
            row = published(session, chosen, version)
            if row is None:
                which = f"version {version} of {chosen}" if version else f"{chosen}"
                raise click.ClickException(f"{which} is not published: publish with `qa rank --publish` "
                                           "or export the current figures with --draft")
            result, label = Tally.from_json(row.data), f"第 {row.version} 版，{row.published_at:%Y-%m-%d %H:%M} UTC 发布"
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "xlsx":
        with out.open("wb") as handle:
            write_xlsx(result, label, handle)
    else:
        with out.open("w", encoding="utf-8", newline="") as handle:
            write_csv(result, table, handle)
    click.echo(f"{out}: {chosen} {label}, {len(result.agents)} agents")


@click.group("entry")
def entry_group() -> None:
    """Record events (named praise, complaints ...) and adjustments for an agent's month."""


@entry_group.command("add")
@MONTH_OPTION
@click.option("--agent", "agent_code", required=True, help="Agent id (工号).")
@click.option("--kind", required=True, help=f"An event of the policy (praise, complaint ...) or {ADJUSTMENT}.")
@click.option("--quantity", type=int, default=1, show_default=True)
@click.option("--points", type=float, default=0.0, help="Adjustments: performance points (+/-).")
@click.option("--yuan", type=float, default=0.0, help="Adjustments: 元 (+ reward, - deduction).")
@click.option("--call", "call_id", type=int, help="The call it concerns, if any.")
@click.option("--note", default="", help="What happened; required for adjustments.")
@POLICY_OPTION
@click.pass_obj
def entry_add(config: Config, month: str | None, agent_code: str, kind: str, quantity: int, points: float,
              yuan: float, call_id: int | None, note: str, policy: Path | None) -> None:
    """Record one entry; the policy decides what an event is worth."""
    loaded = policy_or_exit(config, policy)
    chosen = chosen_month(loaded, month)
    with config_session(config) as session:
        agent = session.scalars(select(Agent).where(Agent.code == agent_code)).first()
        if agent is None:
            raise click.ClickException(f"no agent {agent_code!r}")
        row = add_entry(session, loaded, None, agent, chosen, kind, note, quantity, points, yuan, call_id)
        click.echo(f"recorded entry {row.id}: {agent_code} {chosen} {kind} ×{row.quantity}")


@click.group("policy")
def policy_group() -> None:
    """Check the reward-and-penalty policy (see docs/users.md, "Monthly tally")."""


@policy_group.command("validate")
@click.argument("file", required=False, type=click.Path(path_type=Path))
@click.pass_obj
def policy_validate(config: Config, file: Path | None) -> None:
    """Report every problem in a policy file with its line (default: the policy in use); exit 1 if any."""
    loaded = policy_or_exit(config, file)
    p = loaded.policy
    click.echo(f"{loaded.path}: ok (policy {p.id} v{p.version}: {len(p.rules)} rules, {len(p.event_rules)} event rules, "
               f"{len(p.awards)} awards)")
