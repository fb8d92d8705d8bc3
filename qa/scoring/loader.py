"""Load checklists and the scoring template from YAML, all or nothing, with errors by line.

A quality manager edits these files by hand, so every problem is reported at once with the
file, the line and what was expected, and a file with any problem is not used at all.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from qa.scoring.patterns import Pattern, PatternError, compile_pattern
from qa.scoring.schema import Checklist, Item, ScoringTemplate

DEFAULTS_DIR = Path(__file__).resolve().parents[1] / "checklists"
TEMPLATE_FILE = "scoring.yaml"
# Item settings that hold patterns, and whether required phrases tolerate small edits there.
PATTERN_FIELDS = {"match": None, "unless_before": True, "before": True, "after": True}


class ChecklistError(ValueError):
    """One or more problems in checklist files; str() lists them one per line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class LoadedChecklist:
    checklist: Checklist
    path: Path
    sha256: str
    patterns: dict[str, dict[str, Pattern]]  # item id -> setting -> compiled pattern


@dataclass(frozen=True)
class RuleSet:
    """Everything scoring needs: the checklists in order, and the scoring template."""

    checklists: list[LoadedChecklist]
    template: ScoringTemplate
    template_sha256: str
    direction_cues: dict[str, Pattern]

    def items(self) -> list[tuple[LoadedChecklist, Item]]:
        return [(c, item) for c in self.checklists for item in c.checklist.items]


def _line_of(node: yaml.Node | None, path: tuple[Any, ...]) -> int | None:
    """1-based line of the deepest node along `path` in a composed YAML tree."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in path:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == str(key)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            break
        if node is None:
            break
        line = node.start_mark.line + 1
    return line


def _where(path: tuple[Any, ...]) -> str:
    out = ""
    for key in path:
        out += f"[{key}]" if isinstance(key, int) else f".{key}" if out else str(key)
    return out or "(file)"


def _parse(path: Path, model: type[BaseModel]) -> tuple[Any, yaml.Node | None, list[str], str]:
    """Parse and validate one file: (model or None, YAML tree, problems, sha256)."""
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        return None, None, [f"{path}: cannot read: {exc.strerror}"], ""
    digest = hashlib.sha256(raw_bytes).hexdigest()
    try:
        text = raw_bytes.decode("utf-8")
        tree = yaml.compose(text)
        data = yaml.safe_load(text)
    except UnicodeDecodeError:
        return None, None, [f"{path}: not UTF-8 text"], digest
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        return None, None, [f"{path}{line}: not valid YAML: {getattr(exc, 'problem', exc)}"], digest
    if not isinstance(data, dict):
        return None, tree, [f"{path}:1: expected a mapping with schema, id, version, ... at the top"], digest
    try:
        return model.model_validate(data), tree, [], digest
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple("schema" if k == "schema_" else k for k in error["loc"])
            loc = tuple(k for k in loc if not (isinstance(k, str) and k.startswith(("function-", "literal["))))
            line = _line_of(tree, loc)
            message = error["msg"].removeprefix("Value error, ")
            got = error.get("input")
            quiet = error["type"] in ("missing", "value_error") or isinstance(got, dict | list)
            shown = "" if quiet else f" (got {got!r})"
            problems.append(f"{path}:{line or 1}: {_where(loc)}: {message}{shown}")
        return None, tree, problems, digest


def _compile_item_patterns(item: Item, index: int, path: Path, tree: yaml.Node | None,
                           problems: list[str]) -> dict[str, Pattern]:
    compiled = {}
    for name, fuzzy in PATTERN_FIELDS.items():
        raw = getattr(item, name)
        if raw is None:
            continue
        try:
            compiled[name] = compile_pattern(raw, item.type == "require" if fuzzy is None else fuzzy)
        except PatternError as exc:
            loc = ("items", index, name, *exc.path)
            problems.append(f"{path}:{_line_of(tree, loc)}: {_where(loc)}: {exc}")
    if item.when is not None and item.when.customer_said is not None:
        try:
            compiled["when.customer_said"] = compile_pattern(item.when.customer_said, False)
        except PatternError as exc:
            loc = ("items", index, "when", "customer_said", *exc.path)
            problems.append(f"{path}:{_line_of(tree, loc)}: {_where(loc)}: {exc}")
    return compiled


def load_checklist(path: Path) -> LoadedChecklist:
    """One checklist file, fully valid, or ChecklistError listing every problem."""
    checklist, tree, problems, digest = _parse(path, Checklist)
    patterns: dict[str, dict[str, Pattern]] = {}
    if checklist is not None:
        seen: dict[str, int] = {}
        for i, item in enumerate(checklist.items):
            if item.id in seen:
                problems.append(f"{path}:{_line_of(tree, ('items', i, 'id'))}: items[{i}].id: "
                                f"{item.id!r} is already used by items[{seen[item.id]}]")
            seen[item.id] = i
            patterns[item.id] = _compile_item_patterns(item, i, path, tree, problems)
    if problems:
        raise ChecklistError(problems)
    return LoadedChecklist(checklist, path, digest, patterns)


def load_template(path: Path) -> tuple[ScoringTemplate, str, dict[str, Pattern]]:
    template, tree, problems, digest = _parse(path, ScoringTemplate)
    cues: dict[str, Pattern] = {}
    if template is not None:
        for direction in ("inbound", "outbound"):
            raw = getattr(template.direction, direction)
            if raw is None:
                continue
            try:
                cues[direction] = compile_pattern(raw, False)
            except PatternError as exc:
                loc = ("direction", direction, *exc.path)
                problems.append(f"{path}:{_line_of(tree, loc)}: {_where(loc)}: {exc}")
    if problems:
        raise ChecklistError(problems)
    return template, digest, cues


def checklist_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.yaml") if p.name != TEMPLATE_FILE)


def load_rules(directory: Path | None = None, template: Path | None = None) -> RuleSet:
    """Every checklist in `directory` (default: the bundled ones) and the scoring template.

    All files are checked before any is used; item ids must be unique across checklists.
    """
    directory = directory or DEFAULTS_DIR
    template_path = template or (directory / TEMPLATE_FILE if (directory / TEMPLATE_FILE).exists()
                                 else DEFAULTS_DIR / TEMPLATE_FILE)
    problems: list[str] = []
    loaded: list[LoadedChecklist] = []
    files = checklist_files(directory)
    if not files:
        problems.append(f"{directory}: no checklist files (*.yaml) found")
    for path in files:
        try:
            loaded.append(load_checklist(path))
        except ChecklistError as exc:
            problems.extend(exc.problems)
    owners: dict[str, Path] = {}
    for checklist in loaded:
        for item in checklist.checklist.items:
            if item.id in owners:
                problems.append(f"{checklist.path}: item id {item.id!r} is also used in {owners[item.id]}")
            owners[item.id] = checklist.path
    try:
        parsed_template, digest, cues = load_template(template_path)
    except ChecklistError as exc:
        problems.extend(exc.problems)
    if problems:
        raise ChecklistError(problems)
    return RuleSet(loaded, parsed_template, digest, cues)
