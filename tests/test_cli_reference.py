"""docs/cli.md is the commands' own --help: regenerate it when a command changes."""

from __future__ import annotations

from pathlib import Path

from qa.cli.reference import reference

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_the_command_reference_is_current() -> None:
    assert (DOCS / "cli.md").read_text(encoding="utf-8") == reference(), \
        "docs/cli.md is out of date: run .venv/bin/python -m qa.cli.reference > docs/cli.md"


def test_every_page_the_readme_points_to_exists() -> None:
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    for page in ("operators", "users", "checklists", "benchmarks", "developers", "cli"):
        assert f"(docs/{page}.md)" in readme and (DOCS / f"{page}.md").is_file()
