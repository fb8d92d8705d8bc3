"""Severity from context: each condition form of a forbid item's context rules, and the real cases
of issue 15 (in our own words, not the corpus text): polite limits are never 高压线, refusals that
send the customer away are."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from test_scoring_rules import CLOSING, OPENING, make_call, verdict

from qa.scoring.engine import score_transcript
from qa.scoring.loader import RuleSet, load_checklist, load_rules
from qa.scoring.scorecard import Scorecard


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules()


def score(rules: RuleSet, *lines: tuple[str, str]) -> Scorecard:
    """A call with the standard opening and closing around these (role, text) lines."""
    timed = [(role, 5.0 + 5 * i, 9.0 + 5 * i, text, 1.0) for i, (role, text) in enumerate(lines)]
    closing = (CLOSING[0], 10.0 + 5 * len(lines), 13.0 + 5 * len(lines), *CLOSING[3:])
    return score_transcript(make_call(OPENING, *timed, closing), rules, "inbound")


# --- the real cases, paraphrased ----------------------------------------------------------

@pytest.mark.parametrize("said", [
    "实在抱歉，凭电话号码是没办法查到订单的。",  # apology, then the limit
    "这个地址没办法帮您改了，物流信息里有快递员的电话，您可以打给他商量一下。",  # an alternative
    "不好意思，我们这边没有办法，最晚可以给您延到下周五。",  # apology and an option
])
def test_a_limit_explained_politely_is_not_fatal(rules: RuleSet, said: str) -> None:
    card = score(rules, ("customer", "能帮我处理一下吗？"), ("agent", said))
    v = verdict(card, "forbidden.dismissive")
    assert v.verdict == "pass" and not card.fatal
    assert "说明限制" in v.reason and "004:L312" in v.reason
    assert v.evidence[0].matched in ("没办法", "没有办法")  # the inspector still sees what was said


def test_a_sound_alike_of_a_taboo_phrase_goes_to_an_inspector_not_to_zero(rules: RuleSet) -> None:
    # 虽然你 sounds like 谁让你 (sh/s and -ng/-n folded) but is a reassurance.
    card = score(rules, ("agent", "您放心，虽然你那边物流还没更新，包裹还在路上呢。"))
    v = verdict(card, "forbidden.questioning")
    assert (v.verdict, v.fatal) == ("fail", False) and not card.fatal
    assert v.confidence <= 0.5 and "forbidden.questioning" in card.needs_review
    assert "读音相近" in v.reason


def test_a_question_repeating_the_customer_is_not_a_refusal(rules: RuleSet) -> None:
    card = score(rules, ("customer", "重启以后游戏还是没办法玩。"), ("agent", "还是没办法玩吗？我帮您再看一下。"))
    v = verdict(card, "forbidden.dismissive")
    assert v.verdict == "pass" and "问句" in v.reason


@pytest.mark.parametrize("said", ["我不能给你改，你自己去弄吧。", "我不能帮您办，那就这样吧。"])
def test_i_cannot_that_sends_the_customer_away_is_fatal(rules: RuleSet, said: str) -> None:
    card = score(rules, ("customer", "那这个怎么办？"), ("agent", said))
    v = verdict(card, "forbidden.negative_language")
    assert (v.verdict, v.fatal) == ("fail", True) and card.fatal
    assert "004:L316" in v.reason and card.score == 0


def test_i_cannot_said_with_an_explanation_stays_an_ordinary_deduction(rules: RuleSet) -> None:
    card = score(rules, ("agent", "我不能直接给您退，年费是系统扣的，我帮您申请减免。"))
    v = verdict(card, "forbidden.negative_language")
    assert (v.verdict, v.fatal, v.deduct) == ("fail", False, 2) and not card.fatal


@pytest.mark.parametrize(("said", "fatal"), [
    ("电话里查不了，跟你说了去网点，别在电话里耽误时间了。", True),  # a limit, with impatience
    ("随便投诉，记录都在系统里。", True),  # daring the customer to complain
    ("抱歉，电话里查不了，您可以带上身份证去就近的网点，柜台能查到原因。", False),  # apology and the way
    ("这个业务电话里办不了，您可以自己去营业厅办理。", False),  # the way, politely
])
def test_sending_the_customer_off_to_do_it_themselves(rules: RuleSet, said: str, fatal: bool) -> None:
    card = score(rules, ("customer", "你们怎么搞的，卡怎么用不了了？"), ("agent", said))
    assert verdict(card, "forbidden.dismissive").verdict == ("fail" if fatal else "pass") and card.fatal == fatal


# --- each condition form --------------------------------------------------------------------------

def test_turn_a_dismissal_in_the_same_turn_makes_a_limit_fatal(rules: RuleSet) -> None:
    card = score(rules, ("agent", "没办法，随便你。"))
    v = verdict(card, "forbidden.dismissive")
    assert v.fatal and "打发客户" in v.reason


def test_alone_a_bare_refusal_is_fatal(rules: RuleSet) -> None:
    assert score(rules, ("customer", "真的没有别的办法了吗？"), ("agent", "没办法。")).fatal


def test_repeats_customer_confirming_the_customers_words_is_not_counted(rules: RuleSet) -> None:
    card = score(rules, ("customer", "下单以后就没有办法取消了是吧"),
                 ("agent", "是的，下单以后就没有办法取消了，我给您说下流程。"))
    v = verdict(card, "forbidden.dismissive")
    assert v.verdict == "pass" and "复述" in v.reason


def test_a_limit_with_neither_apology_nor_dismissal_needs_review(rules: RuleSet) -> None:
    card = score(rules, ("agent", "这个月的账单没办法再改了。"))
    v = verdict(card, "forbidden.dismissive")
    assert (v.verdict, v.fatal, v.deduct) == ("fail", False, 2) and not card.fatal
    assert v.confidence == pytest.approx(0.6) and "forbidden.dismissive" in card.needs_review
    assert "质检员" in v.reason


def test_hit_an_outright_dismissal_is_fatal_even_after_an_apology(rules: RuleSet) -> None:
    assert verdict(score(rules, ("agent", "不好意思，你爱怎样就怎样。")), "forbidden.dismissive").fatal


@pytest.mark.parametrize(("customer", "agent", "expected"), [
    ("好的，那我明天再打过来。", "哈哈，没问题，我帮您记下来了。", "pass"),  # friendly laughter
    ("你们这是什么态度，我要投诉！", "呵呵。", "fail"),  # laughter at a complaint: review
])
def test_laughter_counts_only_after_a_complaint_and_never_fatally(rules: RuleSet, customer: str, agent: str,
                                                                   expected: str) -> None:
    card = score(rules, ("customer", customer), ("agent", agent))
    v = verdict(card, "forbidden.insult")
    assert v.verdict == expected and not card.fatal and "004:L314" in v.reason
    if expected == "fail":
        assert not v.fatal and v.confidence <= 0.5


@pytest.mark.parametrize(("said", "fatal"), [
    ("不好意思，我们这边是不议价的，不过可以给您送一张优惠券。", False),  # a price policy explained
    ("不议价。", True),  # a flat refusal
])
def test_a_price_policy_is_fatal_only_when_said_flat(rules: RuleSet, said: str, fatal: bool) -> None:
    card = score(rules, ("customer", "能便宜一点吗？"), ("agent", said))
    assert card.fatal == fatal and (verdict(card, "forbidden.refusal").verdict == "fail") == fatal


# --- phrase families from the second blind batch (samples/blind2, tuning half), our own words -----

@pytest.mark.parametrize(("item", "said"), [
    ("forbidden.dismissive", "爱修不修，随你。"),  # 爱X不X
    ("forbidden.dismissive", "爱怎么说怎么说，我就这么处理。"),
    ("forbidden.dismissive", "没别的事我就挂了。"),
    ("forbidden.dismissive", "你问我我问谁？有意见找领导去。"),  # the trade's lists of 服务忌语
    ("forbidden.questioning", "不是跟你说了吗？"),
    ("forbidden.refusal", "规定就是这样，没有为什么。"),
    ("forbidden.refusal", "不换就是不换。"),  # a no repeated as its own reason
    ("forbidden.refusal", "坏了就是坏了，谁也没办法。"),
    ("forbidden.refusal", "退不了。"),  # a request turned down, flat
    ("forbidden.questioning", "你没听见吗？我刚才说过了。"),
    ("forbidden.insult", "你脑子是不是进水了？"),
    ("forbidden.insult", "真是笨到家了，这也要问。"),
    # both halves of samples/blind2 as tuning material (2026-12-02 evening), our own words
    ("forbidden.insult", "真不知好歹，白跟你介绍半天。"),
    ("forbidden.insult", "就你这智商还来问？"),
    ("forbidden.insult", "几十块钱都舍不得花。"),  # mocking the customer's money
    ("forbidden.dismissive", "爱举报就去举报，随你。"),
    ("forbidden.dismissive", "多交点也无所谓，反正花的又不是我的钱。"),
    ("forbidden.questioning", "这么简单的步骤都看不懂？"),
    ("forbidden.questioning", "我都跟你说了三遍了。"),
    ("forbidden.questioning", "快点行不行，我这还忙着。"),
    ("forbidden.refusal", "没什么好查的。"),
])
def test_egregious_words_beyond_the_documents_examples_are_fatal(rules: RuleSet, item: str, said: str) -> None:
    card = score(rules, ("customer", "你们能不能给我处理一下？"), ("agent", said))
    assert verdict(card, item).fatal and card.fatal


@pytest.mark.parametrize("said", [
    "您放心，没什么好担心的，我们一定给您处理。",
    "如果您自己填错了也没关系，可以在页面上修改。",
    "不是您自己输错了，是系统的问题，非常抱歉。",
    "这么简单的操作都不需要您跑一趟，在手机上就能办。",
    "老人家腿脚不利索的话，我们可以安排上门服务。",
    "图片太模糊了，这都看不清楚，麻烦您重新拍一张。",
    "就您这个情况，可以申请延期还款。",
    "我帮您催一下，看能不能快一点送到。",
    "有问题您随时打电话过来，等您查好了再联系我们也可以。",
    "亲，菜鸟驿站的取件码已经发给您了。",
    # beside the third blind batch's families
    "不是您说过吗，地址要改成公司的，我已经帮您改好了。",  # the customer's own words recalled
    "我再跟您说一遍，先点右上角的设置。",
    "您之前不是说过了吗，周六在家，那我就按周六给您约。",
    "您已经跟我说了好几遍了，真不好意思让您重复。",  # the agent apologising for the repeats
    "您要我重复几遍都行，我慢慢说。",
    "您是听不懂还是哪一步不会操作？我再给您讲一下。",  # a check, politely
    "您放心，钱在平台上跑也跑不了。",  # reassurance, not a refusal
    "实在抱歉，这个型号修不了了，我们可以给您换一台同款的新机。",  # a limit with an option
    "不好意思，我们这边是不退的，不过可以帮您换成等值的课时。",
    "您说的对，我们确实应该提前通知您。",
    "您这个问题我明白了，我帮您查一下是不是已经退回去了。",
    "这个月的费用没有别的办法减免，不过下个月起可以给您换成更便宜的套餐。",
])
def test_polite_words_beside_those_families_are_not_fatal(rules: RuleSet, said: str) -> None:
    card = score(rules, ("customer", "你们能帮我处理一下吗？"), ("agent", said))
    assert not card.fatal, [v.item for v in card.verdicts if v.fatal and v.verdict == "fail"]


@pytest.mark.parametrize(("said", "verdict_", "fatal"), [
    ("实在抱歉，这张票退不了，不过可以帮您改到下一场。", "pass", False),  # a limit with an option
    ("退不了，系统规定的。", "fail", False),  # turned down with a reason, no apology: to an inspector
    ("亲，没有就是没有哦，这一款本来就不带配件的。", "fail", False),  # absolute words, said kindly: review
])
def test_a_request_turned_down_is_weighed_by_what_comes_with_it(rules: RuleSet, said: str, verdict_: str,
                                                              fatal: bool) -> None:
    card = score(rules, ("customer", "这个能退吗？"), ("agent", said))
    v = verdict(card, "forbidden.refusal")
    assert (v.verdict, card.fatal) == (verdict_, fatal)
    if verdict_ == "fail":
        assert not v.fatal and "forbidden.refusal" in card.needs_review


@pytest.mark.parametrize(("said", "expected"), [
    ("这个我们也没办法，系统定的。", "fail"),  # said bluntly: negative language
    ("不好意思，这个我们也没办法，您可以去营业厅办理。", "pass"),  # apology and an option
    ("您是说手机还是没办法开机吗？", "pass"),  # a question back to the customer
])
def test_a_blunt_no_is_negative_language_and_a_softened_one_is_not(rules: RuleSet, said: str,
                                                                  expected: str) -> None:
    card = score(rules, ("customer", "我手机开不了机了，能修吗？"), ("agent", said))
    assert verdict(card, "forbidden.negative_language").verdict == expected and not card.fatal


def test_a_taunt_one_character_from_an_apology_is_no_apology(rules: RuleSet) -> None:
    card = score(rules, ("customer", "你们这什么破服务，我要投诉！"), ("agent", "自己弄错了还好意思打电话来。"))
    assert verdict(card, "courtesy.apology_to_upset_customer").verdict == "fail"


def test_repeats_customer_an_insult_the_customer_reported_goes_to_an_inspector(rules: RuleSet) -> None:
    card = score(rules, ("customer", "快递员骂我是废物！"), ("agent", "他骂您废物？非常抱歉，我马上核实处理。"))
    v = verdict(card, "forbidden.insult")
    assert (v.verdict, v.fatal, card.fatal) == ("fail", False, False) and "复述" in v.reason


def test_a_hit_no_rule_takes_keeps_the_items_own_weight(rules: RuleSet) -> None:
    card = score(rules, ("agent", "你这样都不知道吗？"))  # 质疑: a question by nature, still fatal
    assert verdict(card, "forbidden.questioning").fatal and card.fatal


# --- phrase families from the third blind batch (samples/blind3, tuning half), our own words -----

@pytest.mark.parametrize(("item", "said"), [
    ("forbidden.questioning", "我不是刚讲过吗？密码在右上角。"),  # impatience at repeating
    ("forbidden.questioning", "刚才不是都跟你讲过了吗？"),
    ("forbidden.questioning", "这都说第三遍了。"),
    ("forbidden.questioning", "您到底有没有在听我说话？"),  # 您 as well as 你
    ("forbidden.questioning", "还要我一个字一个字给您说几遍？"),
    ("forbidden.questioning", "这种话您自己相信吗？"),  # contemptuous doubt
    ("forbidden.questioning", "您是听不懂还是不愿意听？"),
    ("forbidden.refusal", "补也补不了。"),  # a request turned down, flat
    ("forbidden.refusal", "我们这边一律不换。"),
])
def test_impatience_contempt_and_flat_refusals_in_other_words_are_fatal(rules: RuleSet, item: str,
                                                                         said: str) -> None:
    card = score(rules, ("customer", "您能再说一下吗？我没太明白。"), ("agent", said))
    assert verdict(card, item).fatal and card.fatal


@pytest.mark.parametrize(("said", "expected"), [
    ("您这样理解不对，合同是按月算的。", "fail"),  # telling the customer they have it wrong
    ("你说的不对，这个不是质量问题。", "fail"),
    ("是我刚才说得不对，应该是按月算的。", "pass"),  # the agent's own mistake
    ("您说的不对劲的地方，我帮您记下来了。", "pass"),
])
def test_you_have_it_wrong_is_correcting_the_customer(rules: RuleSet, said: str, expected: str) -> None:
    card = score(rules, ("customer", "我以为是按年算的。"), ("agent", said))
    assert verdict(card, "forbidden.correcting_customer").verdict == expected and not card.fatal


def test_no_other_way_said_bluntly_is_negative_language(rules: RuleSet) -> None:
    card = score(rules, ("customer", "那怎么办？"), ("agent", "这个月的费用没有别的办法减免了。"))
    v = verdict(card, "forbidden.negative_language")
    assert (v.verdict, v.fatal) == ("fail", False)


@pytest.mark.parametrize(("said", "expected"), [
    ("不行，周末师傅不上门。", "fail"),  # a bare 不行 is 不可以
    ("押金交了就不退，合同上有写。", "fail"),  # a flat 不退 is 不能退
    ("不行的话，您明天再打过来问问。", "pass"),  # a condition, not a no
    ("很抱歉，拆了封的不退，不过可以帮您换一个颜色。", "pass"),  # a limit explained with an option
    ("退不退都看您，我帮您都登记上。", "pass"),  # the customer's choice
])
def test_a_bare_no_and_a_flat_no_refund_are_negative_language(rules: RuleSet, said: str, expected: str) -> None:
    card = score(rules, ("customer", "周末能上门吗？不能的话押金退吗？"), ("agent", said))
    assert verdict(card, "forbidden.negative_language").verdict == expected and not card.fatal


def test_repeats_customer_a_third_partys_rude_words_quoted_to_confirm_them_are_not_counted(rules: RuleSet) -> None:
    card = score(rules, ("customer", "你们门店那个店员跟我说“你懂不懂啊”，太气人了。"),
                 ("agent", "您是说店员跟您讲“你懂不懂啊”，是吗？真的很抱歉，我马上报给店长。"))
    v = verdict(card, "forbidden.questioning")
    assert v.verdict == "pass" and not card.fatal and "复述客户转述" in v.reason
    # thrown back at the customer, the same words still go to an inspector
    card = score(rules, ("customer", "你懂不懂啊？"), ("agent", "我懂不懂啊？你懂不懂啊？"))
    v = verdict(card, "forbidden.questioning")
    assert (v.verdict, v.fatal) == ("fail", False) and "forbidden.questioning" in card.needs_review


DEMO_HEAD = """\
schema: qa.checklist/1
id: demo
version: 1
name: 演示
area: forbidden
items:
"""  # a checklist of its own, for one condition's test

CUSTOM = DEMO_HEAD + """\
  - id: demo.limit
    name: 限制
    type: forbid
    match: [没办法]
    fatal: true
    context:
      - if: {turn: [抱歉]}
        then: deduct
        deduct: 3
        reason: 致歉后说明限制
