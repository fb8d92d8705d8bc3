"""`qa tally`, `qa rank --publish`, `qa export` and `qa entry` on the hand-computed November, and
the exported XLSX read back: by openpyxl, and by LibreOffice itself (converted headless to CSV),
also with agents and a team named like formulas, in the tally's and the weekly report's files."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import run_qa, unavailable
from openpyxl import load_workbook
from sqlalchemy import select
from test_tally import build_november

from qa.config import Config
from qa.db.models import Agent, Team
from qa.db.session import open_database, upgrade
from qa.tally.export import TABLES

SUMMARY_HEADERS = ["排名", "坐席工号", "姓名", "班组", "质检通话数", "平均分", "中位数", "绩效加减分", "绩效分", "等级",
                   "高压线次数", "满意度", "奖励(元)", "扣款(元)", "合计(元)", "处分", "称号", "标记", "未决申诉", "上月平均分"]
# (rank, code, calls, mean, score, reward, penalty, net) worked out by hand in tests/test_tally.py
EXPECTED = [(1, "A01", 6, 99.17, 99.17, 356, 0, 356), (2, "A02", 6, 97.67, 95.67, 0, -100, -100),
            (3, "A04", 5, 98, 88, 0, 0, 0), (4, "A05", 5, 88, 88, 0, -300, -300), (4, "A06", 5, 88, 88, 0, 0, 0),
            (6, "A03", 5, 80, 80, 0, -500, -500), (None, "A07", 0, None, None, 2, 0, 2),
            (None, "A08", 3, 100, 100, 0, 0, 0)]


@pytest.fixture
def centre_config(db_config: Config) -> Config:
    database = open_database(db_config)
    upgrade(database)
    build_november(database)
    database.dispose()
    return db_config


def _summary(rows: list[list[object]]) -> list[tuple[object, ...]]:
    index = {h: i for i, h in enumerate(rows[0])}
    pick = ("排名", "坐席工号", "质检通话数", "平均分", "绩效分", "奖励(元)", "扣款(元)", "合计(元)")
    return [tuple(row[index[h]] for h in pick) for row in rows[1:]]


def test_tally_rank_publish_and_export(centre_config: Config, tmp_path: Path) -> None:
    shown = run_qa(centre_config, "tally", "--month", "2026-11")
    assert shown.exit_code == 0, shown.output
    assert "A01" in shown.output and "全中心" in shown.output and "+356" in shown.output
    draft_only = run_qa(centre_config, "export", "--month", "2026-11", "--out", str(tmp_path / "x.xlsx"))
    assert draft_only.exit_code == 1 and "not published" in draft_only.output
    ranked = run_qa(centre_config, "rank", "--month", "2026-11", "--publish")
    assert ranked.exit_code == 0, ranked.output
    assert "已发布 2026-11 第 1 版" in ranked.output and "月度绩效考核冠军+300" in ranked.output
    again = run_qa(centre_config, "rank", "--month", "2026-11", "--publish", "--note", "再发一次")
    assert again.exit_code == 1 and "already has these figures" in again.output

    xlsx = tmp_path / "2026-11.xlsx"
    assert run_qa(centre_config, "export", "--month", "2026-11", "--out", str(xlsx)).exit_code == 0
    book = load_workbook(xlsx, read_only=True)
    assert book.sheetnames == ["月度汇总", "奖惩明细", "班组汇总", "说明"]
    rows = [list(r) for r in book["月度汇总"].iter_rows(values_only=True)]
    assert rows[0] == SUMMARY_HEADERS
    assert _summary(rows) == EXPECTED
    details = [list(r) for r in book["奖惩明细"].iter_rows(values_only=True)]
    dismissal = next(r for r in details if r[0] == "A05" and r[7] == -200)
    assert dismissal[:9] == ["A05", "钱七", "事件", "服务态度差评或投诉", 2, 1, 0, -200, "解除劳动合同"]
    assert sum(r[7] for r in details[1:]) == -542  # the details add up to the centre's net
    teams = [list(r) for r in book["班组汇总"].iter_rows(values_only=True)]
    assert [r[0] for r in teams[1:]] == ["一组", "二组", "全中心"] and teams[3][10] == -542

    out = tmp_path / "summary.csv"
    assert run_qa(centre_config, "export", "--month", "2026-11", "--format", "csv", "--out", str(out)).exit_code == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert table[0] == SUMMARY_HEADERS and table[1][:3] == ["1", "A01", "张三"] and table[1][14] == "356"


def test_entries_from_the_command_line(centre_config: Config) -> None:
    added = run_qa(centre_config, "entry", "add", "--month", "2026-11", "--agent", "A06", "--kind", "praise",
                   "--quantity", "2", "--note", "两位客户表扬")
    assert added.exit_code == 0 and "praise ×2" in added.output, added.output
    refused = run_qa(centre_config, "entry", "add", "--month", "2026-11", "--agent", "A06", "--kind", "adjustment",
                     "--yuan", "100")
    assert refused.exit_code == 1 and "needs a reason" in refused.output
    bad_month = run_qa(centre_config, "tally", "--month", "2026-13")
    assert bad_month.exit_code == 2 and "YYYY-MM" in bad_month.output
    as_json = run_qa(centre_config, "tally", "--month", "2026-11", "--json")
    assert '"net_yuan": 4' in as_json.output  # A06: two praises, 2 元 each


def test_policy_validate(centre_config: Config, tmp_path: Path) -> None:
    ok = run_qa(centre_config, "policy", "validate")
    assert ok.exit_code == 0 and "policy default v1" in ok.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema: qa.policy/1\nid: x\nversion: 1\nname: x\nperformance: {tiers: []}\n", encoding="utf-8")
    refused = run_qa(centre_config, "policy", "validate", str(bad))
    assert refused.exit_code == 1 and f"{bad}:5: performance.tiers" in refused.output
    assert f"{bad}:1: discipline: Field required" in refused.output


@pytest.fixture
def soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        unavailable("LibreOffice (soffice) is not installed: apt-get install libreoffice-calc-nogui")
    return found


def libreoffice_sheets(soffice: str, source: Path) -> dict[str, list[list[str]]]:
    """Every sheet of `source` (XLSX, or CSV read with formulas evaluated) as LibreOffice shows it:
    converted headless to CSV, one file per sheet, keyed by sheet name ("" for a single sheet)."""
    out = source.parent / f"lo-{source.stem}"
    converted = subprocess.run(
        [soffice, f"-env:UserInstallation=file://{source.parent / 'lo-profile'}", "--headless",
         "--infilter=CSV:44,34,76,1,,0,false,true,false,false,false,-1,true", "--convert-to",
         "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1", "--outdir", str(out),
         str(source)], capture_output=True, text=True, timeout=180)
    assert converted.returncode == 0, converted.stderr
    return {path.stem.removeprefix(source.stem).removeprefix("-"): list(csv.reader(io.StringIO(
        path.read_text(encoding="utf-8")))) for path in out.glob("*.csv")}


def _number(cell: str) -> object:
    return None if cell == "" else float(cell) if "." in cell else int(cell) if cell.lstrip("-").isdigit() else cell


def test_the_xlsx_opens_in_libreoffice(centre_config: Config, tmp_path: Path, soffice: str) -> None:
    """LibreOffice reads the file and computes the same figures (converted headless to CSV)."""
    assert run_qa(centre_config, "rank", "--month", "2026-11", "--publish").exit_code == 0
    xlsx = tmp_path / "payroll.xlsx"
    assert run_qa(centre_config, "export", "--month", "2026-11", "--out", str(xlsx)).exit_code == 0
    rows = libreoffice_sheets(soffice, xlsx)["月度汇总"]
    assert rows[0] == SUMMARY_HEADERS
    assert [tuple(_number(c) for c in row) for row in _summary(rows)] == EXPECTED


# Names a metadata CSV could bring in: each one a live formula if written to a sheet as it is.
HOSTILE_NAMES = {"A02": '=HYPERLINK("http://evil.example","y")', "A03": "=1+1", "A04": "+cmd|' /C calc'!A0",
                 "A05": "@SUM(1)", "A06": "\t=3+3"}
HOSTILE_TEAM = "=2+3"  # 二组 renamed


@pytest.fixture
def hostile_config(centre_config: Config) -> Config:
    """November, published, with agents and a team named like formulas."""
    database = open_database(centre_config)
    with database.session() as session:
        for agent in session.scalars(select(Agent)):
            agent.name = HOSTILE_NAMES.get(agent.code, agent.name)
        session.scalars(select(Team).where(Team.name == "二组")).one().name = HOSTILE_TEAM
    database.dispose()
    assert run_qa(centre_config, "rank", "--month", "2026-11", "--publish").exit_code == 0
    return centre_config


def _by_code(rows: list[list[str]], code: str) -> dict[str, str]:
    """Agent `code`'s row of a table with a 坐席工号 column, as {header: cell}."""
    column = rows[0].index("坐席工号")
    return next(dict(zip(rows[0], row, strict=True)) for row in rows[1:] if row[column] == code)


