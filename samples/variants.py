"""Variant calls of the samples, with the verdicts an inspector would reach, for bench/learning.py.

Each variant starts from a sample's truth (samples/truth) and, by a seeded draw, swaps the opening
or the closing's thanks, or adds a sentence to a middle agent turn (samples/variants.yaml says
how each change moves the expected verdicts), then replaces a share of characters by homophones
the way a recogniser mishears them. An inspector hears the audio, so noise leaves the expected
verdicts alone; the checklists read the noisy text.

    python samples/variants.py --per-sample 3   # print a few
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import re
from collections import defaultdict
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pypinyin import lazy_pinyin

HERE = Path(__file__).resolve().parent
CLOSING_THANKS = re.compile(r"感谢您的来电(，欢迎再次拨打)?")


def sample_truths() -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((HERE / "truth").glob("*.json"))]


@lru_cache(maxsize=1)
def _changes() -> dict[str, Any]:
    return yaml.safe_load((HERE / "variants.yaml").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _homophones() -> dict[str, list[str]]:
    """Characters of the samples and variants grouped by toneless pinyin."""
    texts = [t["text"] for truth in sample_truths() for t in truth["turns"]]
    texts += [c["text"] for group in _changes().values() for c in group]
    by_sound: dict[str, set[str]] = defaultdict(set)
    for char in {c for text in texts for c in text if "\u4e00" <= c <= "\u9fff"}:
        by_sound[lazy_pinyin(char)[0]].add(char)
    return {c: sorted(group - {c}) for group in by_sound.values() for c in group if len(group) > 1}


def _set_text(turns: list[dict[str, Any]], index: int, text: str) -> None:
    """Give a turn new text at its old pace, moving the later turns by the time it gained or lost."""
    turn = turns[index]
    pace = (turn["end"] - turn["start"]) / max(len(turn["text"]), 1)
    shift = round(pace * len(text) - (turn["end"] - turn["start"]), 3)
    turn["text"], turn["end"] = text, round(turn["end"] + shift, 3)
    for later in turns[index + 1:]:
        later["start"], later["end"] = round(later["start"] + shift, 3), round(later["end"] + shift, 3)


def _mishear(text: str, rng: random.Random, rate: float) -> str:
    table = _homophones()
    return "".join(rng.choice(table[c]) if c in table and rng.random() < rate else c for c in text)


def variant(truth: dict[str, Any], number: int, seed: int, noise: float) -> dict[str, Any]:
    """Variant `number` of a sample: a truth dict with its own call_id, turns and expected verdicts."""
    rng = random.Random(f"{seed}:{truth['call_id']}:{number}")
    data = copy.deepcopy(truth)
    data["call_id"] = f"{truth['call_id']}~{number}"
    turns, expected, applied = data["turns"], data["expected_verdicts"], []
    agent = [i for i, t in enumerate(turns) if t["role"] == "agent"]
    inbound = data["direction"] == "inbound"
    first, last = turns[agent[0]], turns[agent[-1]]
    if inbound and "工号" in first["text"] and "为您服务" in first["text"] and rng.random() < 0.4:
        change = rng.choice(_changes()["openings"])
        _set_text(turns, agent[0], change["text"])
        expected.update(change["expected"])
        applied.append(change["text"])
    if (inbound and expected.get("closing.inbound_thanks") == "pass" and CLOSING_THANKS.search(last["text"])
            and rng.random() < 0.3):
        change = rng.choice(_changes()["closings"])
        _set_text(turns, agent[-1], CLOSING_THANKS.sub(change["text"], last["text"], count=1))
        expected.update(change["expected"])
        applied.append(change["text"])
    if len(agent) > 2 and rng.random() < 0.45:
        change = rng.choice(_changes()["sentences"])
        index = rng.choice(agent[1:-1])
        _set_text(turns, index, turns[index]["text"] + change["text"])
        expected.update(change["expected"])
        applied.append(change["text"])
    for turn in turns:
        turn["text"] = _mishear(turn["text"], rng, noise)
    data["changes"] = applied
    return data


def variants(per_sample: int, seed: int = 7, noise: float = 0.02) -> list[dict[str, Any]]:
    return [variant(truth, n, seed, noise) for truth in sample_truths() for n in range(per_sample)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-sample", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--noise", type=float, default=0.02, help="share of characters misheard")
    args = parser.parse_args()
    for data in variants(args.per_sample, args.seed, args.noise):
        print(data["call_id"], "；".join(data["changes"]) or "(no change)")
        print("   ", " / ".join(t["text"] for t in data["turns"] if t["role"] == "agent"))


if __name__ == "__main__":
    main()
