#!/usr/bin/env python3
"""Render the mono evaluation set: two-party calls that no diarization threshold was tuned on.

The twelve sample calls fixed the speaker-count thresholds, so they cannot tell whether those
thresholds hold elsewhere. These calls are built by a seeded draw from phrases.yaml (scenarios the
samples do not have) and rendered with samples/render.py's synthesiser and telephone chain, with
far wider variation than the samples: the second voice 2-8 semitones above or below the first,
each party's tempo, 0-15 dB between the parties' levels, turns from a 0.3 s 嗯 to about 20 s,
back-channels over the other's speech, holds, line noise from -52 to -38 dBFS, 50 Hz hum, and
8 kHz mu-law, AMR-NB or MP3 (encode.py, in the project's venv, makes the last two).

Calls come in pairs that share the acoustic draw; split.csv puts one of each pair in `tune`
and the other in `test`, so both halves cover the same conditions. The split is fixed.

    /opt/venvs/tts/bin/python samples/mono_eval/generate.py     # calls/*.wav, truth/*.json
    .venv/bin/python samples/mono_eval/encode.py                 # AMR / MP3 calls, split.csv
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import render  # noqa: E402  (samples/render.py: synthesiser, placement, telephone chain)

CALLS = 60
CODECS = ("ulaw", "amr", "mp3")
SUFFIX = {"ulaw": "wav", "amr": "amr", "mp3": "mp3"}
HUM_HZ = 50.0


def _acoustics(pair: int) -> dict[str, Any]:
    """The acoustic conditions a pair of calls shares."""
    rng = random.Random(f"mono-eval-acoustics:{pair}")
    agent_st = round(rng.uniform(-2.0, 2.0), 2)
    offset = round(rng.uniform(2.0, 8.0) * rng.choice((-1, 1)), 2)
    level_gap = rng.uniform(6.0, 15.0) if pair % 3 else rng.uniform(0.0, 3.0)
    agent_db = rng.uniform(-22.0, -18.0)
    louder = rng.choice(("agent", "customer"))
    customer_db = agent_db + (level_gap if louder == "customer" else -level_gap)
    if customer_db > -14.0:  # keep the louder party clear of clipping
        agent_db, customer_db = agent_db - (customer_db + 14.0), -14.0
    return {
        "agent": render.Voice(agent_st, round(rng.uniform(0.9, 1.25), 2), round(agent_db, 1)),
        "customer": render.Voice(round(agent_st + offset, 2), round(rng.uniform(0.85, 1.2), 2),
                                 round(customer_db, 1)),
        "noise_dbfs": round(rng.uniform(-52.0, -38.0), 1),
        "hum_dbfs": round(rng.uniform(-42.0, -32.0), 1) if rng.random() < 0.35 else None,
        "codec": CODECS[pair % len(CODECS)],
        "hold_s": round(rng.uniform(5.0, 15.0), 1) if rng.random() < 0.4 else None,
    }


def _turn(rng: random.Random, role: str, text: str, **where: float) -> render.TurnScript:
    return render.TurnScript(role, text, rate=round(rng.uniform(0.95, 1.1), 2),
                             gain_db=round(rng.uniform(-2.0, 2.0), 1), **where)


def build_call(index: int, phrases: dict[str, Any], acoustics: dict[str, Any]) -> render.CallScript:
    """One call's script: the scenario's lines in a drawn order, with drawn back-channels."""
    rng = random.Random(f"mono-eval-script:{index}")
    scenario = phrases["scenarios"][index % len(phrases["scenarios"])]
    short = lambda: rng.choice(phrases["backchannels"])  # noqa: E731
    outbound = index % 6 == 5
    turns: list[render.TurnScript] = []
    if outbound:
        turns += [_turn(rng, "customer", "喂？"),
                  _turn(rng, "agent", rng.choice(phrases["outbound_openings"])),
                  _turn(rng, "customer", rng.choice(phrases["outbound_answers"])),
                  _turn(rng, "agent", "您之前来电反映过一个问题，我们回访一下，请问现在解决了吗？"),
                  _turn(rng, "customer", "还没有。" + scenario["problem"])]
    else:
        turns += [_turn(rng, "agent", rng.choice(phrases["openings"])),
                  _turn(rng, "customer", scenario["problem"])]
    if rng.random() < 0.3:  # the agent's 嗯 while the customer is still speaking
        turns.append(_turn(rng, "agent", short(), overlap=round(rng.uniform(0.5, 1.2), 2)))
    turns += [_turn(rng, "agent", scenario["question"]), _turn(rng, "customer", scenario["answer"])]
    if rng.random() < 0.4:
        turns.append(_turn(rng, "agent", short()))
    explain = scenario["explain"] + (rng.choice(phrases["extras"]) if rng.random() < 0.5 else "")
    if acoustics["hold_s"]:
        turns += [_turn(rng, "agent", rng.choice(phrases["holds"])),
                  _turn(rng, "agent", explain, hold=acoustics["hold_s"])]
    else:
        turns.append(_turn(rng, "agent", explain))
    if rng.random() < 0.6:  # the customer's back-channel over the long explanation
        turns.append(_turn(rng, "customer", short(), overlap=round(rng.uniform(1.5, 4.0), 2)))
    turns += [_turn(rng, "customer", scenario["followup"]), _turn(rng, "agent", scenario["reply"])]
    if rng.random() < 0.5:
        turns.append(_turn(rng, "customer", short()))
    turns.append(_turn(rng, "customer", rng.choice(phrases["thanks"])))
    if rng.random() < 0.85:
        turns.append(_turn(rng, "agent", rng.choice(phrases["closings"])))
    for turn in turns:
        if not render.ALLOWED.match(turn.text):
            raise ValueError(f"call {index}: text the synthesiser would not speak as written: {turn.text}")
    return render.CallScript(
        id=f"m{index:02d}", direction="outbound" if outbound else "inbound", channels=1,
        agent_id=f"E{2000 + index}", scenario=scenario["problem"], tags=["mono_eval"], turns=turns,
    )


def add_hum(audio: Any, hum_dbfs: float, seed: int) -> Any:
    """Mains hum on the line: 50 Hz and its odd harmonics, falling 6 dB per harmonic."""
    import numpy as np

    t = np.arange(len(audio)) / render.OUT_SR
    phase = np.random.default_rng(seed).uniform(0, 2 * np.pi, 5)
    hum = sum(0.5 ** k * np.sin(2 * np.pi * HUM_HZ * (2 * k + 1) * t + phase[k]) for k in range(5))
    hum *= 10.0 ** (hum_dbfs / 20.0) / float(np.sqrt(np.mean(hum**2)))
    return np.clip(audio + hum[:, None], -1.0, 1.0).astype(np.float32)


def render_one(synth: render.Synth, index: int, phrases: dict[str, Any], out: Path) -> dict[str, Any]:
    import soundfile as sf

    acoustics = _acoustics(index // 2)
    call = build_call(index, phrases, acoustics)
    voices = {role: acoustics[role] for role in render.ROLES}
    placed = render.place_turns(call, [render.render_turn(synth, t, voices[t.role]) for t in call.turns])
    audio = render.mix(call, placed, acoustics["noise_dbfs"])
    if acoustics["hum_dbfs"] is not None:
        audio = add_hum(audio, acoustics["hum_dbfs"], render.call_seed(call.id))
    sf.write(out / "calls" / f"{call.id}.wav", audio, render.OUT_SR, subtype="ULAW", format="WAV")
    record = render.truth(call, placed, len(audio))
    record["file"] = f"{call.id}.{SUFFIX[acoustics['codec']]}"
    record["conditions"] = {
        "voices": {role: vars(voice) for role, voice in voices.items()},
        "semitones_apart": round(voices["customer"].semitones - voices["agent"].semitones, 2),
        "level_gap_db": round(voices["customer"].level_dbfs - voices["agent"].level_dbfs, 1),
        **{k: acoustics[k] for k in ("noise_dbfs", "hum_dbfs", "codec", "hold_s")},
    }
    (out / "truth" / f"{call.id}.json").write_text(
        json.dumps(record, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return record


def main(argv: list[str] | None = None) -> int:
    import yaml

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=HERE, help="folder that gets calls/ and truth/")
    ap.add_argument("--only", type=int, nargs="+", metavar="N", help="render only these call numbers")
    args = ap.parse_args(argv)
    phrases = yaml.safe_load((HERE / "phrases.yaml").read_text(encoding="utf-8"))
    for sub in ("calls", "truth"):
        (args.out / sub).mkdir(parents=True, exist_ok=True)
    synth = render.Synth()
    for index in args.only or range(CALLS):
        rec = render_one(synth, index, phrases, args.out)
        c = rec["conditions"]
        print(f"{rec['call_id']} {rec['duration']:5.1f}s turns={len(rec['turns']):2d} "
              f"apart={c['semitones_apart']:+.1f}st gap={c['level_gap_db']:+.1f}dB {c['codec']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