"""


def test_deduct_turns_a_fatal_hit_into_its_own_points(tmp_path: Path) -> None:
    (tmp_path / "demo.yaml").write_text(CUSTOM, encoding="utf-8")
    custom = load_rules(tmp_path)
    polite = score(custom, ("agent", "抱歉，没办法改。"))
    curt = score(custom, ("agent", "没办法改。"))
    assert (verdict(polite, "demo.limit").deduct, polite.fatal, polite.score) == (3, False, 97)
    assert curt.fatal and verdict(curt, "demo.limit").reason == "说了 1 次"
    assert load_checklist(tmp_path / "demo.yaml").checklist.items[0].context[0].then == "deduct"


# --- sarcasm (blind3) and scorn (blind4's tuning half) in any words, weighed by the customer's reply
# (customer_after): offended, a 高压线; otherwise the same words may be meant kindly, so an inspector listens

TAKEN_BADLY = [
    ("forbidden.insult", "您这当妈的可真够细心的，孩子的药都能拿错。", "你这话什么意思？"),
    ("forbidden.insult", "这么简单的步骤，三岁小孩都会弄。", "你是在笑话我吗？"),
    ("forbidden.insult", "您这要求真够特别的，下回干脆自己去店里吃吧。", "你这是什么态度？"),
    ("forbidden.questioning", "您连这都看不出来吗？图上标得清清楚楚。", "你好好说话行不行？"),
    ("forbidden.questioning", "群里早发了通知，您就不能自己翻一翻吗？", "你这什么态度啊。"),
    ("forbidden.questioning", "一天几十个电话，个个都像您这样，我还干不干活了？", "你凶什么？"),
]
TAKEN_WELL = [
    ("forbidden.insult", "您可真行，这么快就自己弄好了！", "哈哈，还是你教得好。"),
    ("forbidden.insult", "您这记性真够好的，单号一口气全报对了。", "那是，干了一辈子会计。"),
    ("forbidden.questioning", "按钮在右下角，您那边看不见吗？我换个说法。", "哦看见了，在这儿。"),
    ("forbidden.questioning", "这个表您就不能自己先填一下吗？不会的地方我再教您。", "好的，我先试试。"),
]


@pytest.mark.parametrize("item,said,reply", TAKEN_BADLY)
def test_words_the_customer_takes_offence_at_are_fatal(rules: RuleSet, item: str, said: str, reply: str) -> None:
    card = score(rules, ("customer", "东西送来就坏了。"), ("agent", said), ("customer", reply))
    v = verdict(card, item)
    assert v.fatal and card.fatal and "被冒犯" in v.reason


@pytest.mark.parametrize("item,said,reply", TAKEN_WELL)
def test_the_same_words_taken_well_go_to_an_inspector_not_to_zero(rules: RuleSet, item: str, said: str,
                                                                   reply: str) -> None:
    card = score(rules, ("customer", "我按你说的弄了。"), ("agent", said), ("customer", reply))
    v = verdict(card, item)
    assert not v.fatal and not card.fatal and item in card.needs_review
    assert "请质检员" in v.reason


@pytest.mark.parametrize("said", ["随你怎么处理吧，我这边就管到这儿。", "那您自己跟快递公司掰扯去吧。"])
def test_leaving_the_customer_to_sort_it_out_alone_is_fatal(rules: RuleSet, said: str) -> None:
    card = score(rules, ("customer", "柜子送来就是坏的，你们得管。"), ("agent", said))
    assert verdict(card, "forbidden.dismissive").fatal and card.fatal


AFTER = DEMO_HEAD + """\
  - id: demo.mock
    name: 挖苦
    type: forbid
    match: [真行]
    fatal: true
    context:
      - if: {customer_after: [什么意思]}
        then: fatal
        reason: 客户听出了讽刺
      - then: review
        reason: 请质检员确认
