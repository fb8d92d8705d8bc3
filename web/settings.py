"""The product's settings as the views see them, kept on the app by create_app."""

from __future__ import annotations

from flask import current_app

from qa.config import Config
from qa.scoring.schema import ScoringTemplate
from qa.tally.policy import LoadedPolicy

CONFIG = "QA_CONFIG"
RULES = "QA_RULES"
POLICY = "QA_POLICY"


def qa_config() -> Config:
    return current_app.config[CONFIG]


def scoring_template() -> ScoringTemplate:
    """The template that turns confirmed verdicts into a score and a grade."""
    return current_app.config[RULES].template


def checklist_items() -> list[tuple[str, str]]:
    """(item id, name) of every checklist item, for filters."""
    return [(item.id, item.name) for _, item in current_app.config[RULES].items()]


def tally_policy() -> LoadedPolicy:
    """The reward-and-penalty policy the monthly tally follows."""
    return current_app.config[POLICY]
