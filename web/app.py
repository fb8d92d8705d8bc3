"""The Flask app factory: settings, extensions and blueprints, around one product Database."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from qa.config import Config
from qa.db.session import Database, open_database
from qa.scoring.loader import load_rules
from qa.tally.policy import load_policy
from web import db, errors, headers, i18n, ids, settings
from web.blueprints import (
    agreement,
    api,
    appeals,
    auth,
    calibration,
    calls,
    learning,
    queue,
    reports,
    scorecard,
    tally,
    upload,
)
from web.security import login_manager, secret_key

MAX_UPLOAD_BYTES = 2 * 1024**3  # product default: a day's recordings in one upload (errors.py says 2 GB)

csrf = CSRFProtect()


def create_app(config: Config, database: Database | None = None) -> Flask:
    """An app serving `database` (default: the configured one, which the caller has migrated)."""
    app = Flask(__name__)
    ids.init_app(app)
    app.config.update(
        SECRET_KEY=secret_key(config),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.web.secure_cookies,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=config.web.secure_cookies,
        MAX_CONTENT_LENGTH=MAX_UPLOAD_BYTES,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        # The cookie's signature expires with the sign-in (web/security.py also checks the sign-in time).
        PERMANENT_SESSION_LIFETIME=timedelta(hours=config.web.session_hours),
    )
    rules = load_rules(config.scoring.checklists_dir, config.scoring.template)
    app.config.update({settings.CONFIG: config, settings.RULES: rules, settings.POLICY: load_policy(
        config.tally.policy, known_items={item.id for _, item in rules.items()})})
    db.init_app(app, database or open_database(config))
    csrf.init_app(app)
    login_manager.init_app(app)
    i18n.init_app(app, config.web.default_locale, config.timezone)
    errors.init_app(app)
    headers.init_app(app)
    for blueprint in (auth.bp, queue.bp, calls.bp, upload.bp, appeals.bp, scorecard.bp, tally.bp, agreement.bp,
                      learning.bp, calibration.bp, reports.bp, api.bp):
        app.register_blueprint(blueprint)
    return app

