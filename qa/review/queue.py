"""The inspectors' queue: in which order calls come up for review, and which passing calls are
drawn for review anyway (a reproducible sample)."""

from __future__ import annotations

import hashlib

from qa.config import ReviewConfig
from qa.scoring.scorecard import Scorecard, VerdictValue

# Inspector queue order (calls.risk, highest first), in tiers that never overlap; see risk_of.
FATAL_RISK = 10_000.0
RISK_PER_POINT = 10.0
MAX_DOUBT_RISK = 9.99
DEFAULT_SAMPLE_RATE = ReviewConfig().sample_rate


def risk_of(card: Scorecard, review_below: float) -> float:
    """How urgently an inspector should look at a call (higher first), in three tiers:

    risk = 10 000 × [a fatal item failed]
         + 10 × (points deducted by failed items)
         + doubt, where doubt = Σ over verdicts that are not 'na' of max(0, review_below − confidence)
           / review_below, capped at 9.99.

    So a fatal failure outranks any number of deductions, one deducted point outranks any amount
    of doubt, and among calls alike in both the least certain comes first.
    """
    deducted = sum(v.deduct for v in card.verdicts if v.verdict == VerdictValue.FAIL)
    shortfall = sum(max(0.0, review_below - v.confidence) for v in card.verdicts if v.verdict != VerdictValue.NA)
    doubt = shortfall / review_below if review_below > 0 else 0.0
    return FATAL_RISK * card.fatal + RISK_PER_POINT * deducted + min(MAX_DOUBT_RISK, doubt)


def is_sampled(card: Scorecard, sha256: str, rate: float) -> bool:
    """Whether a passing call (no item failed) is drawn for review: reproducibly, from its audio hash.

    The draw is the first 64 bits of SHA-256("review-sample:" + audio SHA-256) as a fraction of 2^64.
    """
    if any(v.verdict == VerdictValue.FAIL for v in card.verdicts):
        return False
    draw = int(hashlib.sha256(f"review-sample:{sha256}".encode()).hexdigest()[:16], 16) / 2**64
    return draw < rate
