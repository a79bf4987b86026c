"""The ledger's write path: the event inbox and the hash-chained journal.

The journal needs no lock: on PostgreSQL an entry is written unsealed and sealed into the chain
right after its transaction commits (``seal.py``); on SQLite, whose one writer holds the write
lock anyway, it is chained as it is written. Either way the chain is in ``seq`` order.

Every function takes an open ``Connection`` inside the caller's transaction; nothing here
commits. Deduplication is by unique constraint (``INSERT … ON CONFLICT DO NOTHING``), never by
looking first and inserting after. Decisions are in ``decisions.py``, attempts in ``attempts.py``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from refunds_plugin.domain.facts import OMIT_EMPTY
from refunds_plugin.errors import Conflict
from refunds_plugin.ledger import chain, group_commit, inserts, seal
from refunds_plugin.ledger.db import key_to_take, order_key
from refunds_plugin.ledger.tables import events, ledger_entries


def insert_ignore(conn: Connection, table: Table, values: dict[str, Any]) -> bool:
    """Insert a row unless a unique constraint already holds one; True if inserted."""
    return _insert_returning_key(conn, table, values) is not None


_INSERT_IGNORE: dict[tuple[str, str], Any] = {}


def _insert_returning_key(conn: Connection, table: Table, values: dict[str, Any]) -> Any:
    """The new row's primary key, or None when a unique constraint already holds the row."""
    name = conn.dialect.name
    stmt = _INSERT_IGNORE.get((name, table.name))
    if stmt is None:
        # built once, values bound at execution: building ``insert().values(**row)`` per call
        # cost more Python time than SQLite spent running it
        dialect = postgresql if name == "postgresql" else sqlite
        key = next(iter(table.primary_key.columns))
        # RETURNING, not rowcount: psycopg reports rowcount -1 here under SQLAlchemy 2.1
        stmt = dialect.insert(table).on_conflict_do_nothing().returning(key)
        _INSERT_IGNORE[(name, table.name)] = stmt
    return conn.execute(stmt, values).scalar()


def to_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))


def plain(value: Any) -> Any:
    """``dataclasses.asdict`` for JSON: the same shape, without deep-copying every leaf (which
    made ``asdict`` of an order's facts cost more than the statements that store them)."""
    fields_ = getattr(type(value), "__dataclass_fields__", None)
    if fields_ is not None:
        return {name: plain(got) for name in fields_
                if (got := getattr(value, name)) or name not in OMIT_EMPTY}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


# --- the inbox -----------------------------------------------------------------------------------


def record_event(
    conn: Connection,
    source: str,
    event_id: str,
    type_: str,
    payload: str,
    now: datetime,
    status: str = "recorded",
    *,
    lock: str | None = None,
    first: tuple[str, ...] = (),
) -> int | None:
    """Record an incoming event; None if this ``(source, event_id)`` was recorded before.

    A caller that handles the event in this same transaction may record it with its final
    ``status`` at once: nobody outside the transaction ever sees the row before it commits.
    ``lock``: the order whose lock (``db.lock_order``) to take first; on PostgreSQL this
    statement takes it before its row, so such a transaction starts with one round trip, not two.
    ``first``: the parts of another lock's key (``db.lock_key``) to take before the order's, in
    that same statement.
    """
    values = {"source": source, "event_id": event_id, "type": type_, "received_at": now,
              "payload": payload, "status": status}
    key = None if lock is None else order_key(conn, lock)  # None on SQLite, or held already
    before = key_to_take(conn, *first) if first else None
    if key is not None and before is not None:
        row_id = conn.execute(_TWICE_LOCKED_EVENT, {"f": before, "k": key, **values}).scalar()
    elif key is not None or before is not None:
        row_id = conn.execute(_LOCKED_EVENT, {"k": before if key is None else key, **values}
                              ).scalar()
    else:
        row_id = _insert_returning_key(conn, events, values)
    return None if row_id is None else int(row_id)


# The lock is the materialised CTE's one row, which the INSERT reads before it inserts (or
# finds the duplicate). The statement's snapshot predates the wait, which ON CONFLICT does not
# depend on (it sees every committed row); the transaction's next statements read afresh.
_LOCKED_EVENT = text(
    "WITH l AS MATERIALIZED (SELECT pg_advisory_xact_lock(:k)) "
    "INSERT INTO events (source, event_id, type, received_at, payload, status) "
    "SELECT :source, :event_id, :type, :received_at, :payload, :status FROM l "
    "ON CONFLICT DO NOTHING RETURNING id"
)
# the same after another lock, taken first: ``l`` reads ``f``'s row, so ``f`` is taken before
_TWICE_LOCKED_EVENT = text(
    "WITH f AS MATERIALIZED (SELECT pg_advisory_xact_lock(:f)), "
    "l AS MATERIALIZED (SELECT pg_advisory_xact_lock(:k) FROM f) "
    "INSERT INTO events (source, event_id, type, received_at, payload, status) "
    "SELECT :source, :event_id, :type, :received_at, :payload, :status FROM l "
    "ON CONFLICT DO NOTHING RETURNING id"
)


def refuse_reuse(conn: Connection, source: str, event_id: str, payload: str) -> None:
    """A sender's event id seen before must carry the same content (compared as JSON data, so
    a re-serialised redelivery is the same event); other content under it is a ``Conflict``."""
    stored = conn.execute(select(events.c.payload).where(
        events.c.source == source, events.c.event_id == event_id)).scalar()
    if stored is None or stored == payload:
        return
    try:
        same = json.loads(stored) == json.loads(payload)
    except ValueError:
        same = False
    if not same:
        raise Conflict(f"event {event_id} was already recorded with other content: an event id "
                       "names one event; send a change under a new id", code="event_id_reused")


