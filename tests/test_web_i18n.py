"""The committed translations cover every UI string and the compiled .mo matches its .po."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

WEB = Path(__file__).resolve().parents[1] / "web"
CATALOG = WEB / "translations" / "zh" / "LC_MESSAGES"


def _ui_strings() -> set[str]:
    with (WEB / "babel.cfg").open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    keywords = {"_": None, "gettext": None, "lazy_gettext": None}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            WEB, method_map, options_map, keywords=keywords):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_ui_string_has_a_chinese_translation() -> None:
    with (CATALOG / "messages.po").open("rb") as fh:
        po = read_po(fh)
    translated = {m.id for m in po if m.id and m.string and not m.fuzzy}
    missing = _ui_strings() - translated
    assert not missing, f"untranslated (run the pybabel steps in web/babel.cfg): {sorted(missing)}"


def test_compiled_catalog_matches_the_po_file() -> None:
    with (CATALOG / "messages.po").open("rb") as fh:
        po = {m.id: m.string for m in read_po(fh) if m.id}
    with (CATALOG / "messages.mo").open("rb") as fh:
        mo = {m.id: m.string for m in read_mo(fh) if m.id}
    assert mo == po, "web/translations is stale: run pybabel compile -d web/translations"
