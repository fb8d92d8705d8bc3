"""Agreement of checklist verdicts with the samples' expected verdicts, and scoring speed.

Transcribes the sample calls with the real pipeline (or reads transcripts already made, with
--transcripts), scores them with the default checklists, and prints per area (greeting, closing,
courtesy, forbidden, acoustic) the share of calls whose every item verdict in that area equals
the truth file's expected verdict; then false forbidden-phrase hits on calls where the agent
said nothing forbidden, verdicts that rest on customer words, and throughput in transcripts per
second on one core.

    python bench/scoring.py [--transcripts DIR] [--seconds 5] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa.bundled import CHECKOUT as REPO_ROOT
from qa.config import load_config
from qa.scoring.engine import score_transcript
from qa.scoring.loader import RuleSet, load_rules
from qa.scoring.scorecard import Scorecard
from qa.speech.transcript import Transcript, to_json

SAMPLES = REPO_ROOT / "samples"
AREAS = ("greeting", "closing", "courtesy", "forbidden", "acoustic")


def transcripts(directory: Path | None, truths: list[dict], calls_dir: Path = SAMPLES / "calls",
                cache: Path = REPO_ROOT / "out" / "bench-transcripts") -> list[Transcript]:
    """Transcripts of the calls: read from `directory`, or made by the speech pipeline (and kept)."""
    if directory:
        return [Transcript.load(directory / f"{t['call_id']}.json") for t in truths]
    from qa.speech.pipeline import SpeechPipeline

    pipeline = SpeechPipeline(load_config())
    made = []
    cache.mkdir(parents=True, exist_ok=True)
    for truth in truths:
        transcript = pipeline.process(calls_dir / f"{truth['call_id']}.wav")
        (cache / f"{truth['call_id']}.json").write_text(to_json(transcript), encoding="utf-8")
        made.append(transcript)
    print(f"(transcripts kept in {cache}; pass --transcripts {cache} to skip transcription)")
    return made


@dataclass
class Agreement:
    """How far the checklists' verdicts agree with the expected ones, over some calls."""

    calls: int = 0
    agree: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    items_right: int = 0
    items_total: int = 0
    directions_right: int = 0
    false_forbidden: int = 0
    customer_evidence: int = 0
    cards: dict[str, Scorecard] = field(default_factory=dict)  # call id -> its scorecard

    def summary(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "agreement_by_area": {a: self.agree[a] / self.calls for a in AREAS},
            "item_agreement": self.items_right / self.items_total,
            "direction_inferred_right": self.directions_right / self.calls,
            "false_forbidden_hits": self.false_forbidden,
            "failed_verdicts_resting_on_customer_words": self.customer_evidence,
        }

    def print(self) -> None:
        summary = self.summary()
        for area in AREAS:
            print(f"calls whose {area:9} verdicts all agree with the truth   {summary['agreement_by_area'][area]:.0%}")
        print(f"item verdicts agreeing with the truth                     {summary['item_agreement']:.1%}")
        print(f"call direction inferred right                             {summary['direction_inferred_right']:.0%}")
        print(f"false forbidden-phrase hits                               {self.false_forbidden}")
        print(f"failed verdicts resting on the customer's words           {self.customer_evidence}")


def compare(truths: list[dict], calls: list[Transcript], rules: RuleSet) -> Agreement:
    """Score each call (direction inferred, as for a bare recording) against its truth's expected
    verdicts, printing a row per call: per area agree or DIFFER, the score, the disagreements."""
    found = Agreement()
    print(f"{'call':34} " + " ".join(f"{a:>9}" for a in AREAS) + "  score grade  disagreements")
    for truth, transcript in zip(truths, calls):
        card = score_transcript(transcript, rules)
        found.calls += 1
        found.directions_right += card.facts.direction == truth["direction"]
        expected = truth["expected_verdicts"]
        wrong = [v.item for v in card.verdicts if v.verdict != expected[v.item]]
        found.items_right += len(card.verdicts) - len(wrong)
        found.items_total += len(card.verdicts)
        row = []
        for area in AREAS:
            ok = not any(v.area == area and v.item in wrong for v in card.verdicts)
            found.agree[area] += ok
            row.append("agree" if ok else "DIFFER")
        found.false_forbidden += sum(v.area == "forbidden" and v.verdict == "fail" and expected[v.item] == "pass"
                                     for v in card.verdicts)
        found.customer_evidence += sum(e.role == "customer" for v in card.verdicts if v.verdict == "fail"
                                       and v.area in ("forbidden", "courtesy") for e in v.evidence)
        print(f"{truth['call_id']:34} " + " ".join(f"{r:>9}" for r in row)
              + f"  {card.score:5g} {card.grade:4}{' 高压线' if card.fatal else ''} {', '.join(wrong)}")
        found.cards[truth["call_id"]] = card
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transcripts", type=Path, help="folder of <call>.json transcripts of the samples")
    parser.add_argument("--seconds", type=float, default=5.0, help="how long to measure throughput")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    truths = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((SAMPLES / "truth").glob("*.json"))]
    rules = load_rules()
    calls = transcripts(args.transcripts, truths)

    found = compare(truths, calls, rules)

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    scored, started = 0, time.perf_counter()
    while time.perf_counter() - started < args.seconds:
        for transcript in calls:
            score_transcript(transcript, rules)
        scored += len(calls)
    rate = scored / (time.perf_counter() - started)

    summary = {**found.summary(), "items": len(rules.items()), "transcripts_per_second_one_core": rate}
    print(f"\n{len(calls)} calls, {len(rules.items())} checklist items, transcripts from "
          f"{args.transcripts or 'the speech pipeline (whisper-base)'}")
    found.print()
    print(f"scoring throughput, one core                              {rate:,.0f} transcripts/s")
    if args.json:
        args.json.write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
