"""UI language and formats: Simplified Chinese by default, English on request; dates in the
configured time zone (Asia/Shanghai by default), numbers in the user's locale."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from flask import Flask, current_app, session
from flask_babel import Babel, format_datetime, format_decimal, format_percent, get_locale, lazy_gettext
from flask_login import current_user

LOCALES = {"zh": "中文", "en": "English"}
TRANSLATIONS = Path(__file__).resolve().parent / "translations"

VERDICT_LABELS = {"pass": lazy_gettext("Pass"), "fail": lazy_gettext("Fail"), "na": lazy_gettext("N/A")}
ROLE_LABELS = {"agent": lazy_gettext("Agent"), "customer": lazy_gettext("Customer"),
               "unknown": lazy_gettext("Unknown")}
USER_ROLE_LABELS = {"agent": lazy_gettext("Agent"), "inspector": lazy_gettext("Inspector"),
                    "manager": lazy_gettext("Manager"), "admin": lazy_gettext("Administrator")}
STATE_LABELS = {"queued": lazy_gettext("Queued"), "processing": lazy_gettext("Processing"),
                "scored": lazy_gettext("Scored"), "in_review": lazy_gettext("In review"),
                "confirmed": lazy_gettext("Confirmed"), "failed": lazy_gettext("Failed")}
STAGE_LABELS = {"decode": lazy_gettext("decoding"), "asr": lazy_gettext("speech recognition"),
                "diarize": lazy_gettext("telling speakers apart"), "score": lazy_gettext("scoring"),
                "done": lazy_gettext("done")}
APPEAL_LABELS = {"open": lazy_gettext("Open"), "upheld": lazy_gettext("Upheld"),
                 "rejected": lazy_gettext("Rejected")}
ACTION_LABELS = {"set_verdict": lazy_gettext("Item decided"), "confirm_call": lazy_gettext("Call confirmed"),
                 "file_appeal": lazy_gettext("Appeal filed"), "decide_appeal": lazy_gettext("Appeal decided"),
                 "rescore": lazy_gettext("Scored again"), "retry": lazy_gettext("Processing retried"),
                 "publish_tally": lazy_gettext("Tally published"), "add_tally_entry": lazy_gettext("Entry recorded"),
                 "demo_call": lazy_gettext("Demo call created")}
FIELD_LABELS = {"final_verdict": lazy_gettext("Final verdict"), "comment": lazy_gettext("Comment"),
                "item": lazy_gettext("Item"), "state": lazy_gettext("State"), "score": lazy_gettext("Score"),
                "grade": lazy_gettext("Grade"), "fatal": lazy_gettext("Fatal"), "appeal": lazy_gettext("Appeal"),
                "reason": lazy_gettext("Reason"), "error": lazy_gettext("Error"),
                "accepted_automatic": lazy_gettext("Automatic verdicts accepted"), "note": lazy_gettext("Note"),
                "changes": lazy_gettext("Wording changes")}
VALUE_LABELS = {"final_verdict": VERDICT_LABELS, "state": STATE_LABELS, "appeal": APPEAL_LABELS}
AREA_LABELS = {"greeting": lazy_gettext("Greeting"), "closing": lazy_gettext("Closing"),
               "courtesy": lazy_gettext("Courtesy"), "forbidden": lazy_gettext("Forbidden phrases"),
               "acoustic": lazy_gettext("Call rhythm")}

TALLY_KIND_LABELS = {"rule": lazy_gettext("Rule"), "event": lazy_gettext("Recorded event"),
                     "award": lazy_gettext("Award"), "adjustment": lazy_gettext("Adjustment by hand"),
                     "bottom": lazy_gettext("Ranking")}
TALLY_FIELD_LABELS = {"score": lazy_gettext("Score"), "rank": lazy_gettext("Rank"), "tier": lazy_gettext("Tier"),
                      "points": lazy_gettext("Points +/−"), "net_yuan": lazy_gettext("Yuan"),
                      "discipline": lazy_gettext("Warning"), "bottom": lazy_gettext("Bottom of the ranking"),
                      "titles": lazy_gettext("Titles"), "flags": lazy_gettext("Flags")}
TALLY_TABLE_LABELS = {"summary": lazy_gettext("summary"), "details": lazy_gettext("details"),
                      "teams": lazy_gettext("teams")}
TIE_BREAK_LABELS = {"fewer_fatal": lazy_gettext("fewer fatal items"), "more_calls": lazy_gettext("more confirmed calls"),
                    "higher_median": lazy_gettext("higher median score"),
                    "fewer_failed_items": lazy_gettext("fewer failed items")}


def select_locale() -> str:
    """The signed-in user's choice, else this browser session's, else the configured default."""
    if current_user and current_user.is_authenticated and current_user.locale in LOCALES:
        return current_user.locale
    chosen = session.get("locale")
    if chosen in LOCALES:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def locale_code() -> str:
    locale = get_locale()
    return locale.language if locale else current_app.config["BABEL_DEFAULT_LOCALE"]


def when(value: datetime | str | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    """A moment in the configured time zone; ISO 8601 text (as stored tallies keep it) too."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if value else None
    return format_datetime(value, fmt) if value else ""


def number(value: float | None, fmt: str = "#,##0.#") -> str:
    return format_decimal(value, fmt) if value is not None else "—"


def percent(value: float | None) -> str:
    return format_percent(value, "#,##0.#%") if value is not None else "—"


def clock(seconds: float | None) -> str:
    """Call time as m:ss (or h:mm:ss)."""
    total = int(seconds or 0)
    hours, rest = divmod(total, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def init_app(app: Flask, default_locale: str, timezone: str) -> None:
    app.config.update(BABEL_DEFAULT_LOCALE=default_locale, BABEL_DEFAULT_TIMEZONE=timezone,
                      BABEL_TRANSLATION_DIRECTORIES=str(TRANSLATIONS))
    Babel(app, locale_selector=select_locale)
    app.jinja_env.filters.update(when=when, number=number, percent=percent, clock=clock,
                                 tie_break=lambda name: TIE_BREAK_LABELS[name])
    app.jinja_env.globals.update(
        locale_code=locale_code,
        LOCALES=LOCALES, VERDICT_LABELS=VERDICT_LABELS, ROLE_LABELS=ROLE_LABELS, STATE_LABELS=STATE_LABELS,
        USER_ROLE_LABELS=USER_ROLE_LABELS, APPEAL_LABELS=APPEAL_LABELS, AREA_LABELS=AREA_LABELS,
        ACTION_LABELS=ACTION_LABELS, FIELD_LABELS=FIELD_LABELS, TALLY_KIND_LABELS=TALLY_KIND_LABELS,
        TALLY_FIELD_LABELS=TALLY_FIELD_LABELS, TALLY_TABLE_LABELS=TALLY_TABLE_LABELS)
