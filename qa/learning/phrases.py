"""Accepting a suggested phrase: add it to the item's `match` list in the centre's checklist YAML
and raise the checklist's version, keeping the file's comments and layout (ruamel.yaml round
trip). The whole folder is loaded with the change before the file is replaced, so an edit that
would break the checklists never lands.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from qa.scoring.loader import ChecklistError, checklist_files, load_rules


class PhraseError(Exception):
    """The phrase cannot be added by itself; the message says why and what to do."""


def _yaml() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap the centre's long lines
    yaml.indent(mapping=2, sequence=4, offset=2)  # the bundled files' layout
    return yaml


def _find(directory: Path, item_id: str) -> tuple[Path, CommentedMap, CommentedMap]:
    for path in checklist_files(directory):
        document = _yaml().load(path.read_text(encoding="utf-8"))
        for item in (document or {}).get("items") or []:
            if isinstance(item, CommentedMap) and item.get("id") == item_id:
                return path, document, item
    raise PhraseError(f"no checklist in {directory} has the item {item_id}")


def add_phrase(directory: Path, item_id: str, phrase: str) -> tuple[Path, int]:
    """Add `phrase` to the item's phrases; returns (the file changed, the checklist's new version)."""
    path, document, item = _find(directory, item_id)
    match = item.get("match")
    if isinstance(match, str):
        item["match"] = match = CommentedSeq([match])
        match.fa.set_flow_style()
    if not isinstance(match, CommentedSeq):
        raise PhraseError(f"{path.name}: {item_id} combines phrases (all / any / none / unless); "
                          f"add “{phrase}” to it by hand")
    if phrase in match:
        raise PhraseError(f"{path.name}: {item_id} already has “{phrase}”")
    match.append(phrase)
    document["version"] = int(document.get("version", 0)) + 1
    with tempfile.TemporaryDirectory() as scratch:
        trial = Path(scratch) / "checklists"
        shutil.copytree(directory, trial)
        with (trial / path.name).open("w", encoding="utf-8") as out:
            _yaml().dump(document, out)
        try:
            load_rules(trial)
        except ChecklistError as exc:
            raise PhraseError(f"the checklists would not load with “{phrase}” added:\n{exc}") from exc
        staged = path.with_name(f".{path.name}.new")
        shutil.copyfile(trial / path.name, staged)
    os.replace(staged, path)
    return path, int(document["version"])
