"""The whole speech pipeline on real models, through the `qa transcribe` command."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import SAMPLES, sample_truth

from qa.cli.main import main
from qa.evaluation import char_edits, true_role_of_word

STEREO, MONO = "c03_bare_wei", "c04_no_closing"  # the shortest of each kind


@pytest.fixture(scope="module")
def transcribed(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Path:
    out = tmp_path_factory.mktemp("transcripts")
    calls = [str(SAMPLES / "calls" / f"{c}.wav") for c in (STEREO, MONO)]
    result = CliRunner().invoke(main, ["transcribe", *calls, "--out", str(out), "--format", "json",
                                       "--format", "txt", "--format", "rttm"])
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("call_id", [STEREO, MONO])
def test_turns_match_the_truth(transcribed: Path, call_id: str) -> None:
    data = json.loads((transcribed / f"{call_id}.json").read_text(encoding="utf-8"))
    truth = sample_truth(call_id)
    words = [w for turn in data["turns"] for w in turn["words"]]
    speakers = data["roles"]["speakers"]
    right = sum(true_role_of_word(w["text"], w["start"], w["end"], truth["turns"]) == speakers[w["speaker"]]
                for w in words)
    assert right / len(words) >= 0.95
    edits, length = char_edits("".join(t["text"] for t in truth["turns"]),
                               "".join(t["text"] for t in data["turns"]))
    assert edits / length <= 0.25
    assert data["turns"][0]["role"] == "agent"
    assert data["roles"]["confidence"] >= 0.9 and data["roles"]["evidence"]
    assert data["diarization"]["num_speakers"] == 2
    assert data["roles"]["review"] == [] and isinstance(data["asr"]["dropped_words"], list)
    txt = (transcribed / f"{call_id}.txt").read_text(encoding="utf-8")
    assert "坐席:" in txt and "客户:" in txt


def test_stereo_roles_come_from_the_channels(transcribed: Path) -> None:
    data = json.loads((transcribed / f"{STEREO}.json").read_text(encoding="utf-8"))
    assert data["diarization"]["method"] == "stereo channels"
    # c03 opens with a bare 喂: no greeting to go on, the channel mapping decides.
    assert any(e["cue"] == "stereo channel mapping" for e in data["roles"]["evidence"])


def _write_silence(path: Path) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(np.zeros(8000 * 3, np.int16).tobytes())


def test_batch_reports_each_bad_file_in_one_line_and_goes_on(tmp_path: Path, models_dir: Path) -> None:
    bad = {
        "empty.wav": lambda p: p.write_bytes(b""),
        "notes.mp3": lambda p: p.write_text("这不是录音", encoding="utf-8"),
        "silent.wav": _write_silence,
        "truncated.wav": lambda p: p.write_bytes((SAMPLES / "calls" / f"{STEREO}.wav").read_bytes()[:30000]),
    }
    for name, make in bad.items():
        make(tmp_path / name)
    missing = tmp_path / "missing.wav"
    good = SAMPLES / "calls" / f"{STEREO}.wav"
    paths = [*(str(tmp_path / n) for n in bad), str(missing), str(good)]
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["transcribe", *paths, "--out", str(out), "--format", "json"])
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("error ")]
    assert len(errors) == 5
    for name in [*bad, missing.name]:
        assert sum(name in line for line in errors) == 1, (name, errors)
    assert "5 of 6 file(s) failed" in result.output
    assert (out / f"{STEREO}.json").is_file()
    assert sorted(p.name for p in out.iterdir()) == [f"{STEREO}.json"]


def test_one_voice_throughout_is_kept_flagged_and_unsure(tmp_path: Path, models_dir: Path) -> None:
    # The agent's channel of a stereo sample alone, as a mono file: one voice, no second party.
    from audio_factory import encode

    from qa.config import AudioConfig
    from qa.speech.audio import load_audio

    audio = load_audio(SAMPLES / "calls" / "c01_inbound_good.wav", AudioConfig())
    mono = encode(audio.window()[:1], audio.sample_rate, tmp_path / "agent_only.wav", "pcm_s16le")
    result = CliRunner().invoke(main, ["transcribe", str(mono), "--out", str(tmp_path), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "agent_only.json").read_text(encoding="utf-8"))
    assert data["diarization"]["num_speakers"] == 1
    assert "one_voice" in data["roles"]["review"]
    assert data["roles"]["confidence"] < 0.5
