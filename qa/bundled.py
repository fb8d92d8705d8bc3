"""Where the product's files that are not code live: the model manifest and ONNX skeletons
(models/) and the demo's sample calls (samples/).

In a checkout they are the checkout's own folders. A package installed with `pip install .` has
no checkout: pyproject.toml's data-files put the same folders under <prefix>/share/qa-callcentre/,
and models are built into a folder of the user's (XDG_DATA_HOME) rather than into site-packages.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
SHARED = Path(sys.prefix) / "share" / "qa-callcentre"


def in_checkout() -> bool:
    """Whether the code runs from a source checkout (editable install or tests)."""
    return (CHECKOUT / "pyproject.toml").is_file() and (CHECKOUT / "models" / "manifest.yaml").is_file()


def bundled(folder: str) -> Path:
    """The product's folder `folder` (models, samples): the checkout's, else the installed copy."""
    return CHECKOUT / folder if in_checkout() else SHARED / folder


def user_data_dir() -> Path:
    """Where an installed product keeps what it builds (models), outside site-packages."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "qa-callcentre"
