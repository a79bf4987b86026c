"""Is any row of a queue table in this status and due? Asked on every poll, answered from the
table's ``(status, next_try_at)`` index whatever the statistics say.

Written as ``EXISTS (… WHERE status = :s AND …)``, PostgreSQL reads the whole table when its
statistics last saw many rows in that status (an ``ANALYZE`` during a burst): it expects to
meet one early. Once the burst is done, every poll read every row the queue ever held (seen in
``bench_webhooks.py``: 3 ms a poll at 3,000 messages, growing with the queue). The first such
row in ``next_try_at`` order, ``ORDER BY … LIMIT 1``, is read along the index from the status's
first entry: only rows in that status (and the dead entries VACUUM has not cleared) are passed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, select


def any_in(next_try_at: ColumnElement[Any], where: ColumnElement[bool]) -> ColumnElement[bool]:
    """Some row meets ``where`` (a status and when it is due): its first such row in
    ``next_try_at`` order, read along the ``(status, next_try_at)`` index."""
    return (select(next_try_at).where(where).order_by(next_try_at).limit(1)
            .scalar_subquery().is_not(None))
