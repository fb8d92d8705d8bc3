"""The lived-in demo in Chromium: each manager page opens on the demo's latest month or week and
shows the figures the product computed (checked against the same computations here), the charts
are drawn by ECharts, an evidence region of the waveform seeks the recording, a text-level call
says it has no recording, and no page breaks the Content-Security-Policy. Screenshots of each page
go to out/screenshots/demo-*.png."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from demoworld import build_demo
from playwright.sync_api import ConsoleMessage, Page, expect
from sqlalchemy import func, select
from test_browser import SHOTS, Site, browser, serving, signed_in  # noqa: F401 - the browser tests' fixtures

from qa.config import Config
from qa.db.models import Appeal, Call, ItemVerdict, LearnedModel
from qa.demo_history import months
from qa.tally.actions import live_tally
from qa.tally.policy import load_policy
from web.app import create_app
from web.coverage import month_coverage
from web.i18n import number

FIRST, SECOND = months()


@pytest.fixture(scope="module")
def demo_site(browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    world = build_demo(Config(data_dir=tmp_path_factory.mktemp("demo") / "data"))
    with serving(create_app(world.config, world.db)) as url:
        yield Site(world, url, browser)
    world.db.dispose()


def _csp_errors(page: Page) -> list[str]:
    """Content-Security-Policy refusals and uncaught script errors, as they happen."""
    errors: list[str] = []

    def collect(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            errors.append(message.text)
    page.on("console", collect)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def _policy(site: Site):  # -> a LoadedPolicy
    return load_policy(site.world.config.tally.policy, known_items={i.id for _, i in site.world.rules.items()})


def _charts_drawn(page: Page) -> None:
    figures = page.locator("figure[data-chart]")
    for i in range(figures.count()):
        if figures.nth(i).locator("tbody tr").count():
            expect(figures.nth(i).locator(".chart-canvas canvas")).to_be_visible()


def test_manager_pages_open_on_the_demo_month_with_its_figures(demo_site: Site) -> None:
    site = demo_site
    with site.world.db.session() as session:
        tally = live_tally(session, _policy(site), SECOND)
        coverage = month_coverage(session, SECOND, _policy(site).policy.period, tally.centre.name)
        version = session.scalar(select(LearnedModel).where(LearnedModel.active.is_(True)))
        open_appeals = session.scalar(select(func.count()).select_from(Appeal).where(Appeal.state == "open"))
    assert tally.centre.calls > 50 and tally.centre.ranked >= 5 and version is not None and open_appeals == 2

    page = signed_in(site, "manager")
    errors = _csp_errors(page)
    page.goto(f"{site.url}/tally")
    expect(page).to_have_url(re.compile(rf"/tally/{SECOND}$"))
    figures = page.locator("ul.figures li")
    expect(figures.nth(1)).to_contain_text(str(tally.centre.calls))  # confirmed calls
    expect(figures.nth(2)).to_contain_text(number(tally.centre.mean))
    ranked = page.locator("table.ranking tbody tr")
    expect(ranked).to_have_count(len(tally.agents))
    first = next(a for a in tally.agents if a.rank == 1)
    expect(page.locator(f'table.ranking tr[data-agent="{first.code}"] td').first).to_have_text("1")
    centre = page.locator("table.coverage tr.team").last
    expect(centre).to_contain_text(str(coverage.centre.calls))
    expect(centre).to_contain_text(number(coverage.centre.auto_mean))
    assert coverage.centre.calls > tally.centre.calls  # every call scored, a share confirmed
    _charts_drawn(page)
    page.screenshot(path=SHOTS / "demo-tally.png", full_page=True)

    page.goto(f"{site.url}/tally/{FIRST}/v1")
    expect(page.locator("#state")).to_contain_text("第 1 版")
    page.screenshot(path=SHOTS / "demo-tally-published.png", full_page=True)

    page.goto(f"{site.url}/agreement")
    expect(page).to_have_url(re.compile(rf"/agreement/{SECOND}$"))
    expect(page.locator("main > table.list tbody tr").first).to_be_visible()
    assert page.locator("main > table.list tbody tr").count() >= 10
    _charts_drawn(page)
    page.screenshot(path=SHOTS / "demo-agreement.png", full_page=True)

    page.goto(f"{site.url}/reports/weekly")
    expect(page).to_have_url(re.compile(r"/reports/weekly/2026-W48$"))
    calls_this_week = page.locator("table.figures tbody tr").first.locator("td").nth(1)
    assert int(calls_this_week.inner_text()) > 10
    _charts_drawn(page)
    page.screenshot(path=SHOTS / "demo-weekly.png", full_page=True)

    page.goto(f"{site.url}/learning")
    expect(page.locator("main h2").first).to_contain_text(f"版本 {version.version}")
    _charts_drawn(page)
    page.screenshot(path=SHOTS / "demo-learning.png", full_page=True)

    page.goto(f"{site.url}/appeals")
    page.screenshot(path=SHOTS / "demo-appeals.png", full_page=True)
    page.goto(f"{site.url}/queue")
    page.screenshot(path=SHOTS / "demo-queue.png", full_page=True)
    assert errors == []
    page.context.close()


def test_agent_sees_the_published_month_and_the_trend(demo_site: Site) -> None:
    page = signed_in(demo_site, "a1006")
    errors = _csp_errors(page)
    page.goto(f"{demo_site.url}/scorecard")
    expect(page.locator("section.my-month")).to_contain_text(str(FIRST))
    expect(page.locator("figure.chart-trend tbody tr")).to_have_count(2)  # the two demo months
    _charts_drawn(page)
    page.screenshot(path=SHOTS / "demo-scorecard.png", full_page=True)
    assert errors == []
    page.context.close()


def test_an_evidence_region_seeks_the_recording_and_speed_changes(demo_site: Site) -> None:
    site = demo_site
    page = signed_in(site, "inspector")
    errors = _csp_errors(page)
    page.goto(f"{site.url}/calls/{site.world.calls['c06_bu_zhidao']}")
    with site.world.db.session() as session:
        evidence = {f"e{v.id}-{i}": e["start"] for v in session.scalars(select(ItemVerdict).where(
            ItemVerdict.call_id == site.world.calls["c06_bu_zhidao"])) for i, e in enumerate(v.evidence)}
    expect(page.locator('#waveform [part^="region e"]').first).to_be_attached(timeout=20_000)  # peaks, then regions
    # An evidence region that no later region covers where it is clicked (several items can cite one turn).
    part, x, y = page.evaluate("""() => {
      const root = [...document.getElementById('waveform').children].find((e) => e.shadowRoot).shadowRoot;
      for (const button of document.querySelectorAll('button.play[data-region]')) {
        if (parseFloat(button.dataset.start) < 1) continue;  // a seek away from the start
        const region = root.querySelector(`[part~="${button.dataset.region}"]`);
        const box = region.getBoundingClientRect(), x = box.left + box.width / 2, y = box.top + box.height / 2;
        if (region.contains(root.elementFromPoint(x, y))) return [button.dataset.region, x, y];
      }
    }""")
    assert part in evidence and evidence[part] > 1
    page.mouse.click(x, y)
    page.wait_for_function(f"() => Math.abs(document.getElementById('audio').currentTime - {evidence[part]}) < 0.3")
    page.locator('button[data-rate="1.5"]').click()
    assert page.evaluate("document.getElementById('audio').playbackRate") == 1.5
    page.locator("#zoom").fill("100")
    page.screenshot(path=SHOTS / "demo-call.png", full_page=True)
    assert errors == []
    page.context.close()


def test_a_text_level_call_says_it_has_no_recording(demo_site: Site) -> None:
    site = demo_site
    with site.world.db.session() as session:
        call_id = session.scalar(select(Call.id).where(Call.audio_path == "", Call.state == "confirmed").limit(1))
    page = signed_in(site, "manager")
    page.goto(f"{site.url}/calls/{call_id}")
    expect(page.locator("#text-only")).to_be_visible()
    assert page.locator("audio").count() == 0
    expect(page.locator("section.audit")).to_contain_text("演示数据")
    page.screenshot(path=SHOTS / "demo-text-call.png", full_page=True)
    page.context.close()

