"""One error vocabulary: every error the product defines is a QAError, and the command line and the
web app each turn one into its message in one place."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from webworld import app, world  # noqa: F401  (fixtures)

import qa
from qa.cli.main import main
from qa.errors import QAError
from qa.tally.period import Month, MonthError


def test_every_error_the_product_defines_is_a_qa_error() -> None:
    defined = []
    for module_info in pkgutil.walk_packages(qa.__path__, "qa."):
        if module_info.name.startswith("qa.db.migrations"):
            continue  # Alembic's scripts, run by Alembic
        module = importlib.import_module(module_info.name)
        defined += [cls for _, cls in inspect.getmembers(module, inspect.isclass)
                    if issubclass(cls, BaseException) and cls.__module__ == module.__name__]
    assert len(defined) >= 15
    assert [cls.__qualname__ for cls in defined if not issubclass(cls, QAError)] == []
    # the built-in kind each had before stays, so that callers catching it still do
    assert issubclass(MonthError, ValueError)


def test_the_command_line_ends_with_the_errors_message(tmp_path: Path) -> None:
    missing = CliRunner().invoke(main, ["--config", str(tmp_path / "nope.yaml"), "policy", "check"])
    assert missing.exit_code == 1 and "Error:" in missing.output and "not found" in missing.output
    assert "Traceback" not in missing.output
    unknown = CliRunner().invoke(main, ["models", "install", "no-such-model"])
    assert unknown.exit_code == 1 and "unknown model 'no-such-model'" in unknown.output


def test_the_web_app_answers_with_the_errors_message(app: Flask) -> None:
    @app.route("/api/month-of/<text>")
    @app.route("/month-of/<text>")
    def month_of(text: str) -> str:
        return str(Month.parse(text))

    client = app.test_client()
    assert client.get("/month-of/2026-11").get_data(as_text=True) == "2026-11"
    page = client.get("/month-of/november")
    assert page.status_code == 400 and "is not a month" in page.get_data(as_text=True)
    answer = client.get("/api/month-of/november")
    assert answer.status_code == 400 and answer.get_json() == {
        "ok": False, "error": "'november' is not a month: write it as YYYY-MM, e.g. 2026-11"}


@pytest.mark.parametrize("code", [None, "finer"])
def test_a_qa_error_carries_its_code_and_params(code: str | None) -> None:
    error = MonthError("a message") if code is None else QAError("a message", code=code, month="x")
    assert str(error) == "a message"
    assert error.code == (code or "month")
