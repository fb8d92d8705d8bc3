#!/usr/bin/env python3
"""Listen-free checks of the rendered sample calls against their truth files.

Why: the truth is only useful if it is exact, so after every re-render this
confirms format, sample rate, channel layout, that turns lie inside the audio and
sit on speech, and (stereo) that each channel carries only its own role's voice.
Needs numpy and soundfile (the TTS venv has both):

    /opt/venvs/tts/bin/python samples/check.py

Optional spot check of the recognisability of the speech, with faster-whisper
and a local CTranslate2 Whisper model folder (nothing is downloaded):

    python samples/check.py --whisper /path/to/whisper-base-ct2 --only c01_inbound_good
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

HERE = Path(__file__).resolve().parent
KEYS = ["call_id", "direction", "agent_id", "channels", "channel_roles", "duration", "scenario", "tags", "turns"]
ROLES = ("agent", "customer")


def frame_db(x: np.ndarray, sr: int, start: float, end: float) -> float:
    """RMS level in dBFS of x between start and end seconds."""
    seg = x[int(start * sr) : max(int(end * sr), int(start * sr) + 1)]
    return float(20 * np.log10(np.sqrt(np.mean(seg.astype(np.float64) ** 2)) + 1e-12))


def spans_without(turns: list[dict[str, Any]], role: str) -> list[tuple[float, float]]:
    """Intervals of `role`'s turns minus any time the other role is speaking."""
    other = [(t["start"], t["end"]) for t in turns if t["role"] != role]
    out: list[tuple[float, float]] = []
    for t in turns:
        if t["role"] != role:
            continue
        pieces = [(t["start"], t["end"])]
        for a, b in other:
            nxt = []
            for s, e in pieces:
                if b <= s or a >= e:
                    nxt.append((s, e))
                    continue
                if a > s:
                    nxt.append((s, a))
                if b < e:
                    nxt.append((b, e))
            pieces = nxt
        out.extend(p for p in pieces if p[1] - p[0] > 0.2)
    return out


def check_call(wav: Path, tj: Path) -> tuple[list[str], dict[str, Any]]:
    """Return (problems, summary) for one call."""
    problems: list[str] = []
    rec = json.loads(tj.read_text(encoding="utf-8"))
    info = sf.info(str(wav))
    audio, sr = sf.read(str(wav), always_2d=True)
    dur = len(audio) / sr
    if list(rec) != KEYS:
        problems.append(f"truth keys {list(rec)}")
    if rec["call_id"] != wav.stem:
        problems.append("call_id differs from file name")
    if sr != 8000 or info.subtype != "ULAW":
        problems.append(f"format {sr} Hz {info.subtype}")
    if audio.shape[1] != rec["channels"]:
        problems.append(f"{audio.shape[1]} channels, truth says {rec['channels']}")
    want_roles = ["agent", "customer"] if rec["channels"] == 2 else None
    if rec["channel_roles"] != want_roles:
        problems.append(f"channel_roles {rec['channel_roles']}")
    if abs(dur - rec["duration"]) > 0.01:
        problems.append(f"duration {dur:.3f} vs truth {rec['duration']}")
    if not 15 <= dur <= 90:
        problems.append(f"duration {dur:.1f}s outside 15-90 s")
    turns = rec["turns"]
    if [t["start"] for t in turns] != sorted(t["start"] for t in turns):
        problems.append("turns not sorted by start")
    if {t["role"] for t in turns} != set(ROLES):
        problems.append("both roles must speak")
    # lead-in (before the first word) is line noise only
    floors = [frame_db(audio[:, ch], sr, 0.0, min(0.3, turns[0]["start"])) for ch in range(audio.shape[1])]
    for i, t in enumerate(turns):
        if not 0 <= t["start"] < t["end"] <= dur:
            problems.append(f"turn {i} [{t['start']}, {t['end']}] outside audio")
        if not re.fullmatch(r"[\u4e00-\u9fa5，、：；。！？“”]+", t["text"]):
            problems.append(f"turn {i} text has characters that were not spoken as written")
        # tight: clear speech within 150 ms of both edges (weak consonants such as h or q
        # and the fading low-tone endings stay only a few dB above the line noise)
        ch = ROLES.index(t["role"]) if rec["channels"] == 2 else 0
        head = max(frame_db(audio[:, ch], sr, t["start"] + k * 0.01, t["start"] + (k + 1) * 0.01) for k in range(15))
        tail = max(frame_db(audio[:, ch], sr, t["end"] - (k + 1) * 0.01, t["end"] - k * 0.01) for k in range(15))
        if min(head, tail) < floors[ch] + 6:
            problems.append(f"turn {i} edges not on speech (head {head:.0f} dB, tail {tail:.0f} dB, floor {floors[ch]:.0f})")
    # nothing audible outside the turns: speech the truth does not cover (bad trim)
    for ch in range(audio.shape[1]):
        covered = np.zeros(len(audio), bool)
        for t in turns:
            if rec["channels"] == 1 or ROLES.index(t["role"]) == ch:
                covered[max(int((t["start"] - 0.02) * sr), 0) : int((t["end"] + 0.02) * sr)] = True
        hop = int(0.02 * sr)
        loud = [
            i / sr
            for i in range(0, len(audio) - hop, hop)
            if not covered[i : i + hop].any() and frame_db(audio[:, ch], sr, i / sr, (i + hop) / sr) > floors[ch] + 8
        ]
        if loud:
            problems.append(f"channel {ch}: sound outside its turns at {loud[0]:.2f}s ({len(loud)} frames)")
    leak = {}
    if rec["channels"] == 2:
        for ch, role in enumerate(ROLES):
            other_role = ROLES[1 - ch]
            spans = spans_without(turns, other_role)  # other role talking, this role silent
            if spans:
                lvl = max(frame_db(audio[:, ch], sr, s, e) for s, e in spans)
                leak[role] = lvl
                if lvl > -40:
                    problems.append(f"channel {ch} ({role}) has {lvl:.0f} dBFS while only the {other_role} speaks")
    summary = {
        "id": rec["call_id"],
        "channels": audio.shape[1],
        "sr": sr,
        "duration": round(dur, 2),
        "turns": len(turns),
        "floor_db": [round(f, 1) for f in floors],
        "leak_db": {k: round(v, 1) for k, v in leak.items()},
        "tags": rec["tags"],
    }
    return problems, summary


