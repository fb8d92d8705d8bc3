"""The checklists on the fresh synthetic calls (samples/fresh): verdicts against an inspector's,
fatal verdicts where due and nowhere else, on the tuning half and on the held-out half; with
--set blind, blind2 … blind8, on samples/blind* (blind2-5 written 2026-12-02/03, blind6-7
2026-12-07, blind8 2026-12-08), calls and verdicts written by people who had not seen the checklists, each split into
a half looked at while tuning and a half never tuned on (--split shows one part only, so that
tuning never sees the other).

The calls' scripts (samples/fresh/scripts.yaml) and the inspector's verdicts with the fixed split
(samples/fresh/expected.yaml, written before the scorer was run) are scored as text-level
transcripts: each script turn becomes a turn of a perfect transcript, timed like the renderer
lays turns out (its pauses, holds and overlaps; a fixed speaking pace), so holds, silences,
cutting in and speech rate are scored too. With --audio, the rendered calls present in
samples/fresh/calls (render.py --scripts samples/fresh/scripts.yaml --out samples/fresh) are
transcribed by the speech pipeline instead, or read from --transcripts. Prints per split the
per-area agreement (calls whose every item verdict in the area agrees), the recall of fatal
verdicts on calls the inspector calls 高压线, fatal verdicts on calls that are not, and per
confidence band how many failed verdicts the inspector fails too (what confidence means).

    python bench/fresh_calls.py [--set fresh|blind|blind2 … blind8] [--split NAME] [--audio [--transcripts DIR]]
                                [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from scoring import AREAS, compare, transcripts

from qa.bundled import CHECKOUT as REPO_ROOT
from qa.evaluation import transcript_from_truth
from qa.scoring.loader import RuleSet, load_rules
from qa.scoring.schema import HoldItem
from qa.scoring.scorecard import Scorecard
from qa.scoring.text import normalise
from qa.speech.transcript import Transcript

SETS = {name: REPO_ROOT / "samples" / name
        for name in ("fresh", "blind", "blind2", "blind3", "blind4", "blind5", "blind6", "blind7", "blind8")}
sys.path.insert(0, str(REPO_ROOT / "samples"))
from render import DEFAULT_PAUSE, LEAD_IN, load_scripts  # noqa: E402  (samples/ is a folder of scripts)

CHARS_PER_SECOND = 4.7  # the rendered samples' agent pace (characters of normalised text per second)
SPLITS = {"tune": "looked at while tuning",
          "held_out": "untouched while tuning until 2026-12-02, tuned on since",
          "blind_tune": "written without sight of the checklists, looked at while tuning",
          "blind": "written without sight of the checklists; reported untuned 2026-12-02, tuned on since",
          "blind2_tune": "a second blind batch, looked at while tuning",
          "blind2": "a second blind batch; reported untuned 2026-12-02, tuned on since",
          "blind3_tune": "a third blind batch (2026-12-03), looked at while tuning",
          "blind3": "a third blind batch (2026-12-03); reported untuned 2026-12-03, tuned on since",
          "blind4_tune": "a fourth blind batch (2026-12-03), looked at while tuning",
          "blind4": "a fourth blind batch (2026-12-03); reported untuned 2026-12-03, its texts never read",
          "blind5_tune": "a fifth blind batch (2026-12-03), looked at while tuning",
          "blind5": "a fifth blind batch (2026-12-03), never tuned on",
          "blind6_tune": "a sixth blind batch (2026-12-07), looked at while tuning",
          "blind6": "a sixth blind batch (2026-12-07), never tuned on",
          "blind7_tune": "a seventh blind batch (2026-12-07), looked at while tuning",
          "blind7": "a seventh blind batch (2026-12-07), never tuned on",
          "blind8_tune": "an eighth blind batch (2026-12-08), looked at while tuning",
          "blind8": "an eighth blind batch (2026-12-08), never tuned on"}


def verdicts_of(defaults: dict[str, dict[str, str]], direction: str, judged: dict[str, Any]) -> dict[str, str]:
    """An inspector's verdicts on one call: a clean call's by direction, with what they said differs."""
    return {**defaults[direction], **(judged.get("differs") or {})}


def truths(folder: Path = SETS["fresh"]) -> list[dict[str, Any]]:
    """Each call of a set as a truth dict: text-level turn times and the inspector's verdicts."""
    voices, calls = load_scripts(folder / "scripts.yaml")
    expected = yaml.safe_load((folder / "expected.yaml").read_text(encoding="utf-8"))
    made = []
    for call in calls:
        judged = expected["calls"][call.id]
        turns, cursor = [], LEAD_IN
        for i, turn in enumerate(call.turns):
            pace = CHARS_PER_SECOND * turn.rate * voices[turn.role].rate
            length = len(normalise(turn.text)) / pace
            if i == 0:
                start = cursor
            elif turn.overlap is not None:
                start = turns[-1]["end"] - turn.overlap
            else:
                start = cursor + (turn.hold or turn.pause_before or sum(DEFAULT_PAUSE) / 2)
            turns.append({"role": turn.role, "start": round(start, 3), "end": round(start + length, 3),
                          "text": turn.text})
            cursor = max(cursor, start + length)
        made.append({"call_id": call.id, "direction": call.direction, "channels": call.channels,
                     "duration": round(cursor + 0.7, 3), "tags": call.tags, "turns": turns,
                     "split": judged["split"], "fatal": judged["fatal"],
                     "expected_verdicts": verdicts_of(expected["defaults"], call.direction, judged)})
    return made


