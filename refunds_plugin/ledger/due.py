"""Which rows of a queue table are due, read from the table's ``(status, next_try_at)`` index
whatever the statistics say: "is any due?", asked on every poll, and "the first due", each claim.

A queue row is due in one of two ways, each one status: waiting (its time has come) or lapsed
(claimed, and the claim's lease ran out). Written as one condition, ``EXISTS (… WHERE status = :s
AND …)`` or ``WHERE (waiting) OR (lapsed) ORDER BY next_try_at LIMIT n``, PostgreSQL reads the
whole table when its statistics last saw many rows in those statuses (an ``ANALYZE`` during a
burst): it expects to meet them early. Once the burst is done, every poll and every claim read
every row the queue ever held (seen in ``bench_webhooks.py``: 3 ms a poll at 3,000 messages,
growing with the queue; ``tests/integration/test_queue_scans.py``). Each half on its own,
``… ORDER BY next_try_at LIMIT n``, is read along the index from its status's first entry: only
rows in that status (and the dead entries VACUUM has not cleared) are passed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import CTE, ColumnElement, Select, Subquery, bindparam, select, union_all


def any_in(next_try_at: ColumnElement[Any], where: ColumnElement[bool]) -> ColumnElement[bool]:
    """Some row meets ``where`` (a status and when it is due): its first such row in
    ``next_try_at`` order, read along the ``(status, next_try_at)`` index."""
    return (select(next_try_at).where(where).order_by(next_try_at).limit(1)
            .scalar_subquery().is_not(None))


def first_due(row_id: ColumnElement[Any], order: tuple[ColumnElement[Any], ...],
              halves: tuple[ColumnElement[bool], ...], *, locked: bool,
              where: tuple[ColumnElement[bool], ...] = ()) -> Select[Any]:
    """The ids of the first ``:limit`` rows meeting any of ``halves`` (and all of ``where``) in
    ``order``: each half's first ``:limit`` in that order, read along the index, then the first
    ``:limit`` of those. ``locked`` (PostgreSQL): each half takes its rows ``FOR UPDATE SKIP
    LOCKED``, once (materialized), so workers claiming at once take different rows; a row a
    half locked but the limit left out stays unclaimed, and is let go at the commit. Not
    ``locked`` (SQLite, whose one writer is the lock): plain subqueries."""
    parts: list[CTE | Subquery] = []
    for n, half in enumerate(halves):
        part = select(row_id, *order).where(half, *where).order_by(*order).limit(
            bindparam("limit"))
        if locked:
            parts.append(part.with_for_update(skip_locked=True).cte(f"due_{n}")
                         .prefix_with("MATERIALIZED"))
        else:  # no CTE: one would lead an UPDATE, and sqlite3 then reports no row count
            parts.append(part.subquery(f"due_{n}"))
    both = union_all(*(select(part) for part in parts)).subquery("due")
    return select(both.c[0]).order_by(*(both.c[k] for k in range(1, len(order) + 1))).limit(
        bindparam("limit"))
