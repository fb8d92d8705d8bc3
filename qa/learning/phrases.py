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
from sqlalchemy import select
from sqlalchemy.orm import Session

from qa.access import MANAGERS
from qa.audit import record
from qa.config import Config
from qa.db.models import PhraseDecision, User
from qa.review.actions import InvalidAction, PermissionDenied
from qa.scoring.loader import ChecklistError, checklist_files, load_rules


class PhraseError(InvalidAction):
    """The phrase cannot be added by itself; `code` and the message say why and what to do."""


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
    raise PhraseError("phrase_item_unknown", f"no checklist in {directory} has the item {item_id}", item=item_id)


def add_phrase(directory: Path, item_id: str, phrase: str) -> tuple[Path, int]:
    """Add `phrase` to the item's phrases; returns (the file changed, the checklist's new version)."""
    path, document, item = _find(directory, item_id)
    match = item.get("match")
    if isinstance(match, str):
        item["match"] = match = CommentedSeq([match])
        match.fa.set_flow_style()
    if not isinstance(match, CommentedSeq):
        raise PhraseError("phrase_combined", f"{path.name}: {item_id} combines phrases (all / any / none / "
                          f"unless); add “{phrase}” to it by hand", file=path.name, item=item_id, phrase=phrase)
    if phrase in match:
        raise PhraseError("phrase_present", f"{path.name}: {item_id} already has “{phrase}”", item=item_id,
                          phrase=phrase)
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
            raise PhraseError("phrase_breaks", f"the checklists would not load with “{phrase}” added:\n{exc}",
                              phrase=phrase) from exc
        staged = path.with_name(f".{path.name}.new")
        shutil.copyfile(trial / path.name, staged)
    os.replace(staged, path)
    return path, int(document["version"])


def decide_phrase(session: Session, config: Config, user: User | None, item: str, phrase: str, accept: bool,
                  model_version: int | None = None) -> PhraseDecision:
    """A manager accepts a suggested phrase (it is added to the centre's checklist file in
    scoring.checklists_dir) or rejects it (it is not suggested again); `user` None is the
    command line. The bundled checklists are never edited: accepting needs a folder of the centre's own."""
    if user is not None and user.role not in MANAGERS:
        raise PermissionDenied("not_manager", "only managers decide on suggested phrases")
    if session.scalars(select(PhraseDecision).where(PhraseDecision.item == item, PhraseDecision.phrase == phrase)
                       ).first() is not None:
        raise PhraseError("phrase_decided", f"“{phrase}” for {item} has been decided already", item=item,
                          phrase=phrase)
    decision = PhraseDecision(item=item, phrase=phrase, decision="accepted" if accept else "rejected",
                              model_version=model_version, decided_by=user.id if user else None)
    session.add(decision)
    session.flush()  # a second manager deciding at the same moment fails here, before any file changes
    if accept:
        directory = config.scoring.checklists_dir
        if directory is None:
            raise PhraseError("no_own_checklists", "scoring.checklists_dir is not set, and the bundled checklists "
                              "are not edited: copy them with `qa checklist copy DIR` and set scoring.checklists_dir")
        path, version = add_phrase(directory, item, phrase)
        decision.note = f"{path.name} v{version}"
    record(session, user, "decide_phrase", "phrase_decision", decision.id, None, None,
           {"item": item, "phrase": phrase, "decision": decision.decision, "note": decision.note})
    return decision
