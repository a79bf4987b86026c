""""Is any row waiting and due?", asked of a queue table on every poll, answered from its
``(status, next_try_at)`` index at any size and whatever the statistics say.

Written as ``EXISTS (… WHERE status = :s AND next_try_at <= :now)``, PostgreSQL reads the
whole table when its statistics last saw many rows in that status (an ``ANALYZE`` during a
burst): it expects to meet one early. Once the burst is sent, every poll read every row the
queue ever held (seen in ``bench_webhooks.py``: 3 ms a poll at 3,000 messages, growing with the
queue). The earliest ``next_try_at`` in that status, ``ORDER BY … LIMIT 1``, is the index's
first entry for the status: no plan reads more.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, bindparam, select


def waiting_due(status: ColumnElement[Any], value: str,
                next_try_at: ColumnElement[Any]) -> ColumnElement[bool]:
    """Some row has ``status`` ``value`` and its ``next_try_at`` has come (``:now``); NULL, not
    true, when none has that status."""
    first = (select(next_try_at).where(status == value).order_by(next_try_at).limit(1)
             .scalar_subquery())
    return first <= bindparam("now")