_MARK_EVENT = (
    update(events)
    .where(events.c.id == bindparam("row_id"))
    .values(status=bindparam("status"), note=bindparam("note"))
)


def mark_event(conn: Connection, row_id: int, status: str, note: str | None = None) -> None:
    conn.execute(_MARK_EVENT, {"row_id": row_id, "status": status, "note": note})


# --- the journal ---------------------------------------------------------------------------------


_CHAIN_TAIL = select(ledger_entries.c.hash).order_by(ledger_entries.c.seq.desc()).limit(1)
_LATEST_BODY = (
    select(ledger_entries.c.body)
    .where(ledger_entries.c.subject_id == bindparam("subject"),
           ledger_entries.c.entry_type == bindparam("entry_type"))
    .order_by(ledger_entries.c.seq.desc())
    .limit(1)
)


def latest_body(conn: Connection, entry_type: str, subject: str) -> str | None:
    """The body of the newest ``entry_type`` entry about ``subject``; None when there is none
    (a provider's newest word on a payment: ``stripe.refunded_total``, ``stripe.disputes``)."""
    body = conn.execute(_LATEST_BODY, {"subject": subject, "entry_type": entry_type}
                        ).scalar_one_or_none()
    return None if body is None else str(body)
_APPEND = ledger_entries.insert()
_APPEND_UNSEALED = ledger_entries.insert().returning(ledger_entries.c.seq)
# several in one statement, their seqs in the order given (the chain's order)
_APPEND_UNSEALED_MANY = ledger_entries.insert().returning(ledger_entries.c.seq,
                                                          sort_by_parameter_order=True)


# SQLite: what the sealer records on PostgreSQL (``seal._SEAL``), here in the appending transaction
_SEALED = text(
    "INSERT INTO ledger_seal (id, seq, hash) SELECT 1, seq, hash FROM ledger_entries "
    "WHERE hash = :h ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash"
)


_SEALED_AT_TAIL = text(
    "INSERT INTO ledger_seal (id, seq, hash) SELECT 1, seq, hash FROM ledger_entries "
    "WHERE seq = (SELECT max(seq) FROM ledger_entries) "
    "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash"
)


def _seal_at_tail(conn: Connection) -> None:
    conn.execute(_SEALED_AT_TAIL)


def _tail(conn: Connection) -> tuple[Any, str | None]:
    """The chain's last hash as this transaction last wrote it, keyed by the innermost
    transaction: a new transaction or a savepoint (which could roll back) reads it afresh."""
    txn = conn.get_nested_transaction() or conn.get_transaction()
    held = conn.info.get("chain_tail")
    if held is not None and held[0] is txn:
        return txn, held[1]
    return txn, None


def append_entry(
    conn: Connection, entry_type: str, subject_id: str, body: dict[str, Any], now: datetime
) -> str:
    """Append one journal entry; returns the sha256 of its content, or on SQLite its chain hash
    (``append_entries``)."""
    return append_entries(conn, [(entry_type, subject_id, body)], now)[0]


Entry = tuple[str, str, dict[str, Any]]  # entry type, subject id, body


def append_entries(conn: Connection, entries: list[Entry], now: datetime) -> list[str]:
    """Append journal entries in this order, in one statement; returns each one's sha256 of its
    content, or on SQLite its chain hash.

    PostgreSQL: inserted unsealed (no tail read, no lock); ``write_tx`` seals them after commit.
    SQLite: chained at once; this transaction holds the one write lock to commit, so the tail
    it last appended is still the tail and is read from the table once.
    """
    canon = [(kind, subject, chain.canonical(body)) for kind, subject, body in entries]
    if conn.dialect.name != "sqlite" and inserts.holding(conn):
        # written with the rest of the held rows (``together``, ``first_then``); no seq comes
        # back (``seal.pending``)
        inserts.insert_rows(conn, (ledger_entries, [
            {"entry_type": kind, "subject_id": subject, "body": body, "created_at": now}
            for kind, subject, body in canon]))
        seal.pending(conn, 0)
        return [chain.entry_hash("", kind, subject, body) for kind, subject, body in canon]
    if conn.dialect.name != "sqlite":
        rows = [_entry_row(kind, subject, body, None, None, now) for kind, subject, body in canon]
        seqs = conn.execute(_APPEND_UNSEALED_MANY, rows).scalars().all() if len(rows) > 1 \
            else [conn.execute(_APPEND_UNSEALED, rows[0]).scalar_one()]
        seal.pending(conn, max(int(seq) for seq in seqs))
        return [chain.entry_hash("", kind, subject, body) for kind, subject, body in canon]
    txn, prev = _tail(conn)
    if prev is None:
        prev = conn.execute(_CHAIN_TAIL).scalar_one_or_none() or chain.GENESIS
    rows, hashes = [], []
    for kind, subject, body in canon:
        digest = chain.entry_hash(prev, kind, subject, body)
        rows.append(_entry_row(kind, subject, body, prev, digest, now))
        hashes.append(prev := digest)
    conn.execute(_APPEND, rows if len(rows) > 1 else rows[0])
    # the seal record moves with the tail (``seal.py``): in a group commit once, just before the
    # batch's commit, to the newest entry then (its members' entries are one chain)
    if conn.info.get(group_commit.BATCHED):
        conn.info[group_commit.BEFORE_COMMIT] = _seal_at_tail
    else:
        conn.execute(_SEALED, {"h": prev})
    conn.info["chain_tail"] = (txn, prev)
    return hashes


def _entry_row(kind: str, subject: str, body: str, prev: str | None, digest: str | None,
               now: datetime) -> dict[str, Any]:
    return {"entry_type": kind, "subject_id": subject, "body": body, "prev_hash": prev,
            "hash": digest, "created_at": now}
