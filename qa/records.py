"""Typed records stored as JSON (transcripts, scorecards): one way to write and read them, through
pydantic's TypeAdapter, so that what is read back from a file or the database is checked field by
field against the record it claims to be."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import TypeAdapter, ValidationError

from qa.errors import QAError, validation_problems

T = TypeVar("T")


class RecordError(QAError, ValueError):
    """JSON that is not the record this version reads."""

    code = "record"


class StoredForm(Generic[T]):
    """How records of one kind are stored: their fields, under a `schema` name and version."""

    def __init__(self, kind: type[T], schema: str, name: str) -> None:
        self.adapter = TypeAdapter(kind)
        self.schema, self.name = schema, name

    def dump(self, record: T) -> dict[str, Any]:
        return {"schema": self.schema, **self.adapter.dump_python(record)}

    def load(self, data: dict[str, Any]) -> T:
        """The record from its JSON; what is absent takes its default, what does not fit is an error."""
        if data.get("schema") != self.schema:
            raise RecordError(f"not a {self.schema} {self.name} (schema: {data.get('schema')!r})")
        try:
            return self.adapter.validate_python({k: v for k, v in data.items() if k != "schema"})
        except ValidationError as exc:
            raise RecordError(f"not a readable {self.schema} {self.name}: {validation_problems(exc, 5)}") from exc
