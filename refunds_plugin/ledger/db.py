"""Engine creation and the unit of work around the database.

SQLite (the embedded default) runs in WAL mode with ``synchronous=FULL`` and a busy timeout;
write transactions start with ``BEGIN IMMEDIATE`` so two writers queue instead of deadlocking on
a lock upgrade. On PostgreSQL money checks are serialised per order, never across orders, by a
transaction-scoped advisory lock keyed by the order (``lock_order``); the journal entries a
transaction wrote are sealed into the hash chain by a background sealer after its commit
(``ledger.seal``): a writer never waits for that.
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, overload

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.pool import NullPool, QueuePool

from refunds_plugin.config import ConfigError
from refunds_plugin.ledger import prepared, seal
from refunds_plugin.ledger.group_commit import GroupCommit

LEDGER_LOCK_KEY = 0x52_46_4E_44  # "RFND": the one global advisory lock (``lock_ledger``)
_ADVISORY = text("SELECT pg_advisory_xact_lock(:k)")
_HELD = "advisory_keys"  # ``remember``: the keys this transaction holds, to lock each once


_GROUPS: weakref.WeakKeyDictionary[Engine, GroupCommit] = weakref.WeakKeyDictionary()


USE = "use sqlite:///refunds.db (a file) or postgresql+psycopg://user@host/db"
POSTGRES_EXTRA = 'pip install -e ".[postgres]"'


def checked_url(url: str) -> URL:
    """``url`` parsed, of a database we support, its SQLite directory there; else a
    ``ConfigError`` in one line naming the problem and the fix."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"REFUNDS_DATABASE_URL={url!r} is not a database URL: {USE}") from None
    shown = parsed.render_as_string(hide_password=True)
    backend = parsed.get_backend_name()
    if backend == "postgres":  # Heroku's and libpq's spelling, which SQLAlchemy does not read
        fixed = shown.replace(f"{parsed.drivername}://", "postgresql+psycopg://", 1)
        raise ConfigError(f"REFUNDS_DATABASE_URL={shown!r} spells PostgreSQL postgres://, which "
                          f"SQLAlchemy does not read: write {fixed}")
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError(f"REFUNDS_DATABASE_URL={shown!r} names {backend}, which "
                          f"refunds-plugin does not support: {USE}")
    folder = Path(parsed.database).parent if backend == "sqlite" and parsed.database and \
        parsed.database != ":memory:" else None
    if folder is not None and not folder.is_dir():
        raise ConfigError(f"REFUNDS_DATABASE_URL={shown!r}: the directory {folder} does not "
                          "exist: create it, or name a file in an existing directory")
    return parsed


def _created(url: str, **options: Any) -> Engine:
    """``create_engine``, with a missing or unknown driver said in one line with its fix."""
    parsed = checked_url(url)
    shown = parsed.render_as_string(hide_password=True)
    try:
        return create_engine(url, **options)
    except (ImportError, NoSuchModuleError) as exc:
        driver = getattr(exc, "name", None) or parsed.get_driver_name()
        fix = POSTGRES_EXTRA if driver == "psycopg" else \
            f"install it, or use postgresql+psycopg://… after {POSTGRES_EXTRA}"
        raise ConfigError(f"REFUNDS_DATABASE_URL={shown!r} needs the database driver "
                          f"{driver}, which is not installed: {fix}") from None


def make_engine(url: str, *, busy_timeout_ms: int = 30_000, pool_size: int = 5) -> Engine:
    """Create an engine for ``url`` with the pragmas and pooling this service relies on."""
    if url.startswith("sqlite"):
        # A file database keeps its connections: opening one per transaction re-ran the pragmas
        # and, on closing the last one, checkpointed and deleted the WAL every time.
        memory = url in ("sqlite://", "sqlite:///:memory:")
        engine = _created(
            url,
            poolclass=NullPool if memory else QueuePool,
            **({} if memory else {"pool_size": pool_size, "max_overflow": 4 * pool_size}),
            connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
        )
        _configure_sqlite(engine, busy_timeout_ms)
        database = engine.url.database
        _GROUPS[engine] = GroupCommit(None if memory or not database else f"{database}-writer")
        return engine
    # no pre-ping: it is one more round trip before every transaction. A connection the server
    # dropped fails its first statement instead: that transaction is rolled back and answered
    # 5xx (the sender retries), and SQLAlchemy discards every pooled connection older than the
    # failure, so one request per process sees it.
    engine = _created(url, pool_size=pool_size, max_overflow=pool_size)
    event.listen(engine, "connect", _in_utc)
    if engine.dialect.driver == "psycopg":
        prepared.keep_across_rollbacks(engine)
    return engine


def _in_utc(dbapi_conn: Any, _record: Any) -> None:
    """Each new PostgreSQL connection reads and writes times in UTC, whatever the server's
    own ``TimeZone`` (``initdb`` takes the machine's): a ``timestamptz`` comes back in the
    session's zone, and finance's days and times are UTC ones. Once per pooled connection,
    committed so no rollback undoes it (a pooler such as PgBouncer keeps it for the client)."""
    cursor = dbapi_conn.cursor()
    cursor.execute("SET TIME ZONE 'UTC'")
    cursor.close()
    dbapi_conn.commit()


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let us issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("sqlite_write", False):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


@overload
def aware(value: datetime) -> datetime: ...
@overload
def aware(value: None) -> None: ...
def aware(value: datetime | None) -> datetime | None:
    """SQLite gave a naive datetime; make it UTC (everything we store is UTC)."""
    return value if value is None or value.tzinfo is not None else value.replace(tzinfo=UTC)


