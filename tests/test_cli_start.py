"""The `qa` command starts without loading what it does not need: `qa --help` lists every command
from its table without importing one, and the table says what each command's own help says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click

from qa.cli.main import LAZY_COMMANDS, main

HEAVY = ("sklearn", "scipy", "flask", "faster_whisper", "ctranslate2", "onnxruntime", "sqlalchemy", "numpy",
         "openpyxl", "jieba", "pypinyin")


def _imported_after(code: str) -> list[str]:
    """The heavy top-level packages a fresh interpreter has imported after running `code`."""
    probe = (f"import sys\n{code}\n"
             f"print('loaded:', *sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return done.stdout.splitlines()[-1].split()[1:]


def test_help_lists_every_command_and_imports_none_of_the_heavy_libraries() -> None:
    shown = subprocess.run([str(Path(sys.executable).parent / "qa"), "--help"], capture_output=True, text=True, check=True).stdout
    assert all(f"  {name} " in shown for name in [*LAZY_COMMANDS, "transcribe", "models", "demo"])
    assert _imported_after("from qa.cli.main import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass") == []


def test_scoring_loads_the_scoring_stack_only() -> None:
    loaded = _imported_after("import qa.cli.scoring")
    assert not {"sklearn", "flask", "faster_whisper", "ctranslate2", "onnxruntime"} & set(loaded)


def test_the_table_says_what_each_command_says() -> None:
    context = click.Context(main)
    for name, (_, _, summary) in LAZY_COMMANDS.items():
        command = main.get_command(context, name)
        assert command is not None and command.name == name
        assert command.get_short_help_str(limit=1000) == summary, name
