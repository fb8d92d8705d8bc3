"""`qa score`, `qa process` and `qa checklist`: checklist scoring from the command line."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from qa.cli.batch import exit_if_failed, stderr, transcribe_each
from qa.cli.score_report import print_scorecard
from qa.config import Config
from qa.scoring.loader import (
    DEFAULTS_DIR,
    ChecklistError,
    RuleSet,
    checklist_files,
    load_checklist,
    load_rules,
    load_template,
)
from qa.scoring.schema import PhraseItem
from qa.scoring.scorecard import Scorecard

DIRECTION = click.Choice(["inbound", "outbound"])


def rules_or_exit(config: Config, checklists: Path | None = None, template: Path | None = None) -> RuleSet:
    """The checklists a command scores with; a bad file ends the command with every problem listed."""
    try:
        return load_rules(checklists or config.scoring.checklists_dir, template or config.scoring.template)
    except ChecklistError as exc:
        raise click.ClickException(f"the checklists cannot be used:\n{exc}") from exc


_Command = TypeVar("_Command", bound=Callable[..., Any])


def _rule_options(command: _Command) -> _Command:
    """The options every scoring command takes, on a command function not yet made a command."""
    for option in reversed([
        click.option("--checklists", type=click.Path(exists=True, file_okay=False, path_type=Path),
                     help="Folder of checklist YAML files (default: the bundled ones, or scoring.checklists_dir)."),
        click.option("--template", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="Scoring template YAML (default: scoring.yaml beside the checklists)."),
        click.option("--direction", type=DIRECTION,
                     help="Call direction for every call (default: inferred from the agent's opening)."),
        click.option("--json", "as_json", is_flag=True, help="Print scorecards as JSON (one per line)."),
        click.option("--out", type=click.Path(file_okay=False, path_type=Path),
                     help="Also write <call>.score.json files here."),
    ]):
        command = option(command)
    return command


def _emit(card: Scorecard, as_json: bool, out: Path | None) -> None:
    if out:
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{card.call_id}.score.json").write_text(card.to_json(), encoding="utf-8")
    if as_json:
        click.echo(json.dumps(card.to_dict(), ensure_ascii=False))
    else:
        print_scorecard(Console(), card)


@click.command()
@click.argument("transcripts", nargs=-1, required=True, type=click.Path(path_type=Path))
@_rule_options
@click.pass_obj
def score(config: Config, transcripts: tuple[Path, ...], checklists: Path | None, template: Path | None,
          direction: str | None, as_json: bool, out: Path | None) -> None:
    """Score transcripts (JSON from `qa transcribe --format json`) against the checklists.

    Re-scoring after a checklist change needs no re-transcription. Exit code 1 if any file
    could not be read.
    """
    from qa.scoring.engine import score_transcript
    from qa.speech.transcript import Transcript

    rules = rules_or_exit(config, checklists, template)
    failures = 0
    for path in transcripts:
        try:
            transcript = Transcript.load(path)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            failures += 1
            stderr.print(f"[red]error[/red] {path}: not a readable transcript ({type(exc).__name__}: {exc})",
                         highlight=False, soft_wrap=True)
            continue
        _emit(score_transcript(transcript, rules, direction), as_json, out)
    exit_if_failed(failures, len(transcripts))


@click.command()
@click.argument("audio", nargs=-1, required=True, type=click.Path(path_type=Path))
@_rule_options
@click.pass_obj
def process(config: Config, audio: tuple[Path, ...], checklists: Path | None, template: Path | None,
            direction: str | None, as_json: bool, out: Path | None) -> None:
    """Transcribe recordings and score them: the whole job for a batch of calls.

    With --out, each call's transcript (<call>.json) and scorecard (<call>.score.json) are kept,
    so a later `qa score` can re-score without transcribing again.
    """
    from qa.scoring.engine import score_transcript
    from qa.speech.transcript import to_json

    rules = rules_or_exit(config, checklists, template)  # a bad checklist stops the batch before any work
    failures = 0
    for path, transcript in transcribe_each(config, list(audio)):
        if transcript is None:
            failures += 1
            continue
        if out:
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{path.stem}.json").write_text(to_json(transcript), encoding="utf-8")
        _emit(score_transcript(transcript, rules, direction), as_json, out)
    exit_if_failed(failures, len(audio))


@click.group()
def checklist() -> None:
    """Check and list checklists (see docs/checklists.md)."""


@checklist.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(files: tuple[Path, ...]) -> None:
    """Report every problem in checklist or scoring-template files, with its line; exit 1 if any."""
    bad = 0
    for path in files:
        is_template = path.is_file() and "qa.scoring/" in path.read_text(encoding="utf-8", errors="replace")[:2000]
        try:
            if is_template:
                load_template(path)
            else:
                loaded = load_checklist(path)
        except ChecklistError as exc:
            bad += 1
            for problem in exc.problems:
                click.echo(problem)
            continue
        what = ("scoring template" if is_template
                else f"checklist {loaded.checklist.id}, {len(loaded.checklist.items)} items")
        click.echo(f"{path}: ok ({what})")
    if bad:
        raise click.ClickException(f"{bad} of {len(files)} file(s) have problems; nothing in them was loaded")


@checklist.command("copy")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def copy_checklists(directory: Path) -> None:
    """Copy the bundled checklists and scoring template into DIRECTORY, to be the centre's own:
    set scoring.checklists_dir to it. Accepting a suggested phrase edits only such a folder."""
    if directory.exists() and any(directory.iterdir()):
        raise click.ClickException(f"{directory} is not empty; nothing was copied")
    shutil.copytree(DEFAULTS_DIR, directory, dirs_exist_ok=True)
    click.echo(f"copied {len(checklist_files(directory))} checklists and the scoring template to {directory}; "
               f"set scoring.checklists_dir: {directory.resolve()} in qa.yaml")


@checklist.command("list")
@click.option("--checklists", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.pass_obj
def list_items(config: Config, checklists: Path | None) -> None:
    """Show every item of the checklists in use, its cost and its source in the centre documents."""
    rules = rules_or_exit(config, checklists)
    table = Table("item", "检查项", "type", "who", "cost", "source")
    for _, item in rules.items():  # a list of pairs, not a dict
        cost = "一票否决" if item.fatal else f"−{item.deduct:g}"
        table.add_row(item.id, item.name, item.type, item.speaker if isinstance(item, PhraseItem) else "",
                      cost, item.source)
    Console().print(table)
    click.echo(f"template {rules.template.id} v{rules.template.version}: base {rules.template.base:g}, grades "
               + ", ".join(f"{g.name} ≥ {g.min_score:g}" for g in rules.template.grades))
