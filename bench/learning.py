"""Learning from inspectors, measured: the samples' variant calls (samples/variants.py) scored by
the default checklists, inspectors simulated by the variants' expected verdicts, models trained on
part of the calls and measured on the rest.

Prints, on the held-out calls: agreement of the automatic verdicts with the inspectors' before
learning; the model's own agreement; agreement after a manager accepts each item's best
suggested phrase (learned from the training calls only) and the calls are scored again; and the
share of wrong automatic verdicts found in the first 10 % of the queue when it is ordered by the
model, by the product's risk order, at random, and in the best possible order (acceptance: the
model's at least 2x random).
Repeated over several random splits.

    python bench/learning.py [--per-sample 30] [--repeats 5] [--noise 0.02] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from qa.bundled import CHECKOUT as REPO_ROOT
from qa.evaluation import transcript_from_truth
from qa.learning.features import RuleVerdict, item_cases
from qa.learning.model import fit_models
from qa.learning.phrases import PhraseError, add_phrase
from qa.learning.suggestions import Suggestion, suggest_phrases
from qa.learning.training import LabelledCase, agreement_figures, call_scores, queue_figures, split_latest
from qa.review.queue import risk_of
from qa.scoring.engine import score_transcript
from qa.scoring.loader import DEFAULTS_DIR, RuleSet, load_rules
from qa.scoring.scorecard import Scorecard

sys.path.insert(0, str(REPO_ROOT / "samples"))
from variants import variants  # samples/ is a folder of scripts, not a package

FLAG_ABOVE = 0.7  # learning.flag_above's default


def labelled(calls: list[dict[str, Any]], rules: RuleSet, order: dict[str, float]
             ) -> tuple[list[LabelledCase], dict[str, Scorecard]]:
    """Score every call and label its items with the simulated inspector's verdict."""
    examples, cards = [], {}
    for data in calls:
        transcript = transcript_from_truth(data)
        card = score_transcript(transcript, rules, data["direction"])
        cards[data["call_id"]] = card
        rule_verdicts = [RuleVerdict.of_scored(v) for v in card.verdicts]
        for case in item_cases(transcript, rule_verdicts, rules, data["direction"]):
            examples.append(LabelledCase(data["call_id"], order[data["call_id"]], case,
                                         data["expected_verdicts"][case.item] == "fail"))
    return examples, cards


def accept_best(suggestions: list[Suggestion], directory: Path) -> list[str]:
    """A manager accepts each item's best suggestion into a copy of the checklists."""
    accepted, seen = [], set()
    for suggestion in suggestions:
        if suggestion.item in seen:
            continue
        seen.add(suggestion.item)
        try:
            add_phrase(directory, suggestion.item, suggestion.phrase)
            accepted.append(f"{suggestion.item} += {suggestion.phrase}")
        except PhraseError as exc:
            accepted.append(f"{suggestion.item}: not added ({exc})")
    return accepted


