"""Checklist files: precise errors for malformed ones, and the `qa checklist`, `qa score` and
`qa process` commands."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from conftest import SAMPLES, sample_truth

from qa.cli.main import main
from qa.evaluation import transcript_from_truth
from qa.scoring.loader import DEFAULTS_DIR, ChecklistError, load_checklist, load_rules, load_template
from qa.scoring.scorecard import Scorecard
from qa.speech.transcript import to_json

GOOD = """\
schema: qa.checklist/1
id: demo
version: 1
name: 演示
area: greeting
items:
  - id: demo.hello
    name: 问候
    type: require
    match: [您好, 你好]
    deduct: 5
"""
TEMPLATE = """\
schema: qa.scoring/1
id: t
version: 1
grades:
  - {name: 良好, min_score: 80}
  - {name: 优秀, min_score: 90}
  - {name: 不合格, min_score: 0}
"""
FORBID = GOOD.replace("type: require", "type: forbid") + "    context:\n"  # rules follow from line 13
WIDE = {"COLUMNS": "200"}  # rich tables would shorten item ids to fit 80 columns

# name: (checklist text, the one problem expected after "<file>:")
MALFORMED = {
    "yaml_syntax": (GOOD.replace("[您好, 你好]", "[您好, 你好"), "11: not valid YAML"),
    "unknown_key": (GOOD + "    points: 3\n", "12: items[0].points: Extra inputs are not permitted"),
    "wrong_type": (GOOD.replace("deduct: 5", "deduct: five"), "11: items[0].deduct: Input should be a valid number"),
    "require_without_match": (GOOD.replace("    match: [您好, 你好]\n", ""), "7: items[0]: a require item needs match"),
    "setting_of_another_type": (GOOD.replace("type: require", "type: forbid\n    min_silence_s: 5"),
                                "7: items[0]: min_silence_s does not apply to a forbid item"),
    "unknown_item_type": (GOOD.replace("type: require", "type: greet"),
                          "7: items[0]: type: give one of require, forbid, dead_air, interruption, speech_rate, hold"),
    "item_without_type": (GOOD.replace("    type: require\n", ""), "7: items[0]: type: give one of require, forbid,"),
    "neither_deduct_nor_fatal": (GOOD.replace("    deduct: 5\n", ""),
                                 "7: items[0]: an item needs deduct (points) or fatal: true"),
    "bad_regex": (GOOD.replace("[您好, 你好]", r"[您好, {regex: '工号(\d+'}]"),
                  "10: items[0].match[1].regex: invalid regular expression"),
    "unknown_pattern_key": (GOOD.replace("[您好, 你好]", "[您好, {phrase: 工号, sounds: true}]"),
                            "10: items[0].match[1]: unknown key(s) sounds for phrase"),
    "scope_with_two_keys": (GOOD.replace("    match:", "    scope: {first_turns: 1, last_turns: 2}\n    match:"),
                            "10: items[0].scope: give one of first_turns, first_seconds, last_turns, last_seconds"),
    "duplicate_item_id": (GOOD + "\n".join(GOOD.splitlines()[6:]) + "\n",
                          "12: items[1].id: 'demo.hello' is already used by items[0]"),
    "wrong_schema": (GOOD.replace("qa.checklist/1", "qa.checklist/2"), "1: schema: Input should be 'qa.checklist/1'"),
    # context rules of forbid items: the problem names the rule and the condition
    "unknown_condition": (FORBID + "      - if: {softened: [抱歉]}\n        then: pass\n        reason: 致歉\n",
                          "13: items[0].context[0].if: unknown condition softened (conditions: turn, hit,"),
    "condition_of_the_wrong_kind": (FORBID + "      - if: {question: maybe}\n        then: pass\n        reason: 问句\n",
                                    "13: items[0].context[0].if.question: Input should be a valid boolean"),
    "bad_pattern_in_a_condition": (FORBID + "      - if: {turn: [抱歉, {regex: '(抱'}]}\n        then: pass\n"
                                   "        reason: 致歉\n",
                                   "13: items[0].context[0].if.turn[1].regex: invalid regular expression"),
    "bad_pattern_in_the_customers_reply": (FORBID + "      - if: {customer_after: [{regex: '意思)'}]}\n        then: fatal\n"
                                           "        reason: 客户听出了讽刺\n",
                                           "13: items[0].context[0].if.customer_after[0].regex: invalid regular expression"),
    "outnumbered_without_times": (FORBID + "      - if: {outnumbered_by: {pattern: 您}}\n        then: pass\n"
                                  "        reason: 识别误差\n",
                                  "13: items[0].context[0].if.outnumbered_by.times: Field required"),
    "bad_pattern_in_outnumbered_by": (FORBID + "      - if: {outnumbered_by: {pattern: [{regex: '您('}], times: 2}}\n"
                                      "        then: pass\n        reason: 识别误差\n",
                                      "13: items[0].context[0].if.outnumbered_by.pattern[0].regex: invalid regular"),
    "unknown_outcome": (FORBID + "      - if: {alone: true}\n        then: forgive\n        reason: 单独\n",
                        "14: items[0].context[0].then: Input should be 'fatal', 'review', 'deduct' or 'pass'"),
    "deduct_without_points": (FORBID + "      - if: {alone: true}\n        then: deduct\n        reason: 单独\n",
                              "13: items[0].context[0]: then: deduct needs deduct: <points> above 0"),
    "catch_all_rule_not_last": (FORBID + "      - then: review\n        reason: 其余\n      - if: {alone: true}\n"
                                "        then: pass\n        reason: 单独\n",
                                "7: items[0]: context[0] has no if: it takes every hit, so it must come last"),
    "context_on_a_require_item": (GOOD + "    context:\n      - if: {alone: true}\n        then: pass\n"
                                  "        reason: 单独\n",
                                  "7: items[0]: context does not apply to a require item"),
    "doubt_on_a_require_item": (GOOD + "    doubt_when: {customer_said: [什么态度], reason: 客户不满}\n",
                                "7: items[0]: doubt_when does not apply to a require item"),
    "doubt_without_a_reason": (GOOD.replace("type: require", "type: forbid")
                               + "    doubt_when: {customer_said: [什么态度]}\n",
                               "12: items[0].doubt_when.reason: Field required"),
    "bad_pattern_in_a_doubt": (GOOD.replace("type: require", "type: forbid")
                               + "    doubt_when: {customer_said: [{regex: '态度('}], reason: 客户不满}\n",
                               "12: items[0].doubt_when.customer_said[0].regex: invalid regular expression"),
}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("case", MALFORMED)
def test_a_malformed_checklist_gets_one_precise_problem(tmp_path: Path, case: str) -> None:
    text, expected = MALFORMED[case]
    path = write(tmp_path / "demo.yaml", text)
    with pytest.raises(ChecklistError) as caught:
        load_checklist(path)
    [problem] = caught.value.problems
    assert problem.startswith(f"{path}:{expected}"), problem


def test_the_problem_shows_the_value_given(tmp_path: Path) -> None:
    with pytest.raises(ChecklistError, match=r"\(got 'five'\)"):
        load_checklist(write(tmp_path / "demo.yaml", MALFORMED["wrong_type"][0]))


def test_grades_not_descending_in_a_template(tmp_path: Path) -> None:
    path = write(tmp_path / "scoring.yaml", TEMPLATE)
    with pytest.raises(ChecklistError) as caught:
        load_template(path)
    assert caught.value.problems == [
        f"{path}:5: grades: grades must be listed from the highest min_score down, each different"]


def test_every_problem_in_a_file_is_reported_at_once(tmp_path: Path) -> None:
    text = GOOD.replace("deduct: 5", "deduct: five") + "    points: 3\n"
    with pytest.raises(ChecklistError) as caught:
        load_checklist(write(tmp_path / "demo.yaml", text))
    assert [p.split(": ")[1] for p in caught.value.problems] == ["items[0].deduct", "items[0].points"]


def _copy_of_defaults(folder: Path) -> Path:
    shutil.copytree(DEFAULTS_DIR, folder)
    return folder


def test_one_bad_file_among_good_ones_stops_all_loading(tmp_path: Path) -> None:
    folder = _copy_of_defaults(tmp_path / "checklists")
    bad = write(folder / "zz_demo.yaml", MALFORMED["wrong_type"][0])
    with pytest.raises(ChecklistError) as caught:
        load_rules(folder)
    assert caught.value.problems and all(p.startswith(f"{bad}:") for p in caught.value.problems)


def test_an_item_id_used_in_two_files_stops_loading(tmp_path: Path) -> None:
    folder = _copy_of_defaults(tmp_path / "checklists")
    shutil.copy(folder / "greeting.yaml", folder / "greeting_copy.yaml")
    with pytest.raises(ChecklistError, match="item id 'greeting.hello' is also used in"):
        load_rules(folder)


# --- qa checklist -------------------------------------------------------------------------------

def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=WIDE)


def test_validate_accepts_every_bundled_file() -> None:
    files = sorted(DEFAULTS_DIR.glob("*.yaml"))
    result = invoke("checklist", "validate", *map(str, files))
    assert result.exit_code == 0, result.output
    for path in files:
        assert f"{path}: ok" in result.output


def test_validate_prints_each_problem_and_fails(tmp_path: Path) -> None:
    bad = write(tmp_path / "demo.yaml", GOOD.replace("deduct: 5", "deduct: five") + "    points: 3\n")
    good = write(tmp_path / "good.yaml", GOOD)
    result = invoke("checklist", "validate", str(good), str(bad))
    assert result.exit_code != 0
    lines = result.output.splitlines()
    assert f"{good}: ok (checklist demo, 1 items)" in lines
    assert any(line.startswith(f"{bad}:11: items[0].deduct: ") for line in lines)
    assert any(line.startswith(f"{bad}:12: items[0].points: ") for line in lines)
    assert "1 of 2 file(s) have problems" in result.output


def test_list_shows_every_item() -> None:
    result = invoke("checklist", "list")
    assert result.exit_code == 0, result.output
    for checklist in load_rules().checklists:
        for item in checklist.checklist.items:
            assert item.id in result.output


# --- qa score -----------------------------------------------------------------------------------

@pytest.fixture
def transcript_file(tmp_path: Path) -> Path:
    return write(tmp_path / "c03_bare_wei.json", to_json(transcript_from_truth(sample_truth("c03_bare_wei"))))


def test_score_prints_the_scorecard(transcript_file: Path) -> None:
    result = invoke("score", str(transcript_file), "--direction", "inbound")
    assert result.exit_code == 0, result.output
    assert "c03_bare_wei" in result.output
    assert "不以“喂”开场" in result.output and "不通过" in result.output


def test_score_json_is_a_scorecard_per_line(transcript_file: Path) -> None:
    result = invoke("score", str(transcript_file), str(transcript_file), "--json")
    assert result.exit_code == 0, result.output
    cards = [json.loads(line) for line in result.stdout.splitlines()]
    assert [c["schema"] for c in cards] == ["qa.scorecard/1"] * 2
    assert cards[0]["call_id"] == "c03_bare_wei"


def test_score_out_writes_a_score_file_per_call(transcript_file: Path, tmp_path: Path) -> None:
    result = invoke("score", str(transcript_file), "--out", str(tmp_path / "cards"))
    assert result.exit_code == 0, result.output
    card = Scorecard.load(tmp_path / "cards" / "c03_bare_wei.score.json")
    assert next(v for v in card.verdicts if v.item == "greeting.no_bare_wei").verdict == "fail"


def test_rescoring_with_changed_checklists_changes_the_score(transcript_file: Path, tmp_path: Path) -> None:
    folder = _copy_of_defaults(tmp_path / "checklists")
    greeting = yaml.safe_load((folder / "greeting.yaml").read_text(encoding="utf-8"))
    wei = next(item for item in greeting["items"] if item["id"] == "greeting.no_bare_wei")
    wei["deduct"] += 20
    (folder / "greeting.yaml").write_text(yaml.safe_dump(greeting, allow_unicode=True), encoding="utf-8")

    before = json.loads(invoke("score", str(transcript_file), "--json").stdout)
    after = json.loads(invoke("score", str(transcript_file), "--json", "--checklists", str(folder)).stdout)
    assert after["score"] == before["score"] - 20
    assert {c["id"]: c["sha256"] for c in after["checklists"]}["greeting"] != \
        {c["id"]: c["sha256"] for c in before["checklists"]}["greeting"]


def test_a_file_that_is_not_a_transcript_is_reported_and_the_others_are_scored(transcript_file: Path,
                                                                               tmp_path: Path) -> None:
    notes = write(tmp_path / "notes.json", '{"hello": 1}')
    garbage = write(tmp_path / "garbage.json", "not json at all")
    result = invoke("score", str(notes), str(transcript_file), str(garbage), "--json")
    assert result.exit_code == 1
    assert [json.loads(line)["call_id"] for line in result.stdout.splitlines()] == ["c03_bare_wei"]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error ")]
    assert len(errors) == 2  # one line per bad file
    assert errors[0].startswith(f"error {notes}: not a readable transcript")
    assert errors[1].startswith(f"error {garbage}: not a readable transcript")


# --- qa process (real models) -------------------------------------------------------------------

@pytest.mark.slow
def test_process_transcribes_and_scores_a_call(models_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["process", str(SAMPLES / "calls" / "c03_bare_wei.wav"), "--out", str(out),
                                       "--json"])
    assert result.exit_code == 0, result.output
    assert (out / "c03_bare_wei.json").is_file()
    card = Scorecard.load(out / "c03_bare_wei.score.json")
    assert next(v for v in card.verdicts if v.item == "greeting.no_bare_wei").verdict == "fail"
    assert json.loads(result.stdout.splitlines()[-1])["call_id"] == "c03_bare_wei"
