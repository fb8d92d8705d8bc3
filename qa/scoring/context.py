"""How much a forbidden phrase weighs where it was said: a forbid item's context rules, in order.

The documents list phrases as 高压线 (004:L316) and also say what makes them one: 敷衍、不尊重、
质疑、不耐烦 that is 恶劣 (004:L312). The same 没有办法 is a refusal thrown at the customer in one
turn and a limit explained with an apology and an alternative in the next, so the checklist says,
as data, which surroundings make a hit fatal, an ordinary deduction, a case for an inspector, or
nothing. The first rule whose conditions all hold decides; a hit no rule takes keeps the item's
own weight.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qa.scoring.patterns import Hit, Pattern
from qa.scoring.schema import ContextRule, ForbidItem, Item
from qa.scoring.text import SearchText, Span, normalise

if TYPE_CHECKING:
    from qa.scoring.engine import CallContext

SENTENCE_ENDS = set("。！？!?；;~\n")
QUESTION_MARKS = set("？?")
QUESTION_PARTICLE = "吗"  # a sentence that ends in 吗 asks, with or without a question mark
ALONE_MAX_REST = 2  # "alone": besides the phrase the turn has at most this many characters (啊, 的)
REVIEW_CONFIDENCE = 0.6  # product default for then: review, below the template's 0.7


@dataclass(frozen=True)
class Weight:
    """What one hit weighs: its severity, the points if it is an ordinary deduction, a cap on the
    verdict's confidence, and the reason in the centre's words (empty: the item's own weight)."""

    severity: str
    deduct: float
    confidence: float | None
    reason: str


def item_weight(item: Item) -> Weight:
    return Weight("fatal" if item.fatal else "deduct", item.deduct, None, "")


# The conditions of a context rule in the order they are checked (the first that fails ends it),
# and those of them that hold patterns (compiled by the loader as context.<j>.if.<name>), with where
# inside the condition the pattern is.
CONDITIONS = ("how", "hit", "turn", "alone", "question", "repeats_customer", "customer_before", "customer_after",
              "outnumbered_by")
PATTERN_CONDITIONS: dict[str, tuple[str, ...]] = {
    "hit": (), "turn": (), "customer_before": (), "customer_after": (), "outnumbered_by": ("pattern",)}


@dataclass(frozen=True)
class ContextPlan:
    """An item's context rules made ready for weighing hits: per rule its conditions, as
    (name, wanted value, compiled pattern or None), and the weight it gives; then the item's own."""

    rules: tuple[tuple[tuple[tuple[str, Any, Pattern | None], ...], Weight], ...]
    default: Weight


def context_plan(item: ForbidItem, patterns: dict[str, Pattern]) -> ContextPlan:
    planned = []
    for j, rule in enumerate(item.context or []):
        conditions = tuple((name, getattr(rule.if_, name),
                            patterns[f"context.{j}.if.{name}"] if name in PATTERN_CONDITIONS else None)
                           for name in CONDITIONS if rule.if_ is not None and getattr(rule.if_, name) is not None)
        planned.append((conditions, _weight_of(rule, item)))
    return ContextPlan(tuple(planned), item_weight(item))


def weigh(ctx: CallContext, item: ForbidItem, patterns: dict[str, Pattern], text: SearchText, hit: Hit,
          plan: ContextPlan | None = None) -> Weight:
    """The first of the item's context rules that this hit meets, or the item's own weight."""
    plan = plan or context_plan(item, patterns)
    if not plan.rules:
        return plan.default
    span = text.span(hit.start, hit.end)
    for conditions, weight in plan.rules:
        if all(_holds(ctx, name, wanted, pattern, text, hit, span, patterns) for name, wanted, pattern in conditions):
            return weight
    return plan.default


def _weight_of(rule: ContextRule, item: Item) -> Weight:
    deduct = {"fatal": 0.0, "pass": 0.0}.get(rule.then, rule.deduct if rule.deduct is not None else item.deduct)
    confidence = (rule.confidence or REVIEW_CONFIDENCE) if rule.then == "review" else None
    return Weight(rule.then, deduct, confidence, rule.reason)


def _holds(ctx: CallContext, name: str, wanted: Any, pattern: Pattern | None, text: SearchText, hit: Hit,
           span: Span, patterns: dict[str, Pattern]) -> bool:
    """Whether the hit meets one condition of a context rule (`patterns`: the item's own)."""
    if name == "how":
        return hit.how == wanted
    if name == "alone":
        return (len(normalise(ctx.turns[span.turn].text)) - (hit.end - hit.start) <= ALONE_MAX_REST) == wanted
    if name == "question":
        return _in_question(ctx, span) == wanted
    if name == "repeats_customer":
        return _customer_said_just_before(ctx, span.turn, text.chars[hit.start:hit.end]) == wanted
    assert pattern is not None, name  # the remaining conditions are patterns, compiled by the loader
    if name == "hit":
        return any(h.start <= hit.start and hit.end <= h.end for h in pattern.find(text))
    if name == "turn":
        return _turn_says(ctx, pattern, span)
    if name == "customer_after":
        return bool(pattern.find(ctx.customer_reply(span.turn)))
    if name == "outnumbered_by":  # counted in the turns the item searches, against the item's own hits
        return len(pattern.find(text)) >= wanted.times * len(patterns["match"].find(text))
    return bool(pattern.find(ctx.customer_text_before(span.turn)))


def _turn_says(ctx: CallContext, pattern: Pattern, span: Span) -> bool:
    """The hit's turn also says the pattern, in words other than the hit's own."""
    turn_text = ctx.text([span.turn])
    for found in pattern.find(turn_text):
        if found.how == "absent":
            return True
        other = turn_text.span(found.start, found.end)
        if other.last_word < span.first_word or other.first_word > span.last_word:
            return True
    return False


def _in_question(ctx: CallContext, span: Span) -> bool:
    """The sentence holding the hit ends with a question mark, or with 吗."""
    tail = ""
    for word in ctx.turns[span.turn].words[span.last_word:]:
        for char in word.text:
            if char in SENTENCE_ENDS:
                return char in QUESTION_MARKS or normalise(tail).endswith(QUESTION_PARTICLE)
            tail += char
    return normalise(tail).endswith(QUESTION_PARTICLE)


def _customer_said_just_before(ctx: CallContext, turn: int, said: str) -> bool:
    """The customer's last turn before this one holds the same words (the agent repeats them)."""
    before = next((i for i in range(turn - 1, -1, -1) if ctx.turns[i].role == "customer"), None)
    return before is not None and said in normalise(ctx.turns[before].text)
