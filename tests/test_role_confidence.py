"""An unsure split of the parties makes the role-dependent verdicts unsure and the call rise in the queue."""

from __future__ import annotations

from dataclasses import replace

from conftest import sample_truth

from qa.evaluation import transcript_from_truth
from qa.review.queue import risk_of
from qa.scoring.engine import score_transcript
from qa.scoring.loader import load_rules


def test_low_role_confidence_lowers_role_verdicts_and_raises_the_call_in_the_queue() -> None:
    rules = load_rules()
    sure = transcript_from_truth(sample_truth("c04_no_closing"))
    unsure = transcript_from_truth(sample_truth("c04_no_closing"))
    unsure.roles = replace(unsure.roles, confidence=0.3, review=["close_voices"])
    sure_card, unsure_card = score_transcript(sure, rules), score_transcript(unsure, rules)
    pairs = [(a, b) for a, b in zip(sure_card.verdicts, unsure_card.verdicts) if a.verdict != "na"]
    assert any(b.confidence < a.confidence for a, b in pairs)
    assert all(b.confidence <= a.confidence for a, b in pairs)
    review_below = rules.template.review_below_confidence
    assert risk_of(unsure_card, review_below) > risk_of(sure_card, review_below)


def test_a_red_line_in_a_call_unsure_of_who_the_agent_is_goes_to_an_inspector() -> None:
    rules = load_rules()
    refusal = transcript_from_truth(sample_truth("c11_refusal_taboo"))
    assert score_transcript(refusal, rules).fatal
    refusal.roles = replace(refusal.roles, confidence=0.7, review=["close_voices"])
    card = score_transcript(refusal, rules)
    assert not card.fatal
    dismissive = next(v for v in card.verdicts if v.item == "forbidden.dismissive")
    assert (dismissive.verdict, dismissive.fatal) == ("fail", False)
    assert "谁是坐席不够确定（0.70，低于 0.8）" in dismissive.reason and "forbidden.dismissive" in card.needs_review
