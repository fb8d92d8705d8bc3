"""Names like formulas in every file the product writes, read back as stored: string cells in the
XLSX (never formulas), an apostrophe first in the CSV, figures still numbers. LibreOffice's own
reading of the same files is in tests/test_tally_exports.py."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from conftest import run_qa
from openpyxl import load_workbook
from test_tally_exports import HOSTILE_NAMES, HOSTILE_TEAM, centre_config, hostile_config  # noqa: F401 - fixtures
from webworld import app_for_tests, login

from qa.config import Config
from qa.db.session import open_database
from qa.spreadsheet import csv_row


def test_only_formula_like_text_is_changed() -> None:
    row = ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(1)", "\t=1", "\r=1", "张三", "a=b", "", -5, -2.5, 0, None]
    assert csv_row(row) == ["'=1+1", "'+cmd|' /C calc'!A0", "'-2+3", "'@SUM(1)", "'\t=1", "'\r=1", "张三", "a=b", "",
                            -5, -2.5, 0, None]


def _cells(path: Path, sheet: str, code: str) -> dict[str, object]:
    """Agent `code`'s row of `sheet` as openpyxl reads the file: {header: cell}."""
    rows = list(load_workbook(path)[sheet].iter_rows())
    headers = [c.value for c in rows[0]]
    return next(dict(zip(headers, row, strict=True)) for row in rows[1:] if row[headers.index("坐席工号")].value == code)


def test_the_xlsx_files_hold_names_as_strings_and_figures_as_numbers(hostile_config: Config, tmp_path: Path) -> None:
    xlsx, weekly = tmp_path / "payroll.xlsx", tmp_path / "weekly.xlsx"
    assert run_qa(hostile_config, "export", "--month", "2026-11", "--out", str(xlsx)).exit_code == 0
    assert run_qa(hostile_config, "report", "weekly", "--week", "2026-W45", "--out", str(weekly)).exit_code == 0
    for code, name in HOSTILE_NAMES.items():
        cell = _cells(xlsx, "月度汇总", code)["姓名"]
        assert (cell.value, cell.data_type, cell.quotePrefix) == (name, "s", True)
    a03 = _cells(xlsx, "月度汇总", "A03")
    assert (a03["班组"].value, a03["班组"].data_type) == (HOSTILE_TEAM, "s")
    assert (a03["扣款(元)"].value, a03["扣款(元)"].data_type) == (-500, "n")
    weekly_a03 = _cells(weekly, "坐席", "A03")
    assert [(weekly_a03[h].value, weekly_a03[h].data_type) for h in ("姓名", "班组")] == [
        ("=1+1", "s"), (HOSTILE_TEAM, "s")]
    assert weekly_a03["扣分"].data_type == "n"


def test_the_web_downloads_are_neutralised_too(hostile_config: Config) -> None:
    database = open_database(hostile_config)
    client = app_for_tests(hostile_config, database).test_client()
    login(client, "boss")
    download = client.get("/tally/2026-11/v1/export.csv?table=summary")
    assert download.status_code == 200 and download.headers["Content-Type"] == "text/csv; charset=utf-8"
    table = list(csv.reader(io.StringIO(download.get_data(as_text=True).lstrip("\ufeff"))))
    a03 = dict(zip(table[0], next(row for row in table if row[1] == "A03"), strict=True))
    assert (a03["姓名"], a03["班组"], a03["扣款(元)"]) == ("'=1+1", "'" + HOSTILE_TEAM, "-500")
    book = load_workbook(io.BytesIO(client.get("/tally/2026-11/v1/export.xlsx").data))
    assert "f" not in {c.data_type for sheet in book for row in sheet.iter_rows() for c in row}  # no formula
    weekly = load_workbook(io.BytesIO(client.get("/reports/weekly/2026-W45.xlsx").data))
    assert "f" not in {c.data_type for sheet in weekly for row in sheet.iter_rows() for c in row}
    database.dispose()
