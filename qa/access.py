"""Who may do what, and the states a call and its job pass through: the roles, the states and the
groups of them that every module checks against, in one place (values as stored in the database)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A web user's role."""

    AGENT = "agent"
    INSPECTOR = "inspector"
    MANAGER = "manager"
    ADMIN = "admin"


REVIEWERS = (Role.INSPECTOR, Role.MANAGER)  # review calls, decide appeals, take part in calibration
MANAGERS = (Role.MANAGER, Role.ADMIN)  # publish tallies, record entries, run learning, decide phrases
STAFF = (Role.INSPECTOR, Role.MANAGER, Role.ADMIN)  # see every agent's calls


class CallState(StrEnum):
    """Where a call stands: waiting for a worker, being processed, scored (awaiting review), being
    reviewed, confirmed by an inspector, or failed (the reason is kept)."""

    QUEUED = "queued"
    PROCESSING = "processing"
    SCORED = "scored"
    IN_REVIEW = "in_review"
    CONFIRMED = "confirmed"
    FAILED = "failed"


REVIEWABLE = (CallState.SCORED, CallState.IN_REVIEW)  # an inspector may still change its verdicts
PROCESSED = (CallState.SCORED, CallState.IN_REVIEW, CallState.CONFIRMED)  # has a scorecard


class JobState(StrEnum):
    """Where a job of the processing queue stands."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class AppealState(StrEnum):
    """An agent's appeal of a verdict: open until an inspector upholds or rejects it."""

    OPEN = "open"
    UPHELD = "upheld"
    REJECTED = "rejected"


class ModelState(StrEnum):
    """A learned model version: requested from the web page, being trained, ready, or failed."""

    REQUESTED = "requested"
    TRAINING = "training"
    READY = "ready"
    FAILED = "failed"