def report(split: str, calls: list[dict[str, Any]], transcribed: list[Transcript],
           rules: RuleSet) -> tuple[dict[str, Any], dict[str, Scorecard]]:
    print(f"\n== {split}: {len(calls)} calls ({SPLITS[split]}) ==")
    found = compare(calls, transcribed, rules)
    due = [c for c in calls if c["fatal"]]
    caught = [c for c in due if found.cards[c["call_id"]].fatal]
    wrong = [c["call_id"] for c in calls if not c["fatal"] and found.cards[c["call_id"]].fatal]
    polite = [c for c in calls if not c["fatal"] and {"polite_limit", "question_repeat", "laughter"} & set(c["tags"])]
    print()
    found.print()
    print(f"fatal verdicts where the inspector confirms a 高压线      {len(caught)} of {len(due)}")
    print(f"fatal verdicts on calls without one                       {len(wrong)} {wrong or ''}")
    print(f"  of them on polite limits, questions, laughter           "
          f"{sum(found.cards[c['call_id']].fatal for c in polite)} of {len(polite)} such calls")
    trust = fail_trust(calls, found.cards, rules.template.review_below_confidence)
    for band, (count, right) in trust.items():
        print(f"failed verdicts {band:13} (confidence): the inspector agrees  "
              + (f"{right} of {count} ({right / count:.0%})" if count else "none"))
    kinds = disagreement_kinds(calls, found.cards, rules)
    print("disagreeing item verdicts, by kind:")
    for kind, count in kinds.most_common():
        print(f"  {count:3}  {kind}")
    return ({**found.summary(), "fatal_recall": len(caught) / len(due) if due else None,
             "fatal_due": len(due), "wrong_fatal": wrong, "polite_calls": len(polite),
             "failed_verdicts_by_confidence": trust, "disagreements_by_kind": dict(kinds)}, found.cards)


def disagreement_kinds(calls: list[dict[str, Any]], cards: dict[str, Scorecard], rules: RuleSet) -> Counter[str]:
    """Each item verdict that differs from the inspector's, by what kind of difference it is: the
    definitions a brief and the product read differently, a red line both see filed under another
    red-line item, and the rest (the scorer's own misses and false hits)."""
    items = {item.id: item for _, item in rules.items()}
    kinds: Counter[str] = Counter()
    for call in calls:
        card = cards[call["call_id"]]
        for v in card.verdicts:
            want = call["expected_verdicts"][v.item]
            if v.verdict == want:
                continue
            item = items[v.item]
            if isinstance(item, HoldItem) and (v.verdict, want) == ("pass", "na"):
                kind = "an announced hold the inspector left n/a (a hold makes the item apply)"
            elif isinstance(item, HoldItem) and (v.verdict, want) == ("fail", "na") \
                    and "保持前没有交代" in v.reason and "保持后没有交代" in v.reason:
                kind = "a silence with neither hold phrase, which the inspector's brief called no hold (unannounced: fail)"
            elif v.item == "courtesy.please" and (v.verdict, want) == ("pass", "fail") and all(
                    e.matched == "请" and "请问" in e.text for e in v.evidence):
                kind = "请问 taken as a use of 请 (as the brief says), which the inspector did not count"
            elif v.area == "forbidden" and (item.fatal or v.fatal) and card.fatal and call["fatal"]:
                kind = "a 高压线 both see, filed under another red-line item"
            else:
                kind = f"other: {v.item} {v.verdict} where the inspector has {want}"
            kinds[kind] += 1
    return kinds


