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
from pathlib import Path

from qa.config import load_config
from qa.modelstore.manifest import REPO_ROOT
from qa.scoring.engine import score_transcript
from qa.scoring.loader import load_rules
from qa.transcript import Transcript, to_json

SAMPLES = REPO_ROOT / "samples"
AREAS = ("greeting", "closing", "courtesy", "forbidden", "acoustic")


def transcripts(directory: Path | None, truths: list[dict]) -> list[Transcript]:
    if directory:
        return [Transcript.load(directory / f"{t['call_id']}.json") for t in truths]
    from qa.pipeline import SpeechPipeline

    pipeline = SpeechPipeline(load_config())
    made = []
    cache = REPO_ROOT / "out" / "bench-transcripts"
    cache.mkdir(parents=True, exist_ok=True)
    for truth in truths:
        transcript = pipeline.process(SAMPLES / "calls" / f"{truth['call_id']}.wav")
        (cache / f"{truth['call_id']}.json").write_text(to_json(transcript), encoding="utf-8")
        made.append(transcript)
    print(f"(transcripts kept in {cache}; pass --transcripts {cache} to skip transcription)")
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transcripts", type=Path, help="folder of <call>.json transcripts of the samples")
    parser.add_argument("--seconds", type=float, default=5.0, help="how long to measure throughput")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    truths = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((SAMPLES / "truth").glob("*.json"))]
    rules = load_rules()
    calls = transcripts(args.transcripts, truths)

    agree: dict[str, int] = defaultdict(int)
    items_right = items_total = false_forbidden = customer_evidence = directions_right = 0
    print(f"{'call':28} " + " ".join(f"{a:>9}" for a in AREAS) + "  score grade  disagreements")
    for truth, transcript in zip(truths, calls):
        card = score_transcript(transcript, rules)  # direction inferred, as for a bare recording
        directions_right += card.facts["direction"] == truth["direction"]
        expected = truth["expected_verdicts"]
        wrong = [v.item for v in card.verdicts if v.verdict != expected[v.item]]
        items_right += len(card.verdicts) - len(wrong)
        items_total += len(card.verdicts)
        row = []
        for area in AREAS:
            ok = not any(v.area == area and v.item in wrong for v in card.verdicts)
            agree[area] += ok
            row.append("agree" if ok else "DIFFER")
        false_forbidden += sum(v.area == "forbidden" and v.verdict == "fail" and expected[v.item] == "pass"
                               for v in card.verdicts)
        customer_evidence += sum(e.role == "customer" for v in card.verdicts if v.verdict == "fail"
                                 and v.area in ("forbidden", "courtesy") for e in v.evidence)
        print(f"{truth['call_id']:28} " + " ".join(f"{r:>9}" for r in row)
              + f"  {card.score:5g} {card.grade:4} {', '.join(wrong)}")

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    scored, started = 0, time.perf_counter()
    while time.perf_counter() - started < args.seconds:
        for transcript in calls:
            score_transcript(transcript, rules)
        scored += len(calls)
    rate = scored / (time.perf_counter() - started)

    summary = {
        "calls": len(calls),
        "items": len(rules.items()),
        "agreement_by_area": {a: agree[a] / len(calls) for a in AREAS},
        "item_agreement": items_right / items_total,
        "direction_inferred_right": directions_right / len(calls),
        "false_forbidden_hits": false_forbidden,
        "failed_verdicts_resting_on_customer_words": customer_evidence,
        "transcripts_per_second_one_core": rate,
    }
    print(f"\n{len(calls)} calls, {len(rules.items())} checklist items, transcripts from "
          f"{args.transcripts or 'the speech pipeline (whisper-base)'}")
    for area in AREAS:
        print(f"calls whose {area:9} verdicts all agree with the truth   {summary['agreement_by_area'][area]:.0%}")
    print(f"item verdicts agreeing with the truth                     {summary['item_agreement']:.1%}")
    print(f"call direction inferred right                             {summary['direction_inferred_right']:.0%}")
    print(f"false forbidden-phrase hits                               {false_forbidden}")
    print(f"failed verdicts resting on the customer's words           {customer_evidence}")
    print(f"scoring throughput, one core                              {rate:,.0f} transcripts/s")
    if args.json:
        args.json.write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
