"""Hand-edited YAML files validated by pydantic, with every problem reported by file and line.

Checklists, the scoring template and the reward-and-penalty policy are all written by a quality
manager: each problem is reported at once with the file, the line and what was expected.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError


def line_of(node: yaml.Node | None, path: tuple[Any, ...]) -> int | None:
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


def where(path: tuple[Any, ...]) -> str:
    """A location as the user wrote it: items[3].match."""
    out = ""
    for key in path:
        out += f"[{key}]" if isinstance(key, int) else f".{key}" if out else str(key)
    return out or "(file)"


def problem_at(path: Path, tree: yaml.Node | None, loc: tuple[Any, ...], message: str) -> str:
    """One problem line: file:line: location: message."""
    return f"{path}:{line_of(tree, loc) or 1}: {where(loc)}: {message}"


# libyaml's parser where PyYAML was built with it (the wheels are): twenty times faster than the
# pure-Python one, which `qa score` would otherwise spend most of its start on.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _parse(text: str) -> tuple[yaml.Node | None, Any]:
    """The YAML tree (for line numbers) and the data built from it, in one parse."""
    loader = _LOADER(text)
    try:
        tree = loader.get_single_node()
        return tree, loader.construct_document(tree) if tree is not None else None
    finally:
        loader.dispose()


def parse_model_file(path: Path, model: type[BaseModel], tags: frozenset[str] = frozenset()
                     ) -> tuple[Any, yaml.Node | None, list[str], str]:
    """Parse and validate one file: (model or None, YAML tree, problems, sha256). `tags` are the
    kinds of a list of tagged unions (a checklist's item types): pydantic puts the kind after the
    index in an error's location, and the user did not write it there."""
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        return None, None, [f"{path}: cannot read: {exc.strerror}"], ""
    digest = hashlib.sha256(raw_bytes).hexdigest()
    try:
        text = raw_bytes.decode("utf-8")
        tree, data = _parse(text)
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
            loc = tuple(k for i, k in enumerate(loc) if not (k in tags and i and isinstance(loc[i - 1], int)))
            message = error["msg"].removeprefix("Value error, ")
            got = error.get("input")
            quiet = error["type"] in ("missing", "value_error") or isinstance(got, dict | list)
            shown = "" if quiet else f" (got {got!r})"
            problems.append(problem_at(path, tree, loc, f"{message}{shown}"))
        return None, tree, problems, digest
