"""A fresh, empty database for a bench: SQLite in a data directory, or a server given by URL
(a PostgreSQL schema of the bench's own, dropped afterwards)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from qa.config import Config, WebConfig
from qa.db.models import Base
from qa.db.session import Database


def refresh_statistics(db: Database) -> None:
    """PostgreSQL's planner statistics, as autovacuum keeps them for tables that grew: a bench
    that fills tables and queries at once would otherwise time plans made for empty tables."""
    if db.dialect == "postgresql":
        with db.engine.begin() as connection:
            connection.execute(text(f"ANALYZE {', '.join(t.name for t in Base.metadata.sorted_tables)}"))


@contextmanager
def bench_database(url: str | None, data_dir: Path) -> Iterator[Config]:
    """Settings for a fresh, empty database: SQLite in `data_dir`, a new PostgreSQL schema, or
    (other servers) the URL's database with the product's tables dropped before and after."""
    config = Config(data_dir=data_dir, web=WebConfig(secret_key="bench-secret"))
    if url is None:
        yield config
        return
    parsed = make_url(url)
    admin = create_engine(parsed)
    if parsed.get_backend_name() == "postgresql":
        schema = f"qa_bench_{uuid.uuid4().hex[:12]}"
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        own = parsed.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
        try:
            yield config.model_copy(update={"database_url": own})
        finally:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
        return

    def drop() -> None:
        Base.metadata.drop_all(admin)
        with admin.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    drop()
    try:
        yield config.model_copy(update={"database_url": url})
    finally:
        drop()
        admin.dispose()
