"""Alembic environment: run by `qa.db.session.upgrade`, which passes the engine in `attributes`.

New migrations: `qa db revision -m "what changed"` autogenerates one from models.py; review it by
hand before committing (autogenerate misses renames and server-side defaults).
"""

from __future__ import annotations

from alembic import context

from qa.db.models import Base

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    )
    with context.begin_transaction():
        context.run_migrations()
