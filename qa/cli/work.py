"""`qa ingest`, `qa worker`, `qa rescore` and `qa retry`: the call queue from the command line."""

from __future__ import annotations

import os
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path

import click
from rich.console import Console
from sqlalchemy import func, select

from qa.access import CallState, JobState
from qa.cli.batch import exit_if_failed, progress_bar, stderr
from qa.cli.db import connected
from qa.cli.scoring import rules_or_exit
from qa.config import Config
from qa.db.models import Call, Job
from qa.db.session import Database
from qa.files import AUDIO_SUFFIXES
from qa.work.ingest import LINK_REFUSED, IngestError, MetadataSheet, ingest_file, read_metadata_csv, safe_name


@dataclass
class Found:
    """What a look through the paths found: recordings, metadata CSV files, and the symbolic links
    met in the folders, each with why it is refused."""

    files: list[Path] = field(default_factory=list)
    sheets: list[Path] = field(default_factory=list)
    refused: list[tuple[Path, str]] = field(default_factory=list)


def recordings_in(paths: tuple[Path, ...]) -> Found:
    """The recordings named, folders searched through (audio suffixes only, in name order, never
    through a symbolic link), and the CSV files found in those folders."""
    found = Found()
    for path in paths:
        if not path.is_dir():
            found.files.append(path)  # a link named on the command line is refused when stored
            continue
        inside = Found()
        for folder, dirs, names in os.walk(path):  # does not descend into linked folders
            for name in dirs:
                if (Path(folder) / name).is_symlink():
                    inside.refused.append((Path(folder) / name, "是指向文件夹的符号链接，不进入"))
            for name in names:
                entry, suffix = Path(folder) / name, Path(name).suffix.lower()
                if suffix not in AUDIO_SUFFIXES and suffix != ".csv":
                    continue
                if entry.is_symlink():
                    inside.refused.append((entry, LINK_REFUSED))
                elif entry.is_file():
                    (inside.files if suffix in AUDIO_SUFFIXES else inside.sheets).append(entry)
        found.files += sorted(inside.files)
        found.sheets += sorted(inside.sheets)
        found.refused += sorted(inside.refused)
    return found


class _Batch:
    """Stores files one by one, printing a line each and counting what happened."""

    def __init__(self, database: Database, config: Config, metadata: Path | None) -> None:
        self.database, self.config, self.metadata = database, config, metadata
        self.counts = {"stored": 0, "already uploaded": 0, "error": 0}
        self.sheet = self.read_sheet()

    def read_sheet(self) -> MetadataSheet | None:
        sheet = read_metadata_csv(self.metadata) if self.metadata else None
        for problem in sheet.problems if sheet else []:
            stderr.print(f"[yellow]bad row, ignored[/yellow] {problem}", highlight=False, soft_wrap=True)
        return sheet

    def store(self, path: Path, console: Console) -> None:
        row = self.sheet.rows.get(safe_name(path.name)) if self.sheet else None
        try:
            result = ingest_file(self.database, self.config, path, path.name, row)
            label = "stored" if result.created else "already uploaded"
            console.print(f"{label}  {path}: {result.message}", highlight=False, soft_wrap=True)
        except IngestError as exc:
            self.refuse(path, str(exc), console)
            return
        self.counts[label] += 1

    def refuse(self, path: Path, reason: str, console: Console) -> None:
        console.print(f"[red]error[/red]  {path}: {reason}", highlight=False, soft_wrap=True)
        self.counts["error"] += 1

    def summary(self) -> str:
        c = self.counts
        return (f"{sum(c.values())} file(s): {c['stored']} stored and queued, {c['already uploaded']} already "
                f"uploaded (not queued again), {c['error']} could not be stored"
                + (f"; {len(self.sheet.problems)} bad CSV row(s)" if self.sheet and self.sheet.problems else ""))


