"""`qa demo`: the whole product on the bundled sample calls, from an empty machine to a served UI.

It creates the embedded database, ingests samples/calls with samples/metadata.csv, processes
every queued call (transcribe, diarize, score) under a progress bar, creates one demo user per
role with a fresh random password (printed), and serves the review UI. Running it again keeps
what was processed (the same audio is the same call) and gives the demo users new passwords.
The months of history around the samples are qa/demo_history.py's.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from qa.access import CallState, JobState, Role
from qa.bundled import bundled
from qa.cli.batch import progress_bar
from qa.config import Config
from qa.db.models import Agent, Call, Job, User
from qa.db.session import Database
from qa.files import AUDIO_SUFFIXES
from qa.scoring.loader import RuleSet
from qa.work.ingest import IngestError, ingest_file, read_metadata_csv, safe_name
from qa.work.jobs import Worker

SAMPLES = bundled("samples")


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    display_name: str
    agent_code: str | None = None


# Two inspectors, because an appeal is decided by an inspector other than the one who confirmed.
# The agents are those of c06 (不知道: something to appeal) and c02/c09 (two good calls).
DEMO_USERS = (
    DemoUser("admin", Role.ADMIN, "系统管理员"),
    DemoUser("manager", Role.MANAGER, "陈主管"),
    DemoUser("inspector", Role.INSPECTOR, "王质检"),
    DemoUser("inspector2", Role.INSPECTOR, "赵质检"),
    DemoUser("a1006", Role.AGENT, "杨磊", "A1006"),
    DemoUser("a1002", Role.AGENT, "王芳", "A1002"),
)


def ingest_samples(db: Database, config: Config, console: Console) -> None:
    sheet = read_metadata_csv(SAMPLES / "metadata.csv")
    for problem in sheet.problems:
        console.print(f"[yellow]metadata[/yellow] {problem}", highlight=False)
    paths = sorted(p for p in (SAMPLES / "calls").iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)
    for path in paths:
        try:
            result = ingest_file(db, config, path, path.name, sheet.rows.get(safe_name(path.name)))
        except IngestError as exc:
            console.print(f"[red]error[/red] {path.name}: {exc}", highlight=False)
            continue
        console.print(f"{'stored ' if result.created else 'kept   '} {path.name}: {result.message}", highlight=False)


def process_queue(db: Database, config: Config, rules: RuleSet) -> None:
    """Run every queued job in this process, with a progress bar over the calls."""
    with db.session() as session:
        queued = session.scalar(select(Job.id).where(Job.state == JobState.QUEUED).limit(1)) is not None
        total = len(session.scalars(select(Job.id).where(Job.state.in_((JobState.QUEUED, JobState.RUNNING)))).all())
    if not queued:
        return
    with progress_bar() as progress:
        task = progress.add_task("processing", total=total, current="")

        def update(job: Job, call: Call) -> None:
            progress.update(task, current=f"{call.original_name} {job.stage}")
            if job.state in (JobState.DONE, JobState.FAILED):
                progress.advance(task)

        Worker(db, config, rules, on_update=update).run(stop_when_idle=True)


def reset_demo_users(db: Database) -> list[tuple[DemoUser, str]]:
    """Create the demo users (or give them new passwords); return each with its password."""
    issued = []
    with db.session() as session:
        for demo in DEMO_USERS:
            password = secrets.token_urlsafe(8)
            user = session.scalar(select(User).where(User.username == demo.username))
            if user is None:
                user = User(username=demo.username, role=demo.role, display_name=demo.display_name)
                session.add(user)
            user.password_hash = generate_password_hash(password)
            if demo.agent_code:
                user.agent_id = session.scalar(select(Agent.id).where(Agent.code == demo.agent_code))
            issued.append((demo, password))
    return issued


def print_summary(db: Database, console: Console, users: list[tuple[DemoUser, str]], url: str) -> None:
    with db.session() as session:
        calls = session.scalars(select(Call).where(Call.audio_path != "").order_by(Call.id)).all()  # recorded ones
        table = Table("call", "agent", "state", "score", "grade")
        for call in calls:
            agent = call.agent.code if call.agent else ""
            score = "" if call.score is None else f"{call.score:g}"
            grade = call.grade + (" 高压线" if call.fatal else "") if call.state != CallState.FAILED else call.error
            table.add_row(call.original_name, agent, call.state, score, grade)
    console.print(table)
    accounts = Table("user", "role", "name", "password", title=f"Log in at {url}")
    for demo, password in users:
        accounts.add_row(demo.username, demo.role, demo.display_name, password)
    console.print(accounts)


@click.command()
@click.option("--no-serve", is_flag=True, help="Process the samples and print the accounts, then exit.")
@click.option("--bare", is_flag=True, help="Only the recorded samples, without the demo months of history.")
@click.option("--host", help="Address to serve on (default: web.host, 127.0.0.1).")
@click.option("--port", type=int, help="Port to serve on (default: web.port, 5000).")
@click.pass_obj
def demo(config: Config, no_serve: bool, bare: bool, host: str | None, port: int | None) -> None:
    """The whole product on the bundled sample calls: database, processing, users, review UI.

    Creates the embedded database in the data directory, loads samples/calls with
    samples/metadata.csv, transcribes and scores them, creates one demo user per role with a
    new password (printed), adds two months of reviewed, appealed, tallied and learned-from
    text-level calls (not with --bare), and serves the UI. Safe to run again.
    """
    from qa.cli.scoring import rules_or_exit
    from qa.cli.serve import serve_app
    from qa.db.session import open_database, upgrade

    console = Console()
    rules = rules_or_exit(config)
    database = open_database(config)
    upgrade(database)
    ingest_samples(database, config, console)
    process_queue(database, config, rules)
    users = reset_demo_users(database)
    if not bare:
        from qa.cli.tally import policy_or_exit
        from qa.demo_history import build_history

        build_history(database, config, rules, policy_or_exit(config), console.print)
    url = f"http://{host or config.web.host}:{port or config.web.port}/"
    print_summary(database, console, users, url)
    if not no_serve:
        serve_app(config, database, host, port, worker=True)