def one_split(calls: list[dict[str, Any]], rules: RuleSet, seed: int, held_out_share: float) -> dict[str, Any]:
    shuffled = [c["call_id"] for c in calls]
    random.Random(seed).shuffle(shuffled)
    order = {call: float(i) for i, call in enumerate(shuffled)}
    examples, cards = labelled(calls, rules, order)
    train, held = split_latest(examples, held_out_share)
    models = fit_models([e.case for e in train], [e.fail for e in train], FLAG_ABOVE)
    p_fail = [p if p is not None else 0.0 for p in models.p_fail([e.case for e in held])]
    held_calls = {e.call for e in held}
    risk = {call: risk_of(cards[call], rules.template.review_below_confidence) for call in held_calls}
    draw = random.Random(seed + 1)
    shuffled_scores = {call: draw.random() for call in sorted(held_calls)}

    suggestions = suggest_phrases(train, rules)
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch) / "checklists"
        shutil.copytree(DEFAULTS_DIR, directory)
        accepted = accept_best(suggestions, directory)
        learned_rules = load_rules(directory)
        relabelled, _ = labelled([c for c in calls if c["call_id"] in held_calls], learned_rules, order)
    return {
        "seed": seed, "train_calls": len({e.call for e in train}), "held_out_calls": len(held_calls),
        "rules": agreement_figures(held, p_fail),
        "rules_with_accepted_phrases": agreement_figures(relabelled, [0.0] * len(relabelled)),
        "queue_model": queue_figures(held, call_scores(held, p_fail)),
        "queue_risk": queue_figures(held, risk),
        "queue_random": queue_figures(held, shuffled_scores),
        "queue_best": queue_figures(held, {call: sum(e.wrong for e in held if e.call == call) for call in held_calls}),
        "accepted": accepted,
        "suggestions": [s.to_dict() for s in suggestions],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-sample", type=int, default=30, help="variant calls per sample call (12 samples)")
    parser.add_argument("--repeats", type=int, default=5, help="random train / held-out splits")
    parser.add_argument("--held-out", type=float, default=0.3, help="share of calls held out of training")
    parser.add_argument("--noise", type=float, default=0.02, help="share of characters misheard")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    calls = variants(args.per_sample, args.seed, args.noise)
    rules = load_rules()
    runs = [one_split(calls, rules, args.seed + r, args.held_out) for r in range(args.repeats)]

    print(f"{len(calls)} variant calls of 12 samples, {args.noise:.0%} of characters misheard; "
          f"{runs[0]['train_calls']} trained on, {runs[0]['held_out_calls']} held out, {args.repeats} splits\n")
    print(f"{'split':>5} {'rules':>7} {'model':>7} {'AUC':>6} {'+phrases':>9}   wrong found in first 10 % of the queue")
    print(f"{'':>5} {'agree':>7} {'agree':>7} {'':>6} {'agree':>9}   {'model':>12} {'risk order':>12} {'random':>12} "
          f"{'best order':>12}")
    for run in runs:
        def found(q: dict[str, Any]) -> str:
            return f"{q['found_in_head']}/{q['wrong_verdicts']}"
        print(f"{run['seed']:>5} {run['rules']['rule_agreement']:>7.1%} {run['rules']['model_agreement']:>7.1%} "
              f"{run['rules']['auc'] or 0:>6.3f} {run['rules_with_accepted_phrases']['rule_agreement']:>9.1%}   "
              f"{found(run['queue_model']):>12} {found(run['queue_risk']):>12} {found(run['queue_random']):>12} "
              f"{found(run['queue_best']):>12}")
    lifts = [run["queue_model"]["lift"] for run in runs]
    risk_lifts = [run["queue_risk"]["lift"] for run in runs]
    summary = {
        "calls": len(calls), "repeats": args.repeats, "noise": args.noise,
        "rule_agreement": statistics.mean(r["rules"]["rule_agreement"] for r in runs),
        "model_agreement": statistics.mean(r["rules"]["model_agreement"] for r in runs),
        "agreement_with_accepted_phrases": statistics.mean(
            r["rules_with_accepted_phrases"]["rule_agreement"] for r in runs),
        "model_lift_mean": statistics.mean(lifts), "model_lift_min": min(lifts),
        "risk_order_lift_mean": statistics.mean(risk_lifts),
        "best_order_lift_mean": statistics.mean(run["queue_best"]["lift"] for run in runs),
    }
    print(f"\nitem verdicts agreeing with the inspectors (held out): rules {summary['rule_agreement']:.1%}, "
          f"model {summary['model_agreement']:.1%}, rules with the accepted phrases "
          f"{summary['agreement_with_accepted_phrases']:.1%}")
    print(f"first 10 % of the queue, wrong verdicts found against random order: model "
          f"{summary['model_lift_mean']:.2f}x (lowest {summary['model_lift_min']:.2f}x; acceptance >= 2x), "
          f"risk order {summary['risk_order_lift_mean']:.2f}x, best possible order {summary['best_order_lift_mean']:.2f}x")
    print("accepted in the first split: " + "; ".join(runs[0]["accepted"]))
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "runs": runs}, ensure_ascii=False, indent=1,
                                        default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
