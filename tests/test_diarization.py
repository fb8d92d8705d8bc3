"""Mono diarization on the real ONNX models: two voices apart, one voice alone, forced counts."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import SAMPLES, sample_truth

from qa.config import AudioConfig
from qa.modelstore.install import ModelInstallError, _build_onnx_skeleton
from qa.modelstore.manifest import MANIFEST_DIR, load_manifest
from qa.speech.audio import load_audio
from qa.speech.diarization.fbank import kaldi_fbank, normalise
from qa.speech.diarization.mono import diarize_mono
from qa.speech.types import SpeakerSegment

FRAME_S = 0.01


def _frames(segments: list[SpeakerSegment], label: str, n: int, key: str = "speaker") -> np.ndarray:
    mask = np.zeros(n, bool)
    for seg in segments:
        if getattr(seg, key) == label:
            mask[int(seg.start / FRAME_S): int(seg.end / FRAME_S)] = True
    return mask


def _agreement(segments: list[SpeakerSegment], truth: dict) -> float:
    """Share of truth speech time whose speaker matches, under the best speaker-to-role mapping."""
    n = int(truth["duration"] / FRAME_S) + 1
    ref = {role: np.zeros(n, bool) for role in ("agent", "customer")}
    for turn in truth["turns"]:
        ref[turn["role"]][int(turn["start"] / FRAME_S): int(turn["end"] / FRAME_S)] = True
    speakers = sorted({s.speaker for s in segments})
    total = sum(int(r.sum()) for r in ref.values())
    best = 0
    for agent in speakers:
        hyp_agent = _frames(segments, agent, n)
        hyp_customer = np.zeros(n, bool)
        for other in speakers:
            if other != agent:
                hyp_customer |= _frames(segments, other, n)
        right = int((ref["agent"] & hyp_agent).sum() + (ref["customer"] & hyp_customer).sum())
        best = max(best, right)
    return best / total


@pytest.fixture(scope="module")
def mono_call() -> tuple[np.ndarray, dict]:
    call_id = "c04_no_closing"
    audio = load_audio(SAMPLES / "calls" / f"{call_id}.wav", AudioConfig())
    return audio.mono(), sample_truth(call_id)


def test_fbank_frames_and_mean_normalisation() -> None:
    features = kaldi_fbank(np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1)
    assert features.shape == (98, 80)  # Kaldi snip_edges: 1 + (16000 - 400) // 160
    assert np.allclose(normalise(features).mean(axis=0), 0, atol=1e-4)


def test_mono_call_splits_into_its_two_voices(mono_call, models_dir: Path) -> None:
    samples, truth = mono_call
    diarized = diarize_mono(samples, models_dir)
    assert len({s.speaker for s in diarized.segments}) == 2
    assert _agreement(diarized.segments, truth) >= 0.9
    assert diarized.doubt is None and diarized.certainty == 1.0


def test_one_voice_stays_one_speaker(models_dir: Path) -> None:
    # The agent channel of a stereo call: one voice, with the customer's turns as silence.
    audio = load_audio(SAMPLES / "calls" / "c01_inbound_good.wav", AudioConfig())
    diarized = diarize_mono(audio.window()[0], models_dir)
    assert diarized.segments and len({s.speaker for s in diarized.segments}) == 1
    assert diarized.doubt == "one_voice" and diarized.certainty < 0.5
    # The words show two parties: the same model outputs are clustered in two, as a forced count would.
    split = diarize_mono(audio.window()[0], models_dir, two_parties=True)
    forced = diarize_mono(audio.window()[0], models_dir, num_speakers=2)
    assert split.doubt == "one_voice_two_parties" and split.certainty <= 0.5
    assert split.segments == forced.segments and len({s.speaker for s in split.segments}) == 2


def test_a_customer_cutting_in_keeps_their_voice_from_the_first_word(models_dir: Path) -> None:
    # c08: the customer reads out a number while the agent is still finishing (0.7 s of both at
    # once). That stretch heard under the agent's voice gives an embedding of both voices, which
    # must not move the customer's words to the agent.
    truth = sample_truth("c08_rude_customer")
    audio = load_audio(SAMPLES / "calls" / "c08_rude_customer.wav", AudioConfig())
    segments = diarize_mono(audio.mono(), models_dir).segments
    turns = truth["turns"]
    cut_in = next(t for before, t in zip(turns, turns[1:]) if t["role"] == "customer" and t["start"] < before["end"])
    n = int(truth["duration"] / FRAME_S) + 1
    customer = np.zeros(n, bool)
    for t in turns:
        if t["role"] == "customer":
            customer[int(t["start"] / FRAME_S): int(t["end"] / FRAME_S)] = True
    theirs = max({s.speaker for s in segments}, key=lambda sp: int((_frames(segments, sp, n) & customer).sum()))
    span = slice(int(cut_in["start"] / FRAME_S), int(cut_in["end"] / FRAME_S))
    assert _frames(segments, theirs, n)[span].mean() >= 0.95


def test_configured_count_is_obeyed(mono_call, models_dir: Path) -> None:
    samples, _ = mono_call
    assert len({s.speaker for s in diarize_mono(samples, models_dir, num_speakers=3).segments}) == 3


def test_too_short_audio_has_no_segments(models_dir: Path) -> None:
    assert diarize_mono(np.zeros(100, np.float32), models_dir).segments == []


def test_tampered_skeleton_is_refused(tmp_path: Path) -> None:
    entry = load_manifest().models["pyannote-segmentation-3.0"].files[0]
    skeleton = tmp_path / "skeleton.onnx"
    shutil.copy(MANIFEST_DIR / entry.spec["skeleton"], skeleton)
    with skeleton.open("ab") as fh:
        fh.write(b"\0")

    def no_wheel(name: str) -> zipfile.ZipFile:
        raise AssertionError("the skeleton must be checked before any wheel is read")

    with pytest.raises(ModelInstallError, match="SHA-256"):
        _build_onnx_skeleton({**entry.spec, "skeleton": str(skeleton)}, tmp_path / "out.onnx", no_wheel)