def iso_time(value: datetime) -> str:
    """A stored time as people and programs read it: ISO 8601 in UTC with its offset, to the
    second (``2026-11-24T12:00:00+00:00``), whichever database gave it back."""
    return aware(value).astimezone(UTC).isoformat(timespec="seconds")


def is_sqlite(engine_or_conn: Engine | Connection) -> bool:
    return engine_or_conn.dialect.name == "sqlite"


@contextmanager
def write_tx(engine: Engine) -> Iterator[Connection]:
    """One write transaction: committed on success, rolled back on any exception.

    On SQLite it is a savepoint in a group commit (``group_commit.GroupCommit``): it returns only
    after the commit that makes it durable, and an exception rolls back only its own work.
    """
    group = _GROUPS.get(engine) if engine.dialect.name == "sqlite" else None
    if group is not None:
        with group.member(engine) as conn:
            yield conn
        return
    with engine.connect() as conn:
        conn = conn.execution_options(sqlite_write=True)
        with conn.begin() as txn:
            yield conn
        unsealed = seal.taken(conn, txn)
    # answered now: the process's background sealer seals its entries shortly (``ledger.seal``)
    if unsealed is not None:
        seal.committed(engine)


@contextmanager
def read_tx(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn, conn.begin():
        yield conn


def lock_order(conn: Connection, order_id: str) -> None:
    """Serialise the money checks of one order: two transactions deciding for the same order
    run one after the other, transactions for different orders never wait for each other.

    SQLite's ``BEGIN IMMEDIATE`` already holds the one write lock; PostgreSQL takes a
    transaction-scoped advisory lock keyed by the order, released at commit or rollback.
    """
    lock_key(conn, "order", order_id)


def order_key(conn: Connection, order_id: str) -> int | None:
    """``lock_order``'s key for a caller that takes it in its own next statement
    (``key_to_take``)."""
    return key_to_take(conn, "order", order_id)


def lock_key(conn: Connection, *parts: str) -> None:
    """``lock_order`` for another name (``("charge", provider, charge_id)``): the advisory lock
    keyed by a 64-bit hash of ``parts``; taken once per transaction (a second call is free)."""
    key = key_to_take(conn, *parts)
    if key is not None:
        try:
            conn.execute(_ADVISORY, {"k": key})
        except BaseException:
            # not taken (a statement refused before it ran, ``inserts.AlreadyThere``, and the
            # transaction went on): not counted as held
            held: set[int] | None = recall(conn, _HELD, None)
            if held is not None:
                held.discard(key)
            raise


def key_to_take(conn: Connection, *parts: str) -> int | None:
    """``lock_key`` for a caller that takes the lock in its own next statement, before that
    statement does anything else (one round trip fewer; ``journal.record_event``): the advisory
    key, counted as held from now on; None when there is nothing to take (SQLite, or this
    transaction holds it already). If that statement fails, the transaction is over anyway."""
    if conn.dialect.name != "postgresql":
        return None
    material = "\x1f".join(parts).encode("utf-8")
    key = int.from_bytes(hashlib.blake2b(material, digest_size=8).digest(), "big", signed=True)
    held: set[int] | None = recall(conn, _HELD, None)
    if held is None:
        held = set()
        remember(conn, _HELD, None, held)
    if key in held:
        return None
    held.add(key)
    return key


def lock_ledger(conn: Connection) -> None:
    """One lock across every process and order, held to commit: nothing on the decision path
    takes it (money checks lock their order, ``lock_order``; the journal needs no lock). Kept for
    work that really must exclude all other such work; prefer ``lock_order``.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(_ADVISORY, {"k": LEDGER_LOCK_KEY})


def dialect_insert(conn: Connection, table: Any) -> Any:
    """The dialect's INSERT (both have ON CONFLICT)."""
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


# --- what this transaction already knows ------------------------------------------------------
# A statement that wrote a row can hand back what a later step of the same transaction would
# read (the order a payment's row names, an order's precheck figures): kept on the connection,
# keyed by the transaction, so a later transaction on the pooled connection never sees it.

def remember(conn: Connection, name: str, key: Any, value: Any) -> None:
    """Keep ``value`` for ``key`` under ``name`` until this transaction ends (one per name)."""
    conn.info[name] = (conn.get_transaction(), key, value)


def recall(conn: Connection, name: str, key: Any) -> Any | None:
    """What ``remember`` kept under ``name`` for ``key`` in this very transaction; None: not
    known here (read it)."""
    held = conn.info.get(name)
    if held is None or held[0] is not conn.get_transaction() or held[1] != key:
        return None
    return held[2]


def take(conn: Connection, name: str, key: Any) -> Any | None:
    """``recall``, and forget it: for what holds only until the transaction's next write."""
    value = recall(conn, name, key)
    if value is not None:
        del conn.info[name]
    return value


def statistics_warning(engine: Engine) -> str | None:
    """A line for the operator when the PostgreSQL server's autovacuum is off: the server then
    analyses no table on its own, and without statistics PostgreSQL plans some lookups (a
    customer's past returns, claiming a due batch) as reads of the whole table, each request
    slower as the shop grows."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        if conn.execute(text("SHOW autovacuum")).scalar_one() != "off":
            return None
    return ("database: PostgreSQL's autovacuum is off on this server: unless ANALYZE runs "
            "regularly, some lookups will read whole tables as the shop grows; turn it on "
            "(autovacuum = on) or schedule ANALYZE (docs/operations.md)")
