"""The layout shows the architecture (docs/developers.md): the terminal libraries only in the
command layer, and no two packages of qa/ importing each other round a loop."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from qa.bundled import CHECKOUT

QA = CHECKOUT / "qa"
TERMINAL = {"click", "rich"}
# The web's process runner turns gunicorn's absence into the command's error.
TERMINAL_ALLOWED = {CHECKOUT / "web" / "processes.py"}


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def test_click_and_rich_are_used_only_by_the_commands() -> None:
    offenders = [
        str(path.relative_to(CHECKOUT))
        for path in [*QA.rglob("*.py"), *(CHECKOUT / "web").rglob("*.py")]
        if path.parent != QA / "cli" and path not in TERMINAL_ALLOWED
        and any(name.split(".")[0] in TERMINAL for name in _imports(path))
    ]
    assert offenders == []


def test_no_two_packages_import_each_other() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for path in QA.rglob("*.py"):
        source = path.relative_to(QA).parts[0].removesuffix(".py")
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] == "qa" and len(parts) > 1 and parts[1] != source:
                graph[source].add(parts[1])

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(step == goal or (step not in seen and reaches(step, goal, seen | {step}))
                   for step in graph[start])

    loops = sorted(package for package in list(graph) if reaches(package, package, {package}))
    assert loops == []
    later = {"db", "work", "review", "tally", "learning", "cli"}
    assert graph["speech"] & (later | {"scoring"}) == set()
    assert graph["scoring"] & later == set()