def _watch(batch: _Batch, paths: tuple[Path, ...], seen: set[Path], interval: float) -> None:
    """Store recordings that appear in the folders, once their size has stopped changing (a file
    still being copied is left for the next look), until SIGTERM or Ctrl-C."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signal, _frame: stop.set())
    console = Console()
    console.print(f"watching {', '.join(map(str, paths))} every {interval:g} s (Ctrl-C to stop)", highlight=False)
    sizes: dict[Path, int] = {}
    read_at = batch.metadata.stat().st_mtime if batch.metadata else None
    try:
        while not stop.wait(interval):
            if batch.metadata and batch.metadata.stat().st_mtime != read_at:  # rows for the new files
                read_at = batch.metadata.stat().st_mtime
                batch.sheet = batch.read_sheet()
            found = recordings_in(paths)
            for path, reason in found.refused:
                if path not in seen:
                    seen.add(path)
                    batch.refuse(path, reason, console)
            for path in found.files:
                if path in seen:
                    continue
                size = path.stat().st_size
                if sizes.get(path) == size:
                    seen.add(path)
                    batch.store(path, console)
                else:
                    sizes[path] = size
    except KeyboardInterrupt:
        pass


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--metadata", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV describing the recordings: file, agent_id, agent_name, team, direction, started_at, "
                   "customer_number, satisfaction (or 文件, 坐席工号, 坐席姓名, 班组, 呼叫方向, 开始时间, 客户号码, 满意度). "
                   "Default: the one CSV file in a folder given.")
@click.option("--watch", is_flag=True, help="Then keep watching the folders and store new recordings as they arrive.")
@click.option("--interval", type=float, default=5.0, show_default=True, help="Seconds between looks, with --watch.")
@click.pass_obj
def ingest(config: Config, paths: tuple[Path, ...], metadata: Path | None, watch: bool, interval: float) -> None:
    """Store recordings and queue them for `qa worker`; one line per file, then a summary.

    PATHS are recordings or folders of them (searched through, audio files only). A recording
    already stored (same audio, whatever its name) is not queued again. Files without a CSV row
    are described by their name if it reads <agent_id>_<YYYYmmdd-HHMMSS>_<in|out>.<ext>, else
    stored without an agent. Start times without an offset are China time. With --watch the
    command stays, storing each new recording once it is completely written, until SIGTERM or
    Ctrl-C. Exit code 1 if any file could not be stored.
    """
    found = recordings_in(paths)
    files, sheets = found.files, found.sheets
    if metadata is None and len(sheets) == 1:
        metadata = sheets[0]
        stderr.print(f"metadata from {metadata}", highlight=False, soft_wrap=True)
    elif metadata is None and len(sheets) > 1:
        raise click.UsageError(f"{len(sheets)} CSV files in the folder: say which with --metadata")
    if not files and not found.refused and not watch:
        raise click.UsageError("no recordings found (audio suffixes: " + ", ".join(sorted(AUDIO_SUFFIXES)) + ")")
    with connected(config) as database:
        batch = _Batch(database, config, metadata)
        with progress_bar() as progress:
            for path, reason in found.refused:
                batch.refuse(path, reason, progress.console)
            task = progress.add_task("storing", total=len(files), current="", visible=len(files) > 1)
            for path in files:
                progress.update(task, current=path.name)
                batch.store(path, progress.console)
                progress.advance(task)
        if watch:
            _watch(batch, paths, set(files) | {path for path, _ in found.refused}, interval)
    click.echo(batch.summary())
    exit_if_failed(batch.counts["error"], sum(batch.counts.values()))


@click.command()
@click.option("--once", is_flag=True, help="Exit when no job is left instead of waiting for new ones.")
@click.option("--name", help="Worker name recorded on the jobs it takes (default: host:pid).")
@click.option("--poll", type=float, default=2.0, show_default=True,
              help="Seconds between looks at an empty queue.")
@click.option("--stale-after", type=float,
              help="Take back jobs whose worker has given no sign of life this many seconds: it died "
                   "(default: jobs.stale_after_s, 60).")
@click.pass_obj
def worker(config: Config, once: bool, name: str | None, poll: float, stale_after: float | None) -> None:
    """Process queued calls: transcribe, score and store each; one line per call.

    Run as many as the machine has room for (on PostgreSQL, on several machines): each job is
    taken by one worker, which records a heartbeat while it works. A job whose worker died
    (killed, machine lost) is taken back by another worker after --stale-after seconds, and
    parked as failed after jobs.max_attempts such deaths. SIGTERM finishes the current call,
    then exits; Ctrl-C puts the current call back in the queue at once. With --once the exit
    code is 1 if any call failed.

    With jobs.queue: celery the worker takes its jobs through the Celery broker (jobs.broker_url)
    instead of looking at the database, so workers on other machines share the load
    (docs/operators.md: scale-out); --once still takes the queued jobs straight from the database.
    """
    from qa.work.jobs import Worker

    if stale_after is not None:
        config = config.model_copy(update={"jobs": config.jobs.model_copy(update={"stale_after_s": stale_after})})

    rules = rules_or_exit(config)
    failures = 0
    with connected(config) as database, progress_bar() as progress:
        with database.session() as session:
            queued = session.scalar(select(func.count()).select_from(Job).where(Job.state == JobState.QUEUED))
        overall = progress.add_task("calls", total=queued if once else None, current="")
        stage = progress.add_task("", total=1.0, current="", visible=False)

        def on_update(job: Job, call: Call) -> None:
            nonlocal failures
            if job.state == JobState.RUNNING:
                progress.update(stage, description=f"call {call.id}", completed=job.progress,
                                current=f"{job.stage} · {call.original_name}", visible=True)
                return
            progress.update(stage, visible=False)
            progress.advance(overall)
            if job.state == JobState.FAILED:
                failures += 1
                line = f"[red]failed[/red]  call {call.id} {call.original_name}: {job.error}"
            else:
                line = (f"scored  call {call.id} {call.original_name}: {call.score:g} {call.grade}"
                        + (" 高压线" if call.fatal else ""))
            progress.console.print(line, highlight=False, soft_wrap=True)

        runner = Worker(database, config, rules, name=name, poll_s=poll, on_update=on_update)

        def finish_then_stop(_signal: int, _frame: object) -> None:
            progress.console.print("SIGTERM: finishing the current call, then stopping")
            runner.stop()

        signal.signal(signal.SIGTERM, finish_then_stop)
        processed = 0
        try:
            if config.jobs.queue == "celery" and not once:
                from qa.work.celery_worker import run_celery_worker

                run_celery_worker(runner)  # Celery handles SIGTERM the same way: the current call ends first
            else:
                processed = runner.run(stop_when_idle=once)
        except KeyboardInterrupt:
            raise click.Abort() from None
    if once:
        click.echo(f"{processed} call(s) processed" if processed else "no call was queued")
        exit_if_failed(failures, processed)


@click.command()
@click.argument("call_ids", nargs=-1, type=int)
@click.pass_obj
def rescore(config: Config, call_ids: tuple[int, ...]) -> None:
    """Score stored transcripts again with the current checklists, without transcribing again.

    CALL_IDS: only these calls; default: every processed call not yet confirmed by an inspector
    (confirmed calls keep their scores). Inspectors' decisions on items are kept.
    """
    from qa.work.persist import rescore as rescore_calls

    rules = rules_or_exit(config)
    with connected(config) as database:
        done = rescore_calls(database, rules, list(call_ids) or None, config.review.sample_rate)
    skipped = sorted(set(call_ids) - set(done))
    click.echo(f"re-scored {len(done)} call(s)"
               + (f"; not re-scored (confirmed, unprocessed or unknown): {skipped}" if skipped else ""))


@click.command()
@click.argument("call_ids", nargs=-1, type=int)
@click.pass_obj
def retry(config: Config, call_ids: tuple[int, ...]) -> None:
    """Queue failed calls for processing again (after fixing what made them fail).

    CALL_IDS: only these calls; default: every failed call.
    """
    from qa.work.jobs import retry as retry_call

    with connected(config) as database:
        if not call_ids:
            with database.session() as session:
                call_ids = tuple(session.scalars(select(Call.id).where(Call.state == CallState.FAILED).order_by(Call.id)))
        problems = []
        for call_id in call_ids:
            try:
                retry_call(database, config, call_id)
            except ValueError as exc:
                problems.append(str(exc))
    for problem in problems:
        stderr.print(f"[red]error[/red] {problem}", highlight=False)
    click.echo(f"queued {len(call_ids) - len(problems)} call(s) again; run `qa worker` to process them")
    exit_if_failed(len(problems), len(call_ids))

