"""Ids and numbers from URLs and forms, kept to what the database can hold: SQLite and PostgreSQL
integers are 64-bit, and a larger one must be "not found", not a server error."""

from __future__ import annotations

from typing import Any, overload

from flask import Flask, request
from werkzeug.routing import IntegerConverter, Map

MAX_ID = 2**63 - 1


class DatabaseInt(IntegerConverter):
    """`<int:...>` in every route: at most a 64-bit signed integer, else the route does not match (404)."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def storable(value: int | None) -> int | None:
    """`value` when the database can hold it, else None."""
    return value if value is not None and -MAX_ID <= value <= MAX_ID else None


@overload
def form_int(name: str, default: int) -> int: ...
@overload
def form_int(name: str, default: None = None) -> int | None: ...
def form_int(name: str, default: int | None = None) -> int | None:
    """An integer field of the form or the query string; `default` when it is missing, not a
    number, or outside what the database holds."""
    value = storable(request.values.get(name, type=int))
    return default if value is None else value


def init_app(app: Flask) -> None:
    """Must run before blueprints are registered: rules bind their converters when added."""
    app.url_map.converters["int"] = DatabaseInt
