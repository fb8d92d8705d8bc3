"""The web app in a real browser (Debian's Chromium through Playwright), served by werkzeug on a
free port, with CSRF on as in production. Screenshots of the main pages go to out/screenshots/."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import unavailable
from flask import Flask
from learningworld import LearningCentre
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import select
from webworld import PASSWORD, SAMPLES, SCRIPT, World, add_call, build_world, open_test_database
from werkzeug.serving import make_server

from qa.bundled import CHECKOUT as REPO_ROOT
from qa.config import Config
from qa.db.models import Call, ItemVerdict, PhraseDecision, User
from qa.learning.predict import refresh_predictions
from qa.learning.versions import train_version
from qa.review.actions import confirm_call
from qa.scoring.loader import load_rules
from web.app import create_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = REPO_ROOT / "out" / "screenshots"


@dataclass
class Site:
    world: World | LearningCentre
    url: str
    browser: Browser


def _confirmed_history(world: World) -> None:
    """Confirmed calls of agent A1001 over three months, for the scorecard's trend and deductions."""
    for key, sample, month in (("sep", "c05_ni_not_nin", 9), ("oct", "c04_no_closing", 10),
                               ("nov", "c09_long_hold", 11)):
        add_call(world, key, sample, "A1001", datetime(2026, month, 12, 2, 0, tzinfo=UTC))
        with world.db.session() as s:
            inspector = s.get_one(User, world.users["insp1"])
            confirm_call(s, inspector, s.get_one(Call, world.calls[key]), 0, world.rules.template)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium for the module (Playwright's sync API runs once per thread)."""
    if not Path(CHROMIUM).is_file():
        unavailable(f"{CHROMIUM} is missing: apt-get install chromium fonts-noto-cjk (.ci/run does)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """`app` served on a free port; yields its address."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


@pytest.fixture(scope="module")
def site(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    world = build_world(Config(data_dir=tmp_path_factory.mktemp("browser") / "data"))
    _confirmed_history(world)
    with serving(create_app(world.config, world.db)) as url:
        yield Site(world, url, browser)
    world.db.dispose()


@pytest.fixture(scope="module")
def learning_site(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A centre of variant calls (tests/learningworld.py) with a trained model."""
    config, db = open_test_database(Config(data_dir=tmp_path_factory.mktemp("learning") / "data"))
    world = LearningCentre(db, load_rules(), per_sample=4, confirmed=36)
    train_version(db, config, world.rules)
    refresh_predictions(db, world.rules)
    with serving(create_app(config, db)) as url:
        yield Site(world, url, browser)
    db.dispose()


def signed_in(site: Site, username: str) -> Page:
    page = site.browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    page.goto(f"{site.url}/login")
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', PASSWORD)
    page.click("form button.primary")
    page.wait_for_load_state()
    return page


def verdict_id(world: World, call: str, item: str) -> int:
    with world.db.session() as s:
        return s.scalars(select(ItemVerdict.id).where(ItemVerdict.call_id == world.calls[call],
                                                      ItemVerdict.item == item)).one()


def test_sign_in_page_and_each_role_lands_on_its_home(site: Site) -> None:
    page = site.browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(f"{site.url}/login")
    expect(page.locator("h1")).to_have_text("登录")
    page.screenshot(path=SHOTS / "login.png", full_page=True)
    page.close()
    homes = {"agent1": ("/agents/", "成绩单"), "insp1": ("/queue", "质检队列"), "manager1": ("/queue", "质检队列"),
             "admin1": ("/queue", "质检队列")}
    for username, (path, heading) in homes.items():
        page = signed_in(site, username)
        assert path in page.url, username
        expect(page.locator("h1")).to_contain_text(heading)
        expect(page.locator("header .who")).to_be_visible()
        if username == "insp1":
            page.screenshot(path=SHOTS / "queue.png", full_page=True)
            page.click("header .locale button[value=en]")
            expect(page.locator("h1")).to_contain_text("Review queue")
            page.screenshot(path=SHOTS / "queue-en.png", full_page=True)
            page.click("header .locale button[value=zh]")
            expect(page.locator("h1")).to_contain_text("质检队列")
        page.context.close()


def test_inspector_reviews_a_call_end_to_end(site: Site) -> None:
    page = signed_in(site, "insp1")
    call = site.world.calls["bad"]
    page.click(f'a[href="/calls/{call}"]')
    expect(page.locator("h1")).to_contain_text(f"#{call}")
    page.wait_for_function("() => document.querySelector('#audio').readyState >= 1")
    page.wait_for_function("() => [...document.querySelector('#waveform').children].some((e) => e.shadowRoot)")

    turn = page.locator(".turn").nth(2)
    turn.click()
    start = float(turn.get_attribute("data-start"))
    page.wait_for_function(f"() => Math.abs(document.querySelector('#audio').currentTime - {start}) < 1.5")
    expect(turn).to_have_class(re.compile(r"\bplaying\b"))

    item = page.locator(f"#v{verdict_id(site.world, 'bad', 'forbidden.not_our_business')}")
    evidence = item.locator("button.play").first
    evidence.click()
    evidence_start = float(evidence.get_attribute("data-start"))
    page.wait_for_function(f"() => Math.abs(document.querySelector('#audio').currentTime - {evidence_start}) < 1.5")
    expect(page.locator("mark.hit-fail").first).to_be_visible()
    page.evaluate("document.querySelector('#audio').pause()")
    page.screenshot(path=SHOTS / "call.png", full_page=True)

    item.locator('input[value="pass"]').check()
    item.locator('input[name="comment"]').fill("“不归我们管”是转述客户的话")
    item.locator("button", has_text="保存").click()
    expect(item.locator("[data-final]")).to_have_text("通过")
    expect(page.locator("[data-preview]")).to_contain_text("90")
    expect(page.locator('#confirm-call input[name="version"]')).to_have_value("1")

    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("j")
    expect(page.locator("article.item.current")).to_have_count(1)
    page.keyboard.press("c")  # saves the first item as selected (its automatic verdict)
    expect(page.locator("article.item.current [data-final]")).not_to_have_text("尚未判定")
    expect(page.locator('#confirm-call input[name="version"]')).to_have_value("2")
    page.keyboard.press("Enter")
    expect(page.locator(".flash.ok")).to_contain_text("通话已确认：90 分，优秀。")
    expect(page.locator("dd[data-state]")).to_have_text("已确认")
    expect(page.locator("section.audit")).to_contain_text("通话确认")
    page.screenshot(path=SHOTS / "call-confirmed.png", full_page=True)
    with site.world.db.session() as s:
        row = s.get_one(Call, call)
        assert (row.state, row.score) == ("confirmed", 90.0)
    page.context.close()


def test_second_inspectors_stale_save_is_refused(site: Site) -> None:
    first, second = signed_in(site, "insp1"), signed_in(site, "insp2")
    url = f"{site.url}/calls/{site.world.calls['other']}"
    first.goto(url)
    second.goto(url)
    item = f"#v{verdict_id(site.world, 'other', 'courtesy.nin_not_ni')}"
    second.locator(item).locator("button", has_text="保存").click()
    expect(second.locator(f"{item} [data-final]")).to_have_text("不通过")
    first.locator(item).locator('input[value="pass"]').check()
    first.locator(item).locator('input[name="comment"]').fill("听错了")
    first.locator(item).locator("button", has_text="保存").click()
    expect(first.locator("#notice")).to_contain_text("已被 赵质检 于")
    expect(first.locator("#notice")).to_contain_text("修改，请刷新后再试")
    expect(first.locator(f"{item} [data-final]")).to_have_text("尚未判定")
    with site.world.db.session() as s:
        assert s.get_one(ItemVerdict, int(item[2:])).final_verdict == "fail"
    first.context.close()
    second.context.close()


def test_agent_appeals_and_another_inspector_decides(site: Site) -> None:
    agent = signed_in(site, "agent1")
    agent.screenshot(path=SHOTS / "scorecard.png", full_page=True)
    expect(agent.locator("figure.chart-trend details.chart-table tbody tr")).to_have_count(3)
    expect(agent.locator("figure.chart-trend canvas").first).to_be_visible()  # drawn by ECharts
    agent.locator(".deductions a").first.click()
    expect(agent.locator("article.item.current")).to_have_count(1)
    agent.goto(f"{site.url}/calls/{site.world.calls['sep']}")
    item = agent.locator(f"#v{verdict_id(site.world, 'sep', 'courtesy.nin_not_ni')}")
    item.locator('input[name="reason"]').fill("客户先说的“你”，我在复述")
    item.locator("button", has_text="申诉").click()
    expect(agent.locator(".flash.ok")).to_contain_text("申诉已提交")
    expect(item.locator("p.appeal")).to_contain_text("待裁决")
    agent.screenshot(path=SHOTS / "call-agent.png", full_page=True)
    expect(item.locator("form.appeal-form")).to_have_count(0)  # once only

    confirmer = signed_in(site, "insp1")
    confirmer.goto(f"{site.url}/appeals")
    confirmer.fill("form.decide input[name=comment]", "同意")
    confirmer.click("form.decide button[value=upheld]")
    expect(confirmer.locator(".error .message")).to_contain_text("另一位质检员")

    other = signed_in(site, "insp2")
    other.goto(f"{site.url}/appeals")
    other.fill("form.decide input[name=comment]", "录音中确为复述，申诉成立")
    other.click("form.decide button[value=upheld]")
    expect(other.locator(".flash.ok")).to_contain_text("裁决已保存")
    expect(other.locator("table.appeals")).to_contain_text("申诉成立")
    other.screenshot(path=SHOTS / "appeals.png", full_page=True)
    agent.reload()
    expect(item.locator("p.appeal")).to_contain_text("申诉成立")
    for page in (agent, confirmer, other):
        page.context.close()


def test_agent_is_refused_other_calls_and_inspector_pages(site: Site) -> None:
    agent = signed_in(site, "agent2")
    for path in (f"/calls/{site.world.calls['bad']}", f"/calls/{site.world.calls['bad']}/audio", "/queue", "/upload"):
        response = agent.goto(f"{site.url}{path}")
        assert response.status == 403, path
        expect(agent.locator("section.error")).to_contain_text("您没有权限查看此页面")
    agent.context.close()


def test_script_in_a_transcript_is_shown_as_text(site: Site) -> None:
    page = signed_in(site, "insp1")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{site.url}/calls/{site.world.calls['xss']}")
    expect(page.locator(".turn.role-customer p.text").first).to_have_text(f"你好{SCRIPT}")
    assert page.locator(".turn script").count() == 0 and dialogs == []
    page.context.close()


def test_a_form_without_csrf_token_is_refused(site: Site) -> None:
    page = signed_in(site, "insp1")
    call = site.world.calls["fatal"]
    page.goto(f"{site.url}/calls/{call}")
    page.evaluate("""(action) => {
        const form = document.createElement('form');
        form.method = 'post'; form.action = action;
        const version = document.createElement('input');
        version.name = 'version'; version.value = '0'; form.appendChild(version);
        document.body.appendChild(form); form.submit();
    }""", f"/calls/{call}/confirm")
    page.wait_for_load_state()
    expect(page.locator("section.error h1")).to_have_text("400")
    expect(page.locator("section.error")).to_contain_text("表单已过期")
    with site.world.db.session() as s:
        assert s.get_one(Call, call).state == "scored"
    page.context.close()


def test_upload_shows_each_result_and_status_refreshes(site: Site, tmp_path: Path) -> None:
    page = signed_in(site, "manager1")
    page.goto(f"{site.url}/upload")
    broken = tmp_path / "empty.wav"
    broken.write_bytes(b"")
    page.set_input_files('input[name="files"]', [SAMPLES / "calls" / "c08_rude_customer.wav", broken])
    page.click("form.upload button.primary")
    expect(page.locator("tr.result-stored")).to_contain_text("c08_rude_customer.wav")
    expect(page.locator("tr.result-error")).to_contain_text("empty.wav")
    page.screenshot(path=SHOTS / "upload.png", full_page=True)
    page.click("text=查看处理进度")
    expect(page.locator("#status tbody tr").first).to_contain_text("c08_rude_customer.wav")
    with site.world.db.session() as s:
        failed = s.scalars(select(Call).where(Call.original_name == "c08_rude_customer.wav")).one()
        failed.state, failed.error = "failed", "corrupt or truncated audio: decoding failed after 3.0 s"
    expect(page.locator("#status tbody tr").first).to_contain_text("corrupt or truncated audio", timeout=10_000)
    page.screenshot(path=SHOTS / "status.png", full_page=True)
    page.locator("#status tbody tr").first.locator("button", has_text="重试").click()
    expect(page.locator(".flash.ok")).to_contain_text("已重新排队")
    page.context.close()


def test_manager_records_publishes_and_the_agent_sees_the_month(site: Site) -> None:
    page = signed_in(site, "manager1")
    page.click("nav >> text=月度考核")
    expect(page.locator("h1")).to_contain_text("月度考核")
    page.goto(f"{site.url}/tally/2026-11")
    expect(page.locator("#state")).to_contain_text("草稿")
    expect(page.locator(".chart-grid figure.chart canvas").first).to_be_visible()
    form = page.locator("form.entry-form")
    form.locator('select[name="agent"]').select_option(label="A1001 张三")
    form.locator('select[name="kind"]').select_option("praise")
    form.locator('input[name="quantity"]').fill("2")
    form.locator('input[name="note"]').fill("两位客户来电表扬")
    form.locator("button").click()
    expect(page.locator(".flash")).to_contain_text("已为 A1001 记录")
    page.locator("form.publish-form button").click()
    expect(page).to_have_url(re.compile(r"/tally/2026-11/v1$"))
    expect(page.locator("#state")).to_contain_text("第 1 版")
    page.screenshot(path=SHOTS / "tally.png", full_page=True)
    page.context.close()

    agent = signed_in(site, "agent1")
    agent.goto(f"{site.url}/agents/{site.world.agents['A1001']}")
    month = agent.locator("section.my-month")
    expect(month).to_contain_text("月度考核")
    expect(month).to_contain_text("客户点名表扬")
    expect(month.locator(".tally-lines")).to_contain_text("+4")
    agent.screenshot(path=SHOTS / "scorecard-month.png", full_page=True)
    assert agent.goto(f"{site.url}/tally/2026-11").status == 403
    agent.context.close()


def test_manager_sees_how_often_inspectors_changed_the_verdicts(site: Site) -> None:
    page = signed_in(site, "manager1")
    page.click("nav >> text=判定一致性")
    expect(page.locator("h1")).to_contain_text("判定一致性")
    page.goto(f"{site.url}/agreement/2026-11")
    figures = page.locator("figure.chart")
    expect(figures).to_have_count(2)
    for figure in figures.all():  # drawn where the month has figures (earlier tests may have confirmed calls)
        if figure.locator("tbody tr").count():
            expect(figure.locator(".chart-canvas canvas")).to_be_visible()
        else:
            expect(figure).to_contain_text("本期没有可绘制的数据")
    expect(page.locator("table.list")).to_contain_text("greeting.hello")  # one row per item of the month's calls
    page.screenshot(path=SHOTS / "agreement.png", full_page=True)
    page.context.close()


def _rate(site: Site, username: str, cal_url: str, fail_first: bool) -> None:
    """An inspector gives every item of every call of the session a verdict, by clicking."""
    page = signed_in(site, username)
    page.goto(cal_url)
    links = page.locator("table.list a")
    for index in range(links.count()):
        page.goto(cal_url)
        page.locator("table.list a").nth(index).click()
        expect(page.locator("input[type=radio]:checked")).to_have_count(0)  # blind: nothing chosen for them
        passes = page.locator('form.calibration input[value="pass"]')
        for row in range(passes.count()):
            passes.nth(row).check()
        if fail_first:
            page.locator('form.calibration input[value="fail"]').first.check()
        page.locator("form.calibration button").click()
        expect(page.locator(".flash")).to_contain_text("您的判定已保存")
    expect(page.locator("table.list")).not_to_contain_text("未给出")
    page.context.close()


def test_calibration_session_in_the_browser(site: Site) -> None:
    manager = signed_in(site, "manager1")
    manager.click("nav >> text=校准")
    manager.fill('input[name="title"]', "十一月校准")
    manager.fill('input[name="calls"]', f"{site.world.calls['sep']} {site.world.calls['oct']}")
    manager.locator("form.inline-form button").click()
    expect(manager).to_have_url(re.compile(r"/calibration/\d+$"))
    cal_url = manager.url
    _rate(site, "insp1", cal_url, fail_first=False)
    _rate(site, "insp2", cal_url, fail_first=True)
    manager.reload()
    disagreements = manager.locator("table.disagreements tbody tr")
    expect(disagreements).to_have_count(2)  # the first item of each call
    disagreements.first.locator('select[name="verdict"]').select_option("fail")
    disagreements.first.locator("button").click()
    expect(manager.locator(".flash")).to_contain_text("已记录一致判定")
    expect(manager.locator("table.disagreements tbody tr").first).to_contain_text("✓")
    manager.screenshot(path=SHOTS / "calibration.png", full_page=True)
    manager.context.close()


def test_manager_reviews_what_the_model_learned_and_inspectors_follow_its_order(learning_site: Site) -> None:
    manager = signed_in(learning_site, "boss")
    manager.click("nav >> text=模型学习")
    expect(manager.locator("h2").first).to_contain_text("版本 1")
    expect(manager.locator("figure.chart canvas").first).to_be_visible()
    suggestion = manager.locator("table.suggestions tbody tr").first
    phrase = suggestion.locator("td strong").inner_text()
    suggestion.locator('button[value="reject"]').click()
    expect(manager.locator(".flash")).to_contain_text(f"“{phrase}”")
    manager.screenshot(path=SHOTS / "learning.png", full_page=True)
    with learning_site.world.db.session() as session:
        assert session.scalars(select(PhraseDecision.decision)).all() == ["rejected"]
    manager.context.close()

    inspector = signed_in(learning_site, "insp1")
    inspector.goto(f"{learning_site.url}/queue")
    inspector.select_option('select[name="order"]', "wrong")
    inspector.locator("form.filters button").click()
    expect(inspector).to_have_url(re.compile(r"order=wrong"))
    first = inspector.locator("table.queue tbody tr").first
    expect(first.locator("td").nth(9)).to_contain_text("%")
    first.locator("a").first.click()
    expect(inspector.locator(".item .model").first).to_contain_text("模型：不合格概率")
    inspector.screenshot(path=SHOTS / "queue-by-model.png", full_page=True)
    inspector.context.close()