def fail_trust(calls: list[dict[str, Any]], cards: dict[str, Scorecard], review_below: float) -> dict[str, list[int]]:
    """Whether a failed verdict's confidence means something: per band (sent to an inspector first,
    below review_below; sure, 0.9 and over; between), how many fails and how many the inspector
    also fails."""
    names = (f"< {review_below:g}", f"{review_below:g}-0.9", ">= 0.9")
    bands = {name: [0, 0] for name in names}
    for call in calls:
        for v in cards[call["call_id"]].verdicts:
            if v.verdict == "fail":
                name = names[0] if v.confidence < review_below else names[2] if v.confidence >= 0.9 else names[1]
                bands[name][0] += 1
                bands[name][1] += call["expected_verdicts"][v.item] == "fail"
    return bands


def second_opinion(calls: list[dict[str, Any]], path: Path, cards: dict[str, Scorecard],
                   folder: Path) -> dict[str, Any]:
    """How often a second inspector, labelling the same scripts alone, agrees with the first, and
    with the scorer: the ceiling an agreement figure can be read against."""
    second = yaml.safe_load(path.read_text(encoding="utf-8"))["calls"]
    both = [c for c in calls if c["call_id"] in second]
    defaults = yaml.safe_load((folder / "expected.yaml").read_text(encoding="utf-8"))["defaults"]
    pairs = {"first inspector": lambda c: c["expected_verdicts"],
             "scorer": lambda c: {v.item: v.verdict for v in cards[c["call_id"]].verdicts}}
    print(f"\n== a second inspector on {len(both)} of these calls ({path.name}), against ==")
    print(f"{'':28}" + "".join(f"{a:>10}" for a in AREAS) + "     items  fatal")
    figures = {}
    for name, verdicts in pairs.items():
        agree = dict.fromkeys(AREAS, 0)
        items = same_fatal = total = 0
        for call in both:
            theirs = verdicts_of(defaults, call["direction"], second[call["call_id"]])
            ours = verdicts(call)
            for area in AREAS:
                agree[area] += all(ours[i] == v for i, v in theirs.items() if i.startswith(area + "."))
            items += sum(ours[i] == v for i, v in theirs.items())
            total += len(theirs)
            fatal = call["fatal"] if name == "first inspector" else cards[call["call_id"]].fatal
            same_fatal += fatal == second[call["call_id"]]["fatal"]
        figures[name] = {"agreement_by_area": {a: agree[a] / len(both) for a in AREAS},
                         "item_agreement": items / total, "fatal_agreement": same_fatal / len(both)}
        print(f"{name:28}" + "".join(f"{agree[a] / len(both):>10.0%}" for a in AREAS)
              + f"{items / total:>10.1%}{same_fatal / len(both):>7.0%}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", choices=sorted(SETS), default="fresh", help="which set of calls (default: fresh)")
    parser.add_argument("--audio", action="store_true", help="score the rendered calls in samples/<set>/calls")
    parser.add_argument("--transcripts", type=Path, help="with --audio: folder of <call>.json transcripts")
    parser.add_argument("--split", choices=sorted(SPLITS), help="score and show only this part of the set")
    parser.add_argument("--second", type=Path, help="a second inspector's verdicts on some of the calls (same form"
                        " as expected.yaml's calls): print how often the two inspectors, and the scorer, agree")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    rules = load_rules()
    folder = SETS[args.set]
    calls = [c for c in truths(folder) if args.split in (None, c["split"])]
    if not calls:
        parser.error(f"no calls of split {args.split!r} in {folder}")
    if args.audio:
        calls = [c for c in calls if (folder / "calls" / f"{c['call_id']}.wav").exists()]
        if not calls:
            parser.error(f"no rendered calls in {folder / 'calls'}: render them first (see --help)")
        transcribed = transcripts(args.transcripts, calls, folder / "calls",
                                  REPO_ROOT / "out" / f"{args.set}-transcripts")
    else:
        transcribed = [transcript_from_truth(c) for c in calls]
    print(f"{len(calls)} {args.set} calls, {'speech pipeline on the rendered audio' if args.audio else 'text-level'}"
          f" transcripts; areas: {', '.join(AREAS)}")
    summary: dict[str, Any] = {}
    cards: dict[str, Scorecard] = {}
    for split in SPLITS:
        part = [(c, t) for c, t in zip(calls, transcribed) if c["split"] == split]
        if part:
            summary[split], found = report(split, [c for c, _ in part], [t for _, t in part], rules)
            cards.update(found)
    if args.second:
        summary["second_inspector"] = second_opinion(calls, args.second, cards, folder)
    if args.json:
        args.json.write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