"""


def test_customer_after_looks_at_the_customers_next_turn_only(tmp_path: Path) -> None:
    (tmp_path / "demo.yaml").write_text(AFTER, encoding="utf-8")
    rules = load_rules(tmp_path)
    taken = score(rules, ("agent", "您可真行。"), ("customer", "你什么意思？"))
    assert verdict(taken, "demo.mock").fatal
    # the customer's words before the hit, or two turns later, are not its reply
    earlier = score(rules, ("customer", "这是什么意思？"), ("agent", "您可真行。"), ("customer", "谢谢。"),
                    ("agent", "不客气。"), ("customer", "那是什么意思？"))
    v = verdict(earlier, "demo.mock")
    assert not v.fatal and "demo.mock" in earlier.needs_review


def test_any_no_repeated_as_its_own_reason_is_a_flat_refusal(rules: RuleSet) -> None:
    card = score(rules, ("customer", "能帮我开个证明吗？"), ("agent", "不盖就是不盖，您还有别的事吗？"))
    assert verdict(card, "forbidden.refusal").fatal and card.fatal


@pytest.mark.parametrize(("said", "fatal"), [
    ("退不了就是退不了，没别的办法。", True),  # the no as its own reason, though it holds a plain 退不了
    ("真的很抱歉，退不了就是退不了，我帮您申请一张补偿券吧。", False),  # with an apology: an inspector decides
])
def test_a_no_given_as_its_own_reason_is_fatal_though_it_holds_a_plain_no(rules: RuleSet, said: str,
                                                                           fatal: bool) -> None:
    card = score(rules, ("customer", "我摔伤了去不了，能退吗？"), ("agent", said))
    assert card.fatal == fatal and verdict(card, "forbidden.refusal").verdict == "fail"


# --- doubt_when: a pass not trusted where the customer's reply protests the agent's manner ---

def test_a_protest_after_words_no_list_holds_sends_the_call_to_an_inspector(rules: RuleSet) -> None:
    card = score(rules, ("customer", "我想问一下退款到哪一步了。"), ("agent", "您这问题问得，真是让人开了眼界。"),
                 ("customer", "你这什么态度？我记住你工号了。"))
    v = verdict(card, "forbidden.questioning")
    assert v.verdict == "pass" and not card.fatal
    assert "forbidden.questioning" in card.needs_review and v.confidence <= 0.5
    assert "客户对坐席的话表示不满" in v.reason and v.evidence[0].role == "customer"
    # a calm call is left as it was
    calm = score(rules, ("customer", "我想问一下退款到哪一步了。"), ("agent", "已经原路退回了，请您留意一下。"),
                 ("customer", "好的，谢谢。"))
    assert "forbidden.questioning" not in calm.needs_review


# --- the documents' 自己查 and 你看着办 in the words blind5's writers used (its tuning half), our own words

def test_you_look_it_up_yourself_in_other_words_is_a_limit_for_an_inspector(rules: RuleSet) -> None:
    card = score(rules, ("customer", "这个药怎么兑水？"), ("agent", "用法你自己上网一搜就有。"))
    v = verdict(card, "forbidden.dismissive")
    assert v.verdict == "fail" and not v.fatal and "forbidden.dismissive" in card.needs_review


def test_you_see_to_it_yourself_is_an_outright_dismissal(rules: RuleSet) -> None:
    card = score(rules, ("customer", "我今天实在去不了。"), ("agent", "过了今天就作废，你自己看着办。"))
    assert verdict(card, "forbidden.dismissive").fatal and card.fatal


@pytest.mark.parametrize(("item", "said", "expected", "fatal"), [
    ("forbidden.questioning", "钥匙是你自己弄丢的，自己不收好怪谁。", "fail", True),  # blame thrown back
    ("forbidden.questioning", "这事谁也不怪谁，我马上帮您补办。", "pass", False),  # nobody blamed
    ("forbidden.refusal", "帮你催？这不是我的工作。", "fail", True),  # 004's 这不是我应该做的 in other words
    ("forbidden.not_our_business", "丢了东西你找失物招领去，打我们这儿干嘛。", "fail", False),
])
def test_blame_refusal_and_push_off_in_blind5s_words(rules: RuleSet, item: str, said: str, expected: str,
                                                    fatal: bool) -> None:
    card = score(rules, ("customer", "我的钥匙落在车上了，能帮我找找吗？"), ("agent", said))
    assert (verdict(card, item).verdict, card.fatal) == (expected, fatal)


@pytest.mark.parametrize(("reply", "fatal"), [
    ("你这人怎么这样啊！", True),  # offended: a 高压线
    ("你怎么这样说话？", True),
    ("也是，那我自己处理一下。", False),  # taken calmly: an inspector listens
])
def test_belittling_the_call_is_weighed_by_how_the_customer_takes_it(rules: RuleSet, reply: str,
                                                                     fatal: bool) -> None:
    card = score(rules, ("customer", "我买的鸡蛋碎了两个。"), ("agent", "就两个鸡蛋，这也值得打个电话？"),
                 ("customer", reply))
    v = verdict(card, "forbidden.questioning")
    assert (v.verdict, card.fatal) == ("fail", fatal)
    assert fatal or "forbidden.questioning" in card.needs_review


# --- arguing back and complaints in the words blind6's writers used (its tuning half), our own words

@pytest.mark.parametrize(("said", "expected"), [
    ("型号是你自己选的，现在又说不合适。", "fail"),  # the fault put back on the customer
    ("晚到那是因为下雨，又不是我们故意拖的。", "fail"),  # a reason, then the company's fault denied
    ("合同你签过字的，条款写得很清楚。", "fail"),
    ("你当初下单的时候怎么不问清楚？", "fail"),
    ("型号是您自己选的，不过没关系，我们可以帮您换一台。", "pass"),  # the same fact with an offer
    ("就是您报的那个插花课，下周开课。", "pass"),  # a relative clause, nobody blamed
    ("多花的钱反正亏的又不是我。", "pass"),  # scorn (the questioning item's), not an argument
])
def test_arguing_back_is_correcting_the_customer_unless_amends_are_made(rules: RuleSet, said: str,
                                                                      expected: str) -> None:
    card = score(rules, ("customer", "这台洗衣机尺寸不合适。"), ("agent", said))
    assert verdict(card, "forbidden.correcting_customer").verdict == expected


def test_not_what_we_should_do_is_the_documents_refusal(rules: RuleSet) -> None:
    card = score(rules, ("customer", "能派人来帮我搬一下吗？"), ("agent", "搬东西这不是我们应该做的。"))
    assert verdict(card, "forbidden.refusal").verdict == "fail" and card.fatal


@pytest.mark.parametrize(("complaint", "applies"), [
    ("你们这服务真是让人失望。", True),  # the service itself blamed
    ("你们就不能早点通知一声吗？", True),  # a demand asked as a reproach
    ("你们服务挺好的，我就问问时间。", False),
])
def test_complaints_about_the_service_make_the_apology_item_apply(rules: RuleSet, complaint: str,
                                                                  applies: bool) -> None:
    card = score(rules, ("customer", complaint), ("agent", "好的，我帮您查一下。"))
    assert verdict(card, "courtesy.apology_to_upset_customer").verdict == ("fail" if applies else "na")


@pytest.mark.parametrize(("reply", "review"), [
    ("你笑什么？我都急死了。", True),  # the laughter taken as mockery: an inspector listens
    ("哈哈，那就好，谢谢你。", False),  # shared laughter
    ("我家孩子也笑话我记性差。", False),  # someone else laughing at the customer
])
def test_laughter_the_customer_takes_as_mockery_goes_to_an_inspector(rules: RuleSet, reply: str,
                                                                    review: bool) -> None:
    card = score(rules, ("customer", "我把快递单号弄丢了。"), ("agent", "哈哈，没事，我帮您查。"),
                 ("customer", reply))
    v = verdict(card, "forbidden.insult")
    assert not card.fatal and ("forbidden.insult" in card.needs_review) == review
    assert v.verdict == ("fail" if review else "pass")


# --- the trade's common lists of 服务忌语 and of an unhappy customer's words (2026-12-07), and
# blind7's tuning half, in our own words

@pytest.mark.parametrize(("item", "said", "fatal"), [
    ("forbidden.not_our_business", "那是厂家的问题，您问厂家去。", False),  # pushed to a third party
    ("forbidden.not_our_business", "我们没有这个义务帮您搬。", False),  # a duty denied
    ("forbidden.dismissive", "不会用就别用，我这边很忙。", True),  # "then don't use it"
    ("forbidden.questioning", "说重点，你到底想说什么？", True),  # hurrying the customer
    ("forbidden.insult", "你给我等着，走着瞧。", True),  # a threat (004:L310 恐吓、威胁)
    ("forbidden.refusal", "那你别用了呗，随便。", True),  # 004's 那你别买了 for another service
])
def test_the_trades_common_taboo_phrases_are_found(rules: RuleSet, item: str, said: str, fatal: bool) -> None:
    card = score(rules, ("customer", "这个设备我不会设置。"), ("agent", said))
    assert (verdict(card, item).verdict, card.fatal) == ("fail", fatal)


@pytest.mark.parametrize(("reply", "fatal"), [
    ("你这人说话怎么这样啊。", True),  # offended: a 高压线
    ("是，我一着急就忘了。", False),  # taken calmly: an inspector listens
])
def test_scorn_for_what_the_customer_does_not_know(rules: RuleSet, reply: str, fatal: bool) -> None:
    card = score(rules, ("customer", "我也不清楚我现在在哪条路上。"), ("agent", "你连自己在哪都不知道吗？"),
                 ("customer", reply))
    assert (verdict(card, "forbidden.questioning").verdict, card.fatal) == ("fail", fatal)


@pytest.mark.parametrize(("said", "expected"), [
    ("你签合同的时候怎么不看？", "fail"),  # the customer blamed for signing
    ("您签的时候我们也提醒过，不过可以帮您申请调整。", "pass"),
])
def test_blaming_the_customer_for_signing_is_arguing(rules: RuleSet, said: str, expected: str) -> None:
    card = score(rules, ("customer", "这个费率怎么涨了？"), ("agent", said))
    assert verdict(card, "forbidden.correcting_customer").verdict == expected


@pytest.mark.parametrize(("complaint", "applies"), [
    ("你们这样出尔反尔，我要去消协举报。", True),  # a promise broken, the regulator named
    ("服务态度太差了，真让人失望。", True),
    ("到现在还没到账，想问一下进度。", False),  # a wait told calmly is a question
    ("如果我收到了不满意，能退吗？", False),  # 不满意 as a condition
    ("车子太忙了没顾上。", False),  # 太忙了 sounds like 太慢了: characters only
])
def test_the_trades_words_of_an_unhappy_customer(rules: RuleSet, complaint: str, applies: bool) -> None:
    card = score(rules, ("customer", complaint), ("agent", "好的，我帮您查一下。"))
    assert verdict(card, "courtesy.apology_to_upset_customer").verdict == ("fail" if applies else "na")


def test_a_sound_alike_of_a_new_insult_is_not_taken_for_it(rules: RuleSet) -> None:
    card = score(rules, ("customer", "我要换大一码。"), ("agent", "好的，给您换成四十二码。"))
    assert verdict(card, "forbidden.insult").verdict == "pass"  # 十二码 is 事儿妈 by sound


@pytest.mark.parametrize(("reply", "fatal"), [
    ("你这是在挖苦我吗？", True),  # taken as mockery: a 高压线
    ("哈哈，那我再想想。", False),  # taken lightly: an inspector listens
])
def test_the_trades_common_sarcasm_is_weighed_by_the_customers_reply(rules: RuleSet, reply: str,
                                                                    fatal: bool) -> None:
    card = score(rules, ("customer", "能不能免费给我升级套餐？"), ("agent", "免费升级？想得美。"), ("customer", reply))
    assert (verdict(card, "forbidden.insult").verdict, card.fatal) == ("fail", fatal)


@pytest.mark.parametrize(("said", "expected"), [
    ("怎么可能是我们的问题，明明是你自己没看清楚。", "fail"),  # the fault denied and put back
    ("系统不会出错的，您再看看。", "fail"),
    ("系统可能出错了，非常抱歉，我帮您重新提交。", "pass"),  # a fault owned, with amends
])
def test_the_trades_common_retorts_are_arguing(rules: RuleSet, said: str, expected: str) -> None:
    card = score(rules, ("customer", "我的订单怎么被取消了？"), ("agent", said))
    assert verdict(card, "forbidden.correcting_customer").verdict == expected


POLITE_LOOKALIKES = yaml.safe_load((Path(__file__).parent / "data" / "polite_lookalikes.yaml").read_text(
    encoding="utf-8"))


@pytest.mark.parametrize("said", POLITE_LOOKALIKES["sentences"])
def test_polite_sentences_near_the_trades_taboo_words_fail_nothing(rules: RuleSet, said: str) -> None:
    card = score(rules, ("customer", "我想问一下这个问题。"), ("agent", said))
    assert not card.fatal
    assert [v.item for v in card.verdicts if v.area == "forbidden" and v.verdict == "fail"] == []


@pytest.mark.parametrize(("item", "said"), [
    ("forbidden.dismissive", "爱咋咋地吧，反正就这样。"),
    ("forbidden.refusal", "门都没有，你死心吧。"),
    ("forbidden.questioning", "冲我发什么火，激动什么。"),
    ("forbidden.insult", "你这人真是缺心眼。"),
])
def test_a_trainers_taboo_words_send_the_call_to_an_inspector_not_to_zero(rules: RuleSet, item: str,
                                                                          said: str) -> None:
    """Phrases no set has checked yet: a fail that an inspector confirms, never a fatal verdict unheard."""
    card = score(rules, ("customer", "我的事到底能不能办？"), ("agent", said))
    assert (verdict(card, item).verdict, card.fatal) == ("fail", False)
    assert item in card.needs_review


@pytest.mark.parametrize("item", ["forbidden.questioning", "forbidden.insult"])
def test_a_trainers_taboo_words_are_fatal_when_the_customer_takes_offence(rules: RuleSet, item: str) -> None:
    said = {"forbidden.questioning": "冲我发什么火？", "forbidden.insult": "你这人真是缺心眼。"}[item]
    card = score(rules, ("customer", "我的事到底能不能办？"), ("agent", said), ("customer", "你这什么态度？"))
    assert (verdict(card, item).verdict, card.fatal) == ("fail", True)


@pytest.mark.parametrize(("item", "said"), [
    ("forbidden.not_our_business", "这个你找营业厅去，别问我。"),
    ("forbidden.correcting_customer", "你听错了，我没说错。"),
    ("forbidden.negative_language", "这个我没权限，这是公司规定。"),  # soft; excused with an apology (below)
])
def test_a_trainers_words_for_ordinary_faults_deduct_points(rules: RuleSet, item: str, said: str) -> None:
    card = score(rules, ("customer", "我的事到底能不能办？"), ("agent", said))
    assert (verdict(card, item).verdict, card.fatal) == ("fail", False)


def test_a_soft_limit_from_the_trainers_list_is_excused_with_an_apology(rules: RuleSet) -> None:
    card = score(rules, ("customer", "能给我退了吗？"), ("agent", "非常抱歉，这个我没权限，我帮您转给主管处理。"))
    assert verdict(card, "forbidden.negative_language").verdict == "pass"


@pytest.mark.parametrize("complaint", ["你们这是霸王条款，我要曝光你们。", "真是岂有此理，叫你们领导来。"])
def test_a_trainers_words_of_an_upset_customer(rules: RuleSet, complaint: str) -> None:
    card = score(rules, ("customer", complaint), ("agent", "好的，我帮您查一下。"))
    assert verdict(card, "courtesy.apology_to_upset_customer").verdict == "fail"


# --- blind8's tuning half (2026-12-08), in our own words

@pytest.mark.parametrize(("item", "said", "fatal"), [
    ("forbidden.insult", "像你这种人我们见得多了。", True),  # contempt for the kind of person
    ("forbidden.insult", "再拖着不还，就让你邻居都知道。", True),  # shaming as a threat (004:L310)
    ("forbidden.insult", "自己几斤几两心里没数吗？", True),
    ("forbidden.refusal", "用过的一律不退。", True),  # a policy thrown at the customer
    ("forbidden.correcting_customer", "你搞混了，这是两回事。", False),
    ("forbidden.correcting_customer", "是你自己要求太高了。", False),  # the fault put on the customer
    ("forbidden.correcting_customer", "我态度怎么了？不都给你办了吗。", False),  # the complaint thrown back
    ("forbidden.correcting_customer", "你当时怎么不说？", False),
])
def test_blind8_and_earlier_tuning_halfs_taboo_words(rules: RuleSet, item: str, said: str, fatal: bool) -> None:
    card = score(rules, ("customer", "这个事你们得给我解决。"), ("agent", said))
    assert (verdict(card, item).verdict, card.fatal) == ("fail", fatal)


def test_laughter_before_scorn_is_weighed_by_the_scorn(rules: RuleSet) -> None:
    """呵呵 itself is laughter, never counted; the mockery said with it is (小学生都会), and fatal once
    the customer takes offence."""
    card = score(rules, ("customer", "这个按钮我找不到。"), ("agent", "呵呵，这么简单，小学生都会。"),
                 ("customer", "你这话什么意思？"))
    insult = verdict(card, "forbidden.insult")
    assert (insult.verdict, insult.fatal, card.fatal) == ("fail", True, True)
    assert "小学生都" in [e.matched for e in insult.evidence]


@pytest.mark.parametrize(("complaint", "applies"), [
    ("我下周就要用，你们就不管了吗？", True),  # a reproach
    ("我自己试了好几次了，还是登不上去。", False),  # the customer's own tries: no complaint
    ("我都打了好几次了，还是没人处理。", True),
    ("你们热线不就是帮人的吗，怎么这个态度啊！", True),  # the manner, without 什么
    ("你们是不是合起伙来骗老百姓的钱？", True),
])
def test_blind8_tuning_halfs_words_of_an_unhappy_customer(rules: RuleSet, complaint: str, applies: bool) -> None:
    card = score(rules, ("customer", complaint), ("agent", "好的，我帮您查一下。"))
    assert verdict(card, "courtesy.apology_to_upset_customer").verdict == ("fail" if applies else "na")


def test_a_request_said_politely_is_no_apology(rules: RuleSet) -> None:
    """请您直接… is one syllable from 请您谅解 by sound, and no apology."""
    card = score(rules, ("customer", "你们这服务太差了。"), ("agent", "请您直接打保险公司的电话。"))
    assert verdict(card, "courtesy.apology_to_upset_customer").verdict == "fail"


# --- outnumbered_by: a phrase far outnumbered by what it is misheard for (2026-12-08, blind8's
# tuning half as audio: Whisper writes 您 as 你)

@pytest.mark.parametrize(("said", "expected"), [
    # (the standard opening and closing around the line say 您 three times)
    ("请您稍等，我帮您查一下，您的订单明天到，给你发短信，你留意一下。", "pass"),  # 您 six times, 你 twice: misheard
    ("你好，你的订单明天到，给你发短信，你留意一下。", "fail"),  # 你 throughout
    ("你的订单明天到，你留意一下。", "fail"),  # 您 three times, 你 twice
])
def test_you_among_many_polite_yous_is_taken_for_a_misheard_polite_you(rules: RuleSet, said: str,
                                                                       expected: str) -> None:
    card = score(rules, ("customer", "我的订单什么时候到？"), ("agent", said))
    v = verdict(card, "courtesy.nin_not_ni")
    assert v.verdict == expected
    if expected == "pass":
        assert "识别把“您”写成了“你”" in v.reason
