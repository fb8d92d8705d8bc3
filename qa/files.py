"""File checksums: models are verified and recordings identified by their SHA-256."""

from __future__ import annotations

import hashlib
from pathlib import Path

# Recordings are recognised, and stored, by these suffixes (ffmpeg reads all of them).
AUDIO_SUFFIXES = {".wav", ".mp3", ".m4a", ".amr", ".flac", ".ogg", ".opus", ".aac", ".wma"}


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks so large recordings and models fit in memory."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
