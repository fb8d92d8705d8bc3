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
from typing import TYPE_CHECKING

from qa.scoring.patterns import Hit, Pattern
from qa.scoring.schema import Context, ContextRule, Item
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


def weigh(ctx: CallContext, item: Item, patterns: dict[str, Pattern], text: SearchText, hit: Hit) -> Weight:
    """The first of the item's context rules that this hit meets, or the item's own weight."""
    span = text.span(hit.start, hit.end)
    for j, rule in enumerate(item.context or []):
        if rule.if_ is None or _meets(ctx, rule.if_, _Patterns(patterns, j), text, hit, span):
            return _weight_of(rule, item)
    return item_weight(item)


def _weight_of(rule: ContextRule, item: Item) -> Weight:
    deduct = {"fatal": 0.0, "pass": 0.0}.get(rule.then, rule.deduct if rule.deduct is not None else item.deduct)
    confidence = (rule.confidence or REVIEW_CONFIDENCE) if rule.then == "review" else None
    return Weight(rule.then, deduct, confidence, rule.reason)


class _Patterns:
    """The compiled patterns of context rule j (the loader names them context.<j>.if.<condition>)."""

    def __init__(self, patterns: dict[str, Pattern], j: int) -> None:
        self.patterns, self.j = patterns, j

    def __getitem__(self, condition: str) -> Pattern:
        return self.patterns[f"context.{self.j}.if.{condition}"]


def _meets(ctx: CallContext, when: Context, patterns: _Patterns, text: SearchText, hit: Hit, span: Span) -> bool:
    checks = {
        "how": lambda: hit.how == when.how,
        "hit": lambda: any(h.start < hit.end and hit.start < h.end for h in patterns["hit"].find(text)),
        "turn": lambda: _turn_says(ctx, patterns["turn"], span),
        "alone": lambda: (len(normalise(ctx.turns[span.turn].text)) - (hit.end - hit.start)
                          <= ALONE_MAX_REST) == when.alone,
        "question": lambda: _in_question(ctx, span) == when.question,
        "repeats_customer": lambda: _customer_said_just_before(ctx, span.turn, text.chars[hit.start:hit.end])
        == when.repeats_customer,
        "customer_before": lambda: bool(patterns["customer_before"].find(ctx.text(
            [i for i in range(span.turn) if ctx.turns[i].role == "customer"]))),
    }
    return all(check() for name, check in checks.items() if getattr(when, name) is not None)


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
