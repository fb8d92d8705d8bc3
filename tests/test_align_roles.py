"""Words to turns, and who the agent is: the logic between the models, on hand-made words."""

from __future__ import annotations

import numpy as np

from qa.speech.align import assign_words_by_segments, build_turns, join_text
from qa.speech.diarization.stereo import assign_words_by_channel
from qa.speech.roles import decide_roles, two_parties_heard
from qa.speech.types import Diarization, SpeakerSegment, Word


def words_of(*items: tuple[str, float, float, str | None]) -> list[Word]:
    return [Word(text, start, end, 0.9, speaker) for text, start, end, speaker in items]


def test_words_inside_one_whisper_segment_go_to_different_speakers() -> None:
    words = words_of(("好的", 1.0, 1.4, None), ("谢谢", 1.5, 1.9, None), ("不客气", 2.1, 2.6, None))
    segments = [SpeakerSegment("S0", 0.8, 1.95), SpeakerSegment("S1", 2.0, 2.8)]
    assign_words_by_segments(words, segments)
    assert [w.speaker for w in words] == ["S0", "S0", "S1"]


def test_word_outside_every_segment_goes_to_the_nearest() -> None:
    words = words_of(("嗯", 5.0, 5.2, None))
    assign_words_by_segments(words, [SpeakerSegment("S0", 0, 1), SpeakerSegment("S1", 5.5, 7)])
    assert words[0].speaker == "S1"


def test_stereo_word_goes_to_the_louder_channel() -> None:
    rate = 16000
    samples = np.zeros((2, rate * 2), np.float32)
    samples[0, :rate] = 0.5  # agent talks in the first second
    samples[1, rate:] = 0.5  # customer in the second
    words = words_of(("您好", 0.2, 0.6, None), ("喂", 1.2, 1.5, None))
    assign_words_by_channel(words, samples, rate)
    assert [w.speaker for w in words] == ["S0", "S1"]


def test_turns_split_on_speaker_change_and_long_pause() -> None:
    words = words_of(("请稍等", 0, 1, "S0"), ("好", 1.2, 1.4, "S1"), ("让您", 20, 20.5, "S0"),
                     ("久等了", 20.5, 21, "S0"), ("抱歉", 30, 31, "S0"))
    turns = build_turns(words, {"S0": "agent", "S1": "customer"}, max_gap_s=2.0)
    assert [(t.role, t.text) for t in turns] == [
        ("agent", "请稍等"), ("customer", "好"), ("agent", "让您久等了"), ("agent", "抱歉")]
    assert turns[2].start == 20 and turns[2].end == 21


def test_latin_words_keep_a_space() -> None:
    assert join_text("办理", "VIP") == "办理VIP"
    assert join_text("VIP", "card") == "VIP card"


def test_greeting_makes_the_second_speaker_the_agent_on_a_mono_call() -> None:
    words = words_of(("喂", 0.0, 0.3, "S0"), ("您好", 1.0, 1.3, "S1"), ("工号", 1.5, 1.8, "S1"),
                     ("一零二四", 1.8, 2.4, "S1"), ("为您服务", 2.4, 3.0, "S1"))
    decision = decide_roles(words, ["S0", "S1"])
    assert decision.agent == "S1"
    assert decision.speakers == {"S0": "customer", "S1": "agent"}
    assert decision.confidence > 0.9
    assert {e["cue"] for e in decision.evidence} >= {"工号", "为您服务", "speaks first"}


def test_homophone_greeting_still_counts() -> None:
    words = words_of(("你好", 0, 0.3, "S1"), ("位你服务", 0.4, 1.0, "S1"), ("嗯", 2, 2.2, "S0"))
    assert decide_roles(words, ["S0", "S1"]).agent == "S1"


def test_stereo_mapping_outweighs_a_customer_saying_hello() -> None:
    words = words_of(("你好", 0, 0.3, "S1"), ("是客服吗", 0.4, 1.0, "S1"), ("请讲", 1.2, 1.6, "S0"))
    decision = decide_roles(words, ["S0", "S1"], stereo_roles=["agent", "customer"])
    assert decision.agent == "S0"
    assert any(e["cue"] == "stereo channel mapping" for e in decision.evidence)


def test_without_evidence_confidence_is_low() -> None:
    words = words_of(("嗯", 0, 0.3, "S0"), ("对", 1, 1.2, "S1"))
    decision = decide_roles(words, ["S0", "S1"])
    assert decision.agent == "S0"  # speaks first, the only cue
    assert decision.confidence < 0.7


def test_who_asks_for_help_is_the_customer() -> None:
    # Neither greets; the one asking 帮我查 is not the agent even though they speak first.
    words = words_of(("喂", 0, 0.3, "S0"), ("帮我查一下我的快递", 0.5, 2.0, "S0"), ("好的请稍等", 2.5, 3.5, "S1"))
    decision = decide_roles(words, ["S0", "S1"])
    assert decision.agent == "S1"
    assert any(e["cue"] == "asks for help 帮我" and e["weight"] < 0 for e in decision.evidence)


def test_an_unsure_split_lowers_the_confidence_and_says_why() -> None:
    words = words_of(("您好", 0, 0.3, "S0"), ("工号", 0.4, 0.8, "S0"), ("为您服务", 0.8, 1.4, "S0"),
                     ("我想问一下", 2, 3, "S1"))
    sure = decide_roles(words, ["S0", "S1"])
    unsure = decide_roles(words, ["S0", "S1"], split=Diarization([], 0.22, 0.6, "close_voices"))
    assert sure.agent == unsure.agent == "S0"
    assert sure.confidence >= 0.9 > unsure.confidence
    assert sure.review == [] and unsure.review == ["close_voices"]


def test_a_lone_voice_without_agent_phrases_is_nobody_s_agent() -> None:
    words = words_of(("我的快递", 0, 1, "S0"), ("怎么还没到", 1, 2, "S0"))
    decision = decide_roles(words, ["S0"], split=Diarization([], None, 0.3, "one_voice"))
    assert decision.agent is None and decision.speakers == {"S0": "unknown"}
    assert decision.review == ["one_voice", "no_agent_evidence"] and decision.confidence < 0.5


def test_two_parties_are_heard_in_one_voice_s_words() -> None:
    agent_only = words_of(("您好为您服务", 0, 1, "S0"), ("请您稍等", 2, 3, "S0"))
    both = words_of(("您好为您服务", 0, 1, "S0"), ("我想问一下账单", 2, 3, "S0"))
    assert not two_parties_heard(agent_only) and two_parties_heard(both)
