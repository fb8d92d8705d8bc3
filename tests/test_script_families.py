"""Scripts in the words people use: the phrase families of the greeting, closing, courtesy and hold
items pass on common real variants (ours, written after the real corpus's forms), and never on
the customer's words."""

from __future__ import annotations

import pytest
from test_scoring_rules import OPENING, judge, make_call

from qa.scoring.engine import score_transcript
from qa.scoring.loader import RuleSet, load_rules


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules()


@pytest.mark.parametrize(("item", "said"), [
    ("closing.inbound_thanks", "感谢您的理解与支持，欢迎再次来电，再见。"),  # the closing
    ("closing.inbound_thanks", "谢谢您致电和诚运盈，祝您生活愉快。"),
    ("closing.inbound_thanks", "有问题欢迎随时联系我们，再会。"),
    ("closing.goodbye", "那先这样，祝您生活愉快，再会。"),
    ("greeting.offer_help", "您好，请问有什么问题我可以帮您处理？"),
    ("greeting.offer_help", "您好，请问您想咨询哪方面的业务？"),
    ("greeting.introduce", "您好，欢迎致电和诚运盈，请问有什么可以帮您？"),
    ("greeting.introduce", "您好，这边是和诚运盈售后，请讲。"),
    # the second blind batch (samples/blind2), our own words
    ("greeting.offer_help", "您好，和诚运盈客服，请问今天要办理点什么？"),
    ("closing.inbound_thanks", "谢谢您的反映，以后有问题随时打电话过来，再见。"),
    # the fourth and fifth blind batches (their tuning halves), our own words
    ("greeting.introduce", "您好，安居家政保洁，请问有什么可以帮您？"),  # the name between hello and offer
    ("closing.inbound_thanks", "再次说声抱歉，谢谢您还愿意给我们机会，再见。"),
])
def test_a_real_variant_of_a_script_passes(rules: RuleSet, item: str, said: str) -> None:
    assert judge(rules, item, ("agent", 0.5, 5.0, said, 1.0)).verdict == "pass"


def test_a_variant_heard_by_sound_passes_too(rules: RuleSet) -> None:
    v = judge(rules, "closing.inbound_thanks", ("agent", 0.5, 4.0, "欢迎在次来电，再见。", 1.0))
    assert v.verdict == "pass" and v.evidence[0].how == "sound"


@pytest.mark.parametrize(("item", "customer"), [
    ("closing.inbound_thanks", "好的，感谢您的来电，欢迎再次来电，再见。"),
    ("closing.goodbye", "好的再见。"),
    ("greeting.offer_help", "你好，有什么可以帮我的吗？"),
])
def test_a_script_said_only_by_the_customer_does_not_pass(rules: RuleSet, item: str, customer: str) -> None:
    v = judge(rules, item, OPENING, ("customer", 5.0, 9.0, customer, 1.0), ("agent", 9.5, 11.0, "好的。", 1.0))
    if item == "greeting.offer_help":  # the opening offers help; the customer's words add nothing
        assert all(e.role == "agent" for e in v.evidence)
    else:
        assert v.verdict == "fail"


def test_thanks_for_waiting_after_a_hold_counts_as_its_return_phrase(rules: RuleSet) -> None:
    v = judge(rules, "acoustic.hold_phrases", OPENING, ("agent", 5.0, 8.0, "我帮您查一下，请您耐心等待。", 1.0),
              ("agent", 14.0, 17.0, "感谢您的耐心等待，已经查到了。", 1.0))
    assert v.verdict == "pass"


@pytest.mark.parametrize("back", ["谢谢您等我，查到了。", "辛苦您等这么久，已经办好了。"])
def test_thanks_for_waiting_in_other_words_counts_too(rules: RuleSet, back: str) -> None:
    v = judge(rules, "acoustic.hold_phrases", OPENING, ("agent", 5.0, 8.0, "麻烦您稍等，我查一下。", 1.0),
              ("agent", 14.0, 17.0, back, 1.0))
    assert v.verdict == "pass"


@pytest.mark.parametrize("opening", [
    "您好，请问有什么可以帮您？",  # no name said
    "您好，早上好，请问有什么可以帮您？",  # a second greeting is no name
    "您好，很高兴为您服务，请问有什么可以帮您？",
])
def test_an_opening_without_a_name_is_no_introduction(rules: RuleSet, opening: str) -> None:
    assert judge(rules, "greeting.introduce", ("agent", 0.5, 4.0, opening, 1.0)).verdict == "fail"


def test_the_customers_company_named_by_the_agent_is_no_introduction(rules: RuleSet) -> None:
    v = judge(rules, "greeting.introduce", ("agent", 0.5, 5.0, "王经理您好，您公司那台打印机的合同快到期了。", 1.0),
              direction="outbound")
    assert v.verdict == "fail"


@pytest.mark.parametrize("opening", [
    "您好，是刘建国吗？我是安居家政的小周。",  # asking for the customer by name
    "张女士您好，我是安居家政的小周，给您回个电话，您现在方便吗？",
])
def test_outbound_openings_in_other_words_make_the_call_outbound(rules: RuleSet, opening: str) -> None:
    card = score_transcript(make_call(("agent", 0.5, 5.0, opening, 1.0), ("customer", 5.5, 7.0, "是我，你说。", 1.0)),
                            rules)
    assert card.facts.direction == "outbound"
