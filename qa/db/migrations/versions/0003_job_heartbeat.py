"""Job heartbeats: a running job records its worker's last sign of life, so a dead worker's job
is taken back after a minute instead of after the slowest job's time.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch_op:  # SQLite drops a column by copying the table
        batch_op.drop_column("heartbeat_at")
