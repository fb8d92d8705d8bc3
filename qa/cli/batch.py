"""Batches of recordings: one progress bar, one line per failed file, the batch goes on; `qa transcribe`."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from qa.config import Config
from qa.errors import CallError
from qa.speech.transcript import Transcript, render

stderr = Console(stderr=True)


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        TextColumn("{task.fields[current]}"), console=stderr, transient=False,
    )


def transcribe_each(config: Config, paths: list[Path]) -> Iterator[tuple[Path, Transcript | None]]:
    """Transcribe files one by one under a progress bar; a file that fails is reported in one
    line and yields None, and the batch goes on."""
    from qa.speech.pipeline import SpeechPipeline

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
            yield path, transcript
            progress.advance(task)


def exit_if_failed(failures: int, total: int) -> None:
    """End a batch command with exit code 1, saying how many files failed, if any did."""
    if failures:
        stderr.print(f"{failures} of {total} file(s) failed")
        sys.exit(1)


def transcribe_batch(config: Config, paths: list[Path], out: Path | None, formats: tuple[str, ...]) -> int:
    """Process each file, write or print its transcript; return the number of failures."""
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


@click.command()
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
