"""psycopg's prepared statements kept across a rollback (PostgreSQL).

psycopg prepares a statement on the server once a connection has run it five times, and forgets
every one of them on any rollback (``Connection.rollback`` clears its cache and sends
``DEALLOCATE ALL``): a rollback may have undone a ``CREATE`` a prepared statement rests on. Here
a rollback is mostly a read that ends (``engine.connect()`` closed without a commit: the
executor's polls, the pages' reads), so every pooled connection kept losing its statements and
the server parsed and planned each request's statements anew (``bench/README.md``, session 19).

``keep_across_rollbacks(engine)`` makes the dialect's rollback send ``ROLLBACK`` on the libpq
connection itself, which psycopg's cache does not see: the server keeps prepared statements
across a rollback (they are not transactional). A transaction that ran DDL (a migration, on the
same pooled engine; a test) is rolled back by psycopg as before, so a statement prepared on a
table whose ``CREATE`` is undone is forgotten with it. psycopg still forgets them all after any
``DROP`` or ``ALTER`` it runs. What psycopg reads of the connection (in a transaction or not,
broken or not) comes from the same libpq connection, so it stays true; a lost connection makes
the rollback fail as psycopg's would, and SQLAlchemy replaces the connection.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Engine, event

_RAN_DDL = "ran_ddl"  # ``conn.info``: this transaction ran DDL (psycopg's own rollback then)
_DDL = re.compile(r"\s*(CREATE|ALTER|DROP|TRUNCATE|COMMENT|REINDEX|CLUSTER|SECURITY|"
                  r"GRANT|REVOKE|IMPORT|REFRESH)\b", re.IGNORECASE)


def keep_across_rollbacks(engine: Engine) -> None:
    """On ``engine`` (PostgreSQL through psycopg), a rollback keeps the prepared statements,
    unless the transaction ran DDL."""
    engine.dialect.do_rollback = _rollback  # type: ignore[method-assign,assignment]
    event.listen(engine, "before_cursor_execute", _note_ddl)
    event.listen(engine, "commit", _committed)


def _committed(conn: Any) -> None:
    conn.info.pop(_RAN_DDL, None)  # kept: nothing to forget


def _note_ddl(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
    if _DDL.match(statement):
        conn.info[_RAN_DDL] = True


def _ran_ddl(dbapi_conn: Any) -> bool:
    """Whether the transaction ending ran DDL (and forget that it did)."""
    try:
        info = dbapi_conn.info
    except NotImplementedError:  # SQLAlchemy's first connect: a wrapper with no info; only its
        return False  # own reads ran (the dialect's initialisation)
    return bool(info.pop(_RAN_DDL, False)) if isinstance(info, dict) else False


def _rollback(dbapi_conn: Any) -> None:
    """The dialect's rollback (``dbapi_conn``: the pool's connection, whose ``info`` is the
    connection's): ``ROLLBACK`` sent on the libpq connection. Used from one thread at a time,
    as SQLAlchemy uses a connection, so psycopg's connection lock is not needed."""
    from psycopg import OperationalError, pq

    pgconn = dbapi_conn.pgconn
    status = pgconn.transaction_status
    ran_ddl = _ran_ddl(dbapi_conn)
    if status == pq.TransactionStatus.IDLE:
        return
    if ran_ddl or status not in (
            pq.TransactionStatus.INTRANS, pq.TransactionStatus.INERROR):
        # DDL undone, a statement still running, or the connection lost: psycopg's own
        dbapi_conn.rollback()
        return
    result = pgconn.exec_(b"ROLLBACK")
    if result.status != pq.ExecStatus.COMMAND_OK:
        message = (pgconn.error_message or b"").decode(errors="replace").strip()
        raise OperationalError(f"ROLLBACK failed: {message or result.status.name}")
