"""`qa tally`, `qa rank --publish`, `qa export` and `qa entry` on the hand-computed November, and
the exported XLSX read back: by openpyxl, and by LibreOffice itself (converted headless to CSV)."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import run_qa, unavailable
from openpyxl import load_workbook
from test_tally import build_november

from qa.config import Config
from qa.db.session import open_database, upgrade

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
    assert ["A05", "钱七", "事件", "服务态度差评或投诉", 2, 1, 0, -200, "解除劳动合同"] == details[
        next(i for i, r in enumerate(details) if r[0] == "A05" and r[7] == -200)][:9]
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


def test_the_xlsx_opens_in_libreoffice(centre_config: Config, tmp_path: Path) -> None:
    """LibreOffice reads the file and computes the same figures (converted headless to CSV)."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        unavailable("LibreOffice (soffice) is not installed: apt-get install libreoffice-calc-nogui")
    assert run_qa(centre_config, "rank", "--month", "2026-11", "--publish").exit_code == 0
    xlsx = tmp_path / "payroll.xlsx"
    assert run_qa(centre_config, "export", "--month", "2026-11", "--out", str(xlsx)).exit_code == 0
    converted = subprocess.run(
        [soffice, f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}", "--headless", "--convert-to",
         "csv:Text - txt - csv (StarCalc):44,34,76,1", "--outdir", str(tmp_path / "lo"), str(xlsx)],
        capture_output=True, text=True, timeout=180)
    assert converted.returncode == 0, converted.stderr
    text = (tmp_path / "lo" / "payroll.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == SUMMARY_HEADERS

    def number(cell: str) -> object:
        return None if cell == "" else float(cell) if "." in cell else int(cell) if cell.lstrip("-").isdigit() else cell
    assert [tuple(number(c) for c in row) for row in _summary(rows)] == EXPECTED
