"""What `pip install .` ships beside the code: everything qa/bundled.py looks up outside a checkout
(the model manifest and its skeletons for `qa models install`, the demo's samples) is named in
pyproject.toml's data-files, so an installed package finds it under <prefix>/share/qa-callcentre."""

from __future__ import annotations

import tomllib
from pathlib import Path

from qa.bundled import CHECKOUT, SHARED, bundled, in_checkout
from qa.modelstore.manifest import load_manifest

DATA_FILES = tomllib.loads((CHECKOUT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["data-files"]


def _shipped() -> set[str]:
    """Checkout-relative paths of the files the data-files entries match."""
    return {str(path.relative_to(CHECKOUT)) for patterns in DATA_FILES.values() for pattern in patterns
            for path in CHECKOUT.glob(pattern)}


def test_in_a_checkout_the_checkouts_folders_are_used() -> None:
    assert in_checkout() and bundled("models") == CHECKOUT / "models"


def test_each_data_file_lands_where_bundled_looks_outside_a_checkout() -> None:
    prefix = Path("share") / "qa-callcentre"
    for target, patterns in DATA_FILES.items():
        for pattern in patterns:
            assert Path(target) == prefix / Path(pattern).parent, (target, pattern)
    assert SHARED.name == prefix.name


def test_the_model_manifest_and_its_skeletons_ship() -> None:
    shipped = _shipped()
    skeletons = {f"models/{f.spec['skeleton']}" for m in load_manifest().models.values() for f in m.files
                 if "skeleton" in f.spec}
    assert "models/manifest.yaml" in shipped and skeletons and skeletons <= shipped


def test_the_demos_samples_ship() -> None:
    shipped = _shipped()
    calls = {str(p.relative_to(CHECKOUT)) for p in (CHECKOUT / "samples" / "calls").iterdir()}
    truths = {str(p.relative_to(CHECKOUT)) for p in (CHECKOUT / "samples" / "truth").glob("*.json")}
    assert calls <= shipped and truths <= shipped
    assert {"samples/metadata.csv", "samples/variants.py", "samples/variants.yaml"} <= shipped
