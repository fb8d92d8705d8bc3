"""Training a version of the learned models and measuring it on calls it never saw.

The calls confirmed last (the last `held_out_share` of them) are held out: a model fitted on the
earlier ones is scored on them, the way it will be used, on calls newer than its training data.
The version that is stored is then fitted on every call, and carries the held-out figures.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sklearn.metrics import roc_auc_score

from qa.learning.features import ItemCase
from qa.learning.model import LearnedModels, call_p_wrong, fit_models, p_wrong

QUEUE_HEAD = 0.1  # the first tenth of the queue, as the acceptance measures it


@dataclass(frozen=True)
class LabelledCase:
    """An item case with the inspectors' final verdict; `order` sorts calls oldest first."""

    call: Hashable
    order: Any
    case: ItemCase
    fail: bool

    @property
    def wrong(self) -> bool:
        """The automatic verdict differed from the final one (fail against not fail)."""
        return self.case.auto_fail != self.fail


def split_latest(examples: Sequence[LabelledCase], held_out_share: float
                 ) -> tuple[list[LabelledCase], list[LabelledCase]]:
    """(earlier calls, the latest `held_out_share` of calls): a call's items stay together."""
    calls = sorted({(e.order, e.call) for e in examples}, key=lambda c: (c[0], str(c[1])))
    held = {call for _, call in calls[len(calls) - math.floor(len(calls) * held_out_share):]} \
        if held_out_share > 0 else set()
    return [e for e in examples if e.call not in held], [e for e in examples if e.call in held]


def call_scores(examples: Sequence[LabelledCase], p_fail: Sequence[float]) -> dict[Hashable, float]:
    """Each call's P(some automatic verdict is wrong), from its items' P(fail)."""
    per_call: dict[Hashable, list[float]] = {}
    for example, p in zip(examples, p_fail):
        per_call.setdefault(example.call, []).append(p_wrong(example.case.auto_fail, p))
    return {call: call_p_wrong(items) for call, items in per_call.items()}


def queue_figures(examples: Sequence[LabelledCase], scores: Mapping[Hashable, float], head: float = QUEUE_HEAD
                  ) -> dict[str, Any]:
    """Order the examples' calls by `scores` (highest first) and count the wrong automatic verdicts
    in the first `head` of the queue against what a random order finds there on average."""
    wrong: dict[Hashable, int] = {}
    for example in examples:
        wrong[example.call] = wrong.get(example.call, 0) + example.wrong
    order = sorted(wrong, key=lambda c: (-scores[c], str(c)))
    taken = math.ceil(len(order) * head)
    found = sum(wrong[c] for c in order[:taken])
    total = sum(wrong.values())
    expected = total * taken / len(order) if order else 0.0
    return {"calls": len(order), "wrong_verdicts": total, "head_calls": taken, "found_in_head": found,
            "expected_at_random": round(expected, 3), "lift": round(found / expected, 3) if expected else None}


def _share(hits: int, count: int) -> float | None:
    return round(hits / count, 4) if count else None


def agreement_figures(examples: Sequence[LabelledCase], p_fail: Sequence[float]) -> dict[str, Any]:
    """How the rules and the model each agree with the final verdicts (fail against not fail)."""
    fails = [e.fail for e in examples]
    figures: dict[str, Any] = {
        "verdicts": len(examples), "fails": sum(fails), "wrong": sum(e.wrong for e in examples),
        "rule_agreement": _share(sum(not e.wrong for e in examples), len(examples)),
        "model_agreement": _share(sum((p >= 0.5) == e.fail for e, p in zip(examples, p_fail)), len(examples)),
        "auc": None,
    }
    if 0 < sum(fails) < len(fails):
        figures["auc"] = round(float(roc_auc_score(fails, p_fail)), 4)
    return figures


def evaluate(train: Sequence[LabelledCase], held: Sequence[LabelledCase], flag_above: float) -> dict[str, Any]:
    """Fit on `train`, score on `held`: per area and overall, plus the queue figures."""
    scores: dict[str, Any] = {"trained_on": {"calls": len({e.call for e in train}), "verdicts": len(train)},
                              "areas": {}}
    if not train or not held:
        return scores
    models = fit_models([e.case for e in train], [e.fail for e in train], flag_above)
    predicted = models.p_fail([e.case for e in held])
    known = [(e, p) for e, p in zip(held, predicted) if p is not None]
    for area in sorted({e.case.area for e, _ in known}):
        chosen = [(e, p) for e, p in known if e.case.area == area]
        scores["areas"][area] = agreement_figures([e for e, _ in chosen], [p for _, p in chosen])
    scores["overall"] = agreement_figures([e for e, _ in known], [p for _, p in known])
    held_known = [e for e, _ in known]
    scores["queue"] = queue_figures(held_known, call_scores(held_known, [p for _, p in known]))
    return scores


def train(examples: Sequence[LabelledCase], flag_above: float, held_out_share: float
          ) -> tuple[LearnedModels, dict[str, Any]]:
    """The models fitted on every example, and the held-out scores of the same fit on the earlier calls."""
    earlier, latest = split_latest(examples, held_out_share)
    scores = evaluate(earlier, latest, flag_above)
    scores["held_out_share"] = held_out_share
    models = fit_models([e.case for e in examples], [e.fail for e in examples], flag_above)
    return models, scores
