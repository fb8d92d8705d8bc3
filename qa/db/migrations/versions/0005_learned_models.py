"""Models learned from inspectors' verdicts: versions with their training range and held-out
scores, each call's and item's prediction, and managers' decisions on suggested phrases.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "learned_models",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False, unique=True),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("trigger", sa.String(20), nullable=False),
        sa.Column("requested_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("data_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("data_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("examples", sa.Integer(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("suggestions", sa.JSON(), nullable=False),
        sa.Column("checklists", sa.JSON(), nullable=False),
        sa.Column("blob", sa.LargeBinary(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
    )
    op.create_table(
        "phrase_decisions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("item", sa.String(100), nullable=False),
        sa.Column("phrase", sa.String(100), nullable=False),
        sa.Column("decision", sa.String(10), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.UniqueConstraint("item", "phrase", name="uq_phrase_decisions_item_phrase"),
    )
    # Plain ADD COLUMN (SQLite has it): a batch copy of the table would lose its expression and
    # partial indexes (ix_calls_state_time, ix_item_verdicts_failed).
    op.add_column("calls", sa.Column("p_wrong", sa.Float(), nullable=True))
    op.add_column("calls", sa.Column("model_version", sa.Integer(), nullable=True))
    op.add_column("calls", sa.Column("disputed", sa.Boolean(), nullable=False, server_default=sa.text("false")))
    op.create_index("ix_calls_queue_model", "calls", ["state", "p_wrong"])
    op.add_column("item_verdicts", sa.Column("model_p_fail", sa.Float(), nullable=True))
    op.add_column("item_verdicts", sa.Column("model_disputes", sa.Boolean(), nullable=False,
                                             server_default=sa.text("false")))


def downgrade() -> None:
    with op.batch_alter_table("item_verdicts") as batch:
        batch.drop_column("model_disputes")
        batch.drop_column("model_p_fail")
    op.drop_index("ix_calls_queue_model", "calls")
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("disputed")
        batch.drop_column("model_version")
        batch.drop_column("p_wrong")
    op.drop_table("phrase_decisions")
    op.drop_table("learned_models")
