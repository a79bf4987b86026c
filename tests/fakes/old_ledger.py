"""A ledger at an old revision, written row by row as the code of then would have left it, for
the tests of the revisions that transform data (``tests/integration/migrations/``).

It takes nothing from today's ``ledger/tables``: a row is written into the table as the database
has it at that revision (reflected), with every NOT NULL column the test does not care about
filled with a plain value of its type, so the test names only the columns the revision reads.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from alembic import command
from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Integer,
    MetaData,
    Table,
    Text,
    insert,
    select,
)

from refunds_plugin.ledger.db import make_engine
from refunds_plugin.ledger.migrate import alembic_config

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
DAY_S = 86_400


def at(when: datetime) -> int:
    """Epoch seconds, as the insight rows keep a time."""
    return int(when.timestamp())


def day(when: datetime) -> int:
    """The UTC day number the rollups and marks keep."""
    return at(when) // DAY_S


def canonical(value: Any) -> str:
    """JSON as the ledger writes it (sorted keys, no spaces): the revisions match its text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def utc(when: datetime | None) -> datetime | None:
    """SQLite hands back a naive time (stored as UTC), PostgreSQL an aware one."""
    return when if when is None or when.tzinfo else when.replace(tzinfo=UTC)


class OldLedger:
    """An empty database taken up to a revision, then written row by row."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self._n = 0

    def upgrade(self, revision: str) -> None:
        with self.engine.connect() as conn:
            conn = conn.execution_options(sqlite_write=True)
            with conn.begin():
                cfg = alembic_config()
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)

    def downgrade(self, revision: str) -> None:
        with self.engine.connect() as conn:
            conn = conn.execution_options(sqlite_write=True)
            with conn.begin():
                cfg = alembic_config()
                cfg.attributes["connection"] = conn
                command.downgrade(cfg, revision)

    def table(self, name: str) -> Table:
        return Table(name, MetaData(), autoload_with=self.engine)

    def put(self, table_name: str, /, **values: Any) -> None:
        table = self.table(table_name)
        row = dict(values)
        for column in table.columns:
            if column.name in row or column.nullable or column.server_default is not None:
                continue
            if column.primary_key and column.autoincrement in (True, "auto") and isinstance(
                    column.type, Integer | BigInteger) and len(table.primary_key.columns) == 1:
                continue  # the database numbers it
            row[column.name] = self._plain(column.name, column.type)
        with self.engine.connect() as conn:
            conn = conn.execution_options(sqlite_write=True)
            with conn.begin():
                conn.execute(insert(table), row)

    def decision(self, decision_id: str, order_id: str, body: dict[str, Any],
                 request: dict[str, Any] | None = None, **more: Any) -> None:
        """A ``decisions`` row (a return, approved, unless ``more`` says otherwise)."""
        self.put("decisions", **{"id": decision_id, "order_id": order_id,
                                 "request_key": f"return:{decision_id}", "kind": "return",
                                 "outcome": "approve", "resolution": "refund",
                                 "currency": body.get("currency", "EUR"),
                                 "amount": int(body.get("amount", 0)), "body": canonical(body),
                                 "request": canonical(request or {}), **more})

    def _plain(self, name: str, kind: Any) -> Any:
        self._n += 1
        if isinstance(kind, DateTime):
            return T0 + timedelta(seconds=self._n)
        if isinstance(kind, Boolean):
            return False
        if isinstance(kind, Integer | BigInteger):
            return 0
        if isinstance(kind, Text):
            return "{}"
        return f"{name}-{self._n}"[: getattr(kind, "length", None) or 255]

    def rows(self, name: str, *columns: str) -> list[tuple[Any, ...]]:
        """The table's rows (those columns), sorted; times as aware UTC."""
        table = self.table(name)
        with self.engine.connect() as conn:
            found = conn.execute(select(*(table.c[c] for c in columns))).all()
        return sorted((tuple(utc(v) if isinstance(v, datetime) else v for v in r)
                       for r in found), key=repr)

    def close(self) -> None:
        self.engine.dispose()