def test_names_like_formulas_stay_text_in_libreoffice(hostile_config: Config, tmp_path: Path, soffice: str) -> None:
    """In the tally XLSX, the weekly XLSX and the CSVs, LibreOffice shows a formula-like name as
    text (=1+1, not 2) and still reads the figures, negative ones too, as numbers."""
    xlsx, weekly = tmp_path / "payroll.xlsx", tmp_path / "weekly.xlsx"
    assert run_qa(hostile_config, "export", "--month", "2026-11", "--out", str(xlsx)).exit_code == 0
    assert run_qa(hostile_config, "report", "weekly", "--week", "2026-W45", "--out", str(weekly)).exit_code == 0
    sheets = libreoffice_sheets(soffice, xlsx)
    assert [tuple(_number(c) for c in row) for row in _summary(sheets["月度汇总"])] == EXPECTED
    for code, name in HOSTILE_NAMES.items():
        row = _by_code(sheets["月度汇总"], code)
        assert (row["姓名"], row["班组"]) == (name, "一组" if code in ("A02", "A06") else HOSTILE_TEAM)
    assert [row[0] for row in sheets["班组汇总"][1:]] == [HOSTILE_TEAM, "一组", "全中心"]  # teams by name
    assert _by_code(sheets["奖惩明细"], "A03")["姓名"] == "=1+1"
    agents = libreoffice_sheets(soffice, weekly)["坐席"]
    assert [(_by_code(agents, c)["姓名"], _by_code(agents, c)["班组"]) for c in ("A02", "A03")] == [
        (HOSTILE_NAMES["A02"], "一组"), ("=1+1", HOSTILE_TEAM)]

    for table in TABLES:
        out = tmp_path / f"{table}.csv"
        assert run_qa(hostile_config, "export", "--month", "2026-11", "--format", "csv", "--table", table,
                      "--out", str(out)).exit_code == 0
        [shown] = libreoffice_sheets(soffice, out).values()
        written = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
        assert shown == written  # read with formulas evaluated, every cell shows what the file holds
    summary = list(csv.reader(io.StringIO((tmp_path / "summary.csv").read_text(encoding="utf-8-sig"))))
    assert [_by_code(summary, "A03")[h] for h in ("姓名", "班组", "扣款(元)")] == ["'=1+1", "'" + HOSTILE_TEAM, "-500"]
    assert _by_code(summary, "A04")["姓名"] == "'" + HOSTILE_NAMES["A04"]