def whisper_cer(wav: Path, tj: Path, model_dir: str) -> None:
    """Transcribe each channel and print a rough CER against the truth text."""
    from faster_whisper import WhisperModel

    rec = json.loads(tj.read_text(encoding="utf-8"))
    model = WhisperModel(model_dir, device="cpu", compute_type="int8")
    audio, sr = sf.read(str(wav), always_2d=True, dtype="float32")
    digits = str.maketrans("0123456789", "零一二三四五六七八九")
    # crude normalisation: Whisper writes numbers as digits (25 vs 二十五 still
    # counts as errors) and sometimes uses traditional characters
    strip = lambda s: re.sub(r"[^\u4e00-\u9fa5]", "", s.translate(digits))  # noqa: E731
    for ch in range(audio.shape[1]):
        x = np.interp(np.arange(0, len(audio), sr / 16000), np.arange(len(audio)), audio[:, ch]).astype(np.float32)
        segs, _ = model.transcribe(
            x, language="zh", beam_size=5, vad_filter=True, initial_prompt="以下是普通话的句子。"
        )
        hyp = strip("".join(s.text for s in segs))
        roles = [ROLES[ch]] if rec["channels"] == 2 else list(ROLES)
        ref = strip("".join(t["text"] for t in rec["turns"] if t["role"] in roles))
        print(f"{wav.stem} ch{ch}: CER {edit_distance(ref, hyp) / max(len(ref), 1):.3f} ({len(ref)} chars)")
        print(f"   ref: {ref}\n   hyp: {hyp}")


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance between two strings."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; exit status 1 when any check fails."""
    ap = argparse.ArgumentParser(description="Check samples/calls/*.wav against samples/truth/*.json.")
    ap.add_argument("--dir", type=Path, default=HERE, help="folder with calls/ and truth/ (default: %(default)s)")
    ap.add_argument("--only", nargs="+", metavar="ID", help="check only these call ids")
    ap.add_argument("--whisper", metavar="MODEL_DIR", help="also transcribe with faster-whisper from this local model")
    args = ap.parse_args(argv)

    wavs = sorted((args.dir / "calls").glob("*.wav"))
    if args.only:
        wavs = [w for w in wavs if w.stem in args.only]
    bad = 0
    n_stereo = 0
    for wav in wavs:
        tj = args.dir / "truth" / f"{wav.stem}.json"
        if not tj.exists():
            print(f"{wav.stem}: no truth file")
            bad += 1
            continue
        problems, s = check_call(wav, tj)
        n_stereo += s["channels"] == 2
        print(
            f"{s['id']:<26} ch={s['channels']} sr={s['sr']} {s['duration']:6.2f}s turns={s['turns']:2d} "
            f"floor={s['floor_db']} dB leak={s['leak_db']} tags={','.join(s['tags'])}"
        )
        for p in problems:
            print(f"   PROBLEM: {p}")
        bad += bool(problems)
        if args.whisper:
            whisper_cer(wav, tj, args.whisper)
    size = sum(f.stat().st_size for f in args.dir.rglob("*") if f.is_file())
    print(f"{len(wavs)} calls ({n_stereo} stereo), {bad} with problems; samples/ is {size / 1e6:.1f} MB")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
