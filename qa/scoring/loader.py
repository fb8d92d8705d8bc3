"""Load checklists and the scoring template from YAML, all or nothing, with errors by line.

A file with any problem is not used at all; qa.yamlfile reports every problem by file and line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from qa.errors import QAError
from qa.scoring.context import PATTERN_CONDITIONS
from qa.scoring.patterns import Pattern, PatternError, Searcher, compile_pattern
from qa.scoring.schema import ITEM_KINDS, Checklist, ForbidItem, Item, ScoringTemplate
from qa.yamlfile import line_of, parse_model_file, problem_at

DEFAULTS_DIR = Path(__file__).resolve().parents[1] / "checklists"
TEMPLATE_FILE = "scoring.yaml"
# Item settings that hold patterns, and whether required phrases tolerate small edits there.
PATTERN_FIELDS = {"match": None, "unless_before": True, "before": True, "after": True}


class ChecklistError(QAError, ValueError):
    """One or more problems in checklist files; str() lists them one per line."""

    code = "checklist"

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
    """Everything scoring needs: the checklists in order, and the scoring template.

    `searcher` finds the keys of every phrase of the rule set in one pass per turn (None where
    the Aho-Corasick library is missing: each pattern then searches alone, to the same hits)."""

    checklists: list[LoadedChecklist]
    template: ScoringTemplate
    template_sha256: str
    direction_cues: dict[str, Pattern]
    searcher: Searcher | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.searcher is None and Searcher.available():
            patterns = [p for c in self.checklists for item in c.patterns.values() for p in item.values()]
            object.__setattr__(self, "searcher", Searcher([*patterns, *self.direction_cues.values()]))

    def items(self) -> list[tuple[LoadedChecklist, Item]]:
        return [(c, item) for c in self.checklists for item in c.checklist.items]


class _Compiled:
    """Patterns compiled once per rule set: the same YAML (an anchor and its aliases, the same
    list written twice) gives the same Pattern, so what it found in a text is found once."""

    def __init__(self) -> None:
        self._patterns: dict[tuple[str, bool], Pattern] = {}

    def __call__(self, raw: Any, fuzzy: bool) -> Pattern:
        key = (json.dumps(raw, ensure_ascii=False, sort_keys=True, default=repr), fuzzy)
        pattern = self._patterns.get(key)
        if pattern is None:
            pattern = self._patterns[key] = compile_pattern(raw, fuzzy)
        return pattern


def _compile_item_patterns(item: Item, index: int, path: Path, tree: yaml.Node | None,
                           problems: list[str], compiler: _Compiled) -> dict[str, Pattern]:
    compiled = {}
    for name, fuzzy in PATTERN_FIELDS.items():
        raw = getattr(item, name, None)
        if raw is None:
            continue
        try:
            compiled[name] = compiler(raw, item.type == "require" if fuzzy is None else fuzzy)
        except PatternError as exc:
            loc = ("items", index, name, *exc.path)
            problems.append(problem_at(path, tree, loc, str(exc)))
    forbid = item if isinstance(item, ForbidItem) else None
    # (where the pattern is kept, where inside that it lies, the pattern)
    nested: list[tuple[tuple[str | int, ...], tuple[str, ...], Any]] = [
        (("when", "customer_said"), (), item.when.customer_said if item.when else None),
        (("doubt_when", "customer_said"), (), forbid.doubt_when.customer_said if forbid and forbid.doubt_when else None)]
    for j, rule in enumerate(forbid.context or [] if forbid else []):
        for name, inner in PATTERN_CONDITIONS.items():
            raw = getattr(rule.if_, name) if rule.if_ else None
            for setting in inner if raw is not None else ():  # a condition holding its pattern among settings
                raw = getattr(raw, setting)
            nested.append((("context", j, "if", name), inner, raw))
    for where, inner, raw in nested:
        if raw is None:
            continue
        try:
            compiled[".".join(map(str, where))] = compiler(raw, False)
        except PatternError as exc:
            problems.append(problem_at(path, tree, ("items", index, *where, *inner, *exc.path), str(exc)))
    return compiled


def load_checklist(path: Path, compiler: _Compiled | None = None) -> LoadedChecklist:
    """One checklist file, fully valid, or ChecklistError listing every problem."""
    compiler = compiler or _Compiled()
    checklist, tree, problems, digest = parse_model_file(path, Checklist, frozenset(ITEM_KINDS))
    patterns: dict[str, dict[str, Pattern]] = {}
    if checklist is not None:
        seen: dict[str, int] = {}
        for i, item in enumerate(checklist.items):
            if item.id in seen:
                problems.append(f"{path}:{line_of(tree, ('items', i, 'id'))}: items[{i}].id: "
                                f"{item.id!r} is already used by items[{seen[item.id]}]")
            seen[item.id] = i
            patterns[item.id] = _compile_item_patterns(item, i, path, tree, problems, compiler)
    if problems:
        raise ChecklistError(problems)
    return LoadedChecklist(checklist, path, digest, patterns)


def load_template(path: Path, compiler: _Compiled | None = None) -> tuple[ScoringTemplate, str, dict[str, Pattern]]:
    compiler = compiler or _Compiled()
    template, tree, problems, digest = parse_model_file(path, ScoringTemplate)
    cues: dict[str, Pattern] = {}
    if template is not None:
        for direction in ("inbound", "outbound"):
            raw = getattr(template.direction, direction)
            if raw is None:
                continue
            try:
                cues[direction] = compiler(raw, False)
            except PatternError as exc:
                loc = ("direction", direction, *exc.path)
                problems.append(problem_at(path, tree, loc, str(exc)))
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
    compiler = _Compiled()
    files = checklist_files(directory)
    if not files:
        problems.append(f"{directory}: no checklist files (*.yaml) found")
    for path in files:
        try:
            loaded.append(load_checklist(path, compiler))
        except ChecklistError as exc:
            problems.extend(exc.problems)
    owners: dict[str, Path] = {}
    for checklist in loaded:
        for item in checklist.checklist.items:
            if item.id in owners:
                problems.append(f"{checklist.path}: item id {item.id!r} is also used in {owners[item.id]}")
            owners[item.id] = checklist.path
    try:
        parsed_template, digest, cues = load_template(template_path, compiler)
    except ChecklistError as exc:
        problems.extend(exc.problems)
    if problems:
        raise ChecklistError(problems)
    return RuleSet(loaded, parsed_template, digest, cues)
