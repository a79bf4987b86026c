"""Folding the writers' marks into the insights' rollups (``rollups.py``), out of the request
path: ``fold`` from the executor's loop (``Folder``, every 30 s) and ``refunds insights
fold``; ``build`` for ``refunds insights fold --rebuild`` and rows loaded in bulk (migration
0018 builds with its own frozen copy, ``migrations/rollups_0018.py``).

One folder at a time (an advisory lock on PostgreSQL, the write lock on SQLite): it reads the
oldest marks, recomputes their days' and customers' rollup rows from the indexed rows and
deletes the marks it read, by id, in one transaction. By id, never "up to": a mark committed
after they were read (whatever its id) stays for the next round, so a day or customer without
a mark always has rollups equal to its indexed rows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    String,
    and_,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.exc import SQLAlchemyError

from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.line_index import DAY
from refunds_plugin.ledger.rollups import (
    BLOCK,
    DIMENSIONS,
    RETENTION,
    RETURNED,
    SOLD,
    money_rows,
    retention_select,
    returned_rows,
    sold_rows,
)
from refunds_plugin.ledger.tables import (
    insight_marks,
    money_days,
    retention_rows,
    returned_days,
    sold_days,
)

log = logging.getLogger("refunds.insights")
FOLD_KEY = 0x52_46_52_55  # "RFRU": the folder's advisory lock (never taken by a request)
ROUND = 5_000  # marks folded per transaction
# a fold recomputes its marked days whole, so it costs about the same for 40 marks as for 2,000
# (40 to 120 ms at 2,000 to 3,000 orders in one day on SQLite, where it holds the write lock and
# every request waits): folding every 30 s instead of every 2 s pays that once where it paid it
# fifteen times. The insights are exact however far behind the fold is (docs/insights.md).
EVERY_S = 30.0
CHUNK = 200  # days or customers per statement


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _insert_days(conn: Connection, where: Callable[[Any], Any]) -> None:
    """The rollup rows of the indexed rows ``where(time column)`` keeps, summed per day."""
    for by in DIMENSIONS:
        r = sold_rows(by)
        s = r.query.add_columns((r.at // DAY).label("day")).where(where(r.at)).subquery()
        conn.execute(insert(sold_days).from_select(
            ["dimension", "width", "day", *SOLD],
            select(literal(by, String), literal(1), s.c.day, s.c.key, s.c.currency,
                   func.max(s.c.name), func.sum(s.c.units), func.sum(s.c.money))
            .group_by(s.c.day, s.c.key, s.c.currency)))
        r = returned_rows(by)
        s = r.query.add_columns((r.at // DAY).label("day")).where(where(r.at)).subquery()
        keys = (s.c.day, s.c.key, s.c.currency, s.c.reason, s.c.granted, s.c.kept)
        conn.execute(insert(returned_days).from_select(
            ["dimension", "width", "day", *RETURNED[:5], "units", "money", "test_money"],
            select(literal(by, String), literal(1), *keys, func.sum(s.c.units),
                   func.sum(s.c.money), func.sum(s.c.test_money))
            .group_by(*keys)))
    parts = [r.query.add_columns((r.at // DAY).label("day")).where(where(r.at))
             for r in money_rows()]
    m = union_all(*parts).subquery()
    conn.execute(insert(money_days).from_select(
        ["term", "currency", "amount", "day"],
        select(m.c.term, m.c.currency, func.sum(m.c.amount), m.c.day)
        .group_by(m.c.term, m.c.day, m.c.currency)))


def _insert_blocks(conn: Connection, where: Callable[[Any], Any]) -> None:
    """The BLOCK-day rows of the blocks whose first day ``where(day column)`` keeps, from the
    day rows."""
    for table, sums in ((sold_days, ("units", "money")),
                        (returned_days, ("units", "money", "test_money"))):
        t = table.c
        block = (t.day // BLOCK * BLOCK).label("day")
        keys = [t.dimension, t.key, t.currency, *(t[n] for n in ("reason", "granted", "kept")
                                                   if n in t)]
        extra = [func.max(t.name)] if table is sold_days else []
        conn.execute(insert(table).from_select(
            ["width", "day", *(k.name for k in keys), *(["name"] if extra else []), *sums],
            select(literal(BLOCK), block, *keys, *extra, *(func.sum(t[n]) for n in sums))
            .where(t.width == 1, where(block)).group_by(block, *keys)))


def refold_days(conn: Connection, days: Sequence[int]) -> None:
    """Recompute the rollup rows of ``days`` (and of their blocks) from the indexed rows."""
    for table in (sold_days, returned_days, money_days):
        conn.execute(delete(table).where(table.c.day.in_(days)))
    _insert_days(conn, lambda at: or_(*(and_(at >= d * DAY, at < (d + 1) * DAY)
                                        for d in days)))
    blocks = sorted({d // BLOCK * BLOCK for d in days})
    for table in (sold_days, returned_days):
        conn.execute(delete(table).where(table.c.width == BLOCK, table.c.day.in_(blocks)))
    _insert_blocks(conn, lambda day: day.in_(blocks))


def refold_customers(conn: Connection, customers: Sequence[str]) -> None:
    """Recompute the retention rows of ``customers``."""
    conn.execute(delete(retention_rows).where(retention_rows.c.customer.in_(customers)))
    conn.execute(insert(retention_rows).from_select(
        list(RETENTION), retention_select(lambda c: c.in_(customers))))


def build(conn: Connection) -> None:
    """Every rollup row from the indexed rows, marks dropped (``refunds insights fold
    --rebuild``; a bench that loaded the indexed rows directly). Set-based: a few statements
    whatever the history."""
    for table in (sold_days, returned_days, money_days, retention_rows, insight_marks):
        conn.execute(delete(table))
    _insert_days(conn, lambda at: at >= 0)
    _insert_blocks(conn, lambda day: day >= 0)
    conn.execute(insert(retention_rows).from_select(list(RETENTION), retention_select()))


def fold(engine: Engine, limit: int = ROUND) -> int:
    """Fold up to ``limit`` marks (oldest first) in one transaction; how many were folded (0
    when another process is folding)."""
    m = insight_marks.c
    with write_tx(engine) as conn:
        if conn.dialect.name == "postgresql" and not conn.execute(
                select(func.pg_try_advisory_xact_lock(FOLD_KEY))).scalar_one():
            return 0
        marks = conn.execute(select(m.id, m.day, m.customer).order_by(m.id).limit(limit)).all()
        days = sorted({d for _, d, _ in marks if d is not None and d >= 0})
        customers = sorted({c for _, _, c in marks if c is not None})
        for chunk in _chunks(days):
            refold_days(conn, chunk)
        for chunk in _chunks(customers):
            refold_customers(conn, chunk)
        # by id, never "up to": a mark committed after they were read stays for the next round
        for chunk in _chunks([i for i, _, _ in marks], 1_000):
            conn.execute(delete(insight_marks).where(m.id.in_(chunk)))
    return len(marks)


class Folder:
    """``fold`` from the executor's loop, at most once every ``every_s`` seconds, until no
    mark is left; errors are logged (the next round tries again)."""

    def __init__(self, engine: Engine, every_s: float = EVERY_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.engine, self.every_s, self.clock = engine, every_s, clock
        self._next = 0.0

    def run_once(self) -> int:
        if self.clock() < self._next:
            return 0
        self._next = self.clock() + self.every_s
        try:
            return fold(self.engine)
        except SQLAlchemyError:
            log.exception("insights fold failed")
            return 0
