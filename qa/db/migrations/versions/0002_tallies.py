"""Monthly tallies: events and adjustments recorded by hand, published tallies, survey answers,
and indexes for a month's calls and their failed items.

Generated with autogenerate against a database at 0001, then reviewed by hand.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "published_tallies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.Integer(), nullable=True),
        sa.Column("publisher", sa.String(length=100), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("policy", sa.String(length=200), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["published_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("month", "version", name="uq_published_tallies_month_version"),
    )
    op.create_table(
        "tally_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column("yuan", sa.Float(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"]),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"]),
        sa.ForeignKeyConstraint(["recorded_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_tally_entries_month_agent", "tally_entries", ["month", "agent_id"])
    op.add_column("calls", sa.Column("satisfaction", sa.String(length=12), nullable=True))
    op.create_index("ix_calls_state_time", "calls", ["state", sa.text("coalesce(started_at, created_at)")])
    failed = sa.text("final_verdict = 'fail'")
    op.create_index("ix_item_verdicts_failed", "item_verdicts",
                    ["call_id", "position", "item", "area", "name", "deduct", "fatal"],
                    sqlite_where=failed, postgresql_where=failed)


def downgrade() -> None:
    op.drop_index("ix_item_verdicts_failed", table_name="item_verdicts")
    op.drop_index("ix_calls_state_time", table_name="calls")
    with op.batch_alter_table("calls") as batch_op:  # SQLite drops a column by copying the table
        batch_op.drop_column("satisfaction")
    op.drop_index("ix_tally_entries_month_agent", table_name="tally_entries")
    op.drop_table("tally_entries")
    op.drop_table("published_tallies")
