"""Batches of recordings: one progress bar, one line per failed file, the batch goes on."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from qa.config import Config
from qa.errors import CallError
from qa.transcript import Transcript

stderr = Console(stderr=True)


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        TextColumn("{task.fields[current]}"), console=stderr, transient=False,
    )


def transcribe_each(config: Config, paths: list[Path]) -> Iterator[tuple[Path, Transcript | None]]:
    """Transcribe files one by one under a progress bar; a file that fails is reported in one
    line and yields None, and the batch goes on."""
    from qa.asr import ModelMissingError
    from qa.pipeline import SpeechPipeline

    pipeline = SpeechPipeline(config)
    with progress_bar() as progress:
        task = progress.add_task("transcribing", total=len(paths), current="", visible=len(paths) > 1)
        for path in paths:
            progress.update(task, current=path.name)
            try:
                transcript = pipeline.process(path)
            except CallError as exc:
                progress.console.print(f"[red]error[/red] {exc}", highlight=False, soft_wrap=True)
                transcript = None
            except ModelMissingError as exc:
                raise click.ClickException(str(exc)) from exc
            yield path, transcript
            progress.advance(task)


def exit_if_failed(failures: int, total: int) -> None:
    """End a batch command with exit code 1, saying how many files failed, if any did."""
    if failures:
        stderr.print(f"{failures} of {total} file(s) failed")
        sys.exit(1)
