"""Rows for several tables written in one statement on PostgreSQL (one round trip, not one per
table); on SQLite, where a statement costs no round trip, one plain INSERT per table.

PostgreSQL runs every data-modifying ``WITH`` part once and to completion whether or not the
main statement reads it, so ``WITH a AS (INSERT …), b AS (INSERT …) INSERT …`` writes them all.
Each table's rows travel as one JSON text (``json_to_recordset``), so the statement's text
depends only on which tables and columns it writes, and is built once for them. JSON, not one
array per column: psycopg writes a text array by escaping each element's quotes with a regular
expression, which for journal bodies and message contexts (JSON themselves, full of quotes) cost
more of the receiver's CPU than the statement saved; orjson escapes in native code.

``together``: inside it, on PostgreSQL, the rows given to ``insert_rows`` are held and written at
its end, all in one statement. What runs inside must not read a held row back; foreign keys
between held rows hold, as PostgreSQL checks them at the end of the statement. ``first_then``
holds them the same way behind a first row inserted ``ON CONFLICT DO NOTHING``, and writes them
only if that row was inserted (a new order's row and its index rows; a new decision's row, its
return lines, attempts, journal entries and messages: one round trip, not five); there a
statement of another kind writes what was given before it runs, so it may read them.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Table, event, insert, text
from sqlalchemy.dialects import postgresql

from refunds_plugin.ledger import seal
from refunds_plugin.ledger.db import dialect_insert

Rows = tuple[Table, list[dict[str, Any]]]  # a table and its rows (each with the same columns)

Shape = tuple[tuple[str, tuple[str, ...], bool], ...]  # each part's table, columns, ignoring
_BUILT: dict[Shape, Any] = {}  # built once per shape
_GUARDED: dict[Shape, Any] = {}  # ``first_then``'s, built once per shape
_PLAIN: dict[tuple[str, str, bool], Any] = {}  # (dialect, table, ignoring)
_HELD = "insert_rows_held"  # ``conn.info``: the rows ``together`` holds: [(table, rows, ignore)]
_EARLY = "first_then_early"  # ``conn.info``: what ``first_then`` runs before another statement
_LISTENING: weakref.WeakSet[Engine] = weakref.WeakSet()  # engines with ``_before_execute``
_LISTEN_LOCK = threading.Lock()


def insert_rows(conn: Connection, *parts: Rows, ignore: Table | None = None) -> None:
    """Insert each part's rows into its table, in this transaction; parts without rows are
    skipped. Plain inserts: a row a unique constraint already holds is an error, as always;
    except in ``ignore``'s part, where such a row is left as it is (``ON CONFLICT DO
    NOTHING``). Inside ``together`` on PostgreSQL the rows are held for its one statement."""
    given = [(table, rows, table is ignore) for table, rows in parts if rows]
    held: list[tuple[Table, list[dict[str, Any]], bool]] | None = conn.info.get(_HELD)
    if held is not None:
        held.extend(given)
    else:
        _write(conn, given)


def holding(conn: Connection) -> bool:
    """Inside ``together`` on PostgreSQL: rows given now are written at its end."""
    return _HELD in conn.info


@contextmanager
def together(conn: Connection) -> Iterator[None]:
    """On PostgreSQL, the rows ``insert_rows`` is given inside are written at the end, in one
    statement (see the module docstring); elsewhere, or inside another ``together``, as they
    come. An exception inside writes nothing held."""
    if conn.dialect.name != "postgresql" or _HELD in conn.info:
        yield
        return
    with _holding(conn) as held:
        yield
    _write(conn, _merged(held))


@dataclass
class First:
    """``first_then``'s row: whether it was inserted (known once its block is over)."""

    inserted: bool = False


@dataclass
class _Held:
    """``first_then``'s state: the rows held now, whether its row's statement was sent, and
    whether a statement of its own is being sent (not one of "another kind")."""

    rows: list[tuple[Table, list[dict[str, Any]], bool]] = field(default_factory=list)
    sent_first: bool = False
    writing: bool = False


class AlreadyThere(Exception):
    """``first_then``'s row was there already, found when a statement inside its block was about
    to run: that statement did not run, and nothing given inside was written."""


@contextmanager
def first_then(conn: Connection, table: Table, row: dict[str, Any]) -> Iterator[First]:
    """PostgreSQL only: insert ``row`` into ``table`` unless a unique constraint holds one
    already (``ON CONFLICT DO NOTHING``), and the rows ``insert_rows`` is given inside only when
    it was inserted, all in one statement at the end: a new order's row and its index rows, a
    new decision's row and everything it writes beside it, one round trip. ``First.inserted``
    says afterwards. The rows given inside are made before it is known whether they are written.

    A statement of any other kind inside (a read, an UPDATE, an INSERT not through
    ``insert_rows``) first sends what was given before it: the first time, in ``row``'s one
    statement (so it sees them, and a foreign key to ``row`` holds); later, as ``together``
    does. Rows given after it are held again, for the next such statement or the end. When
    ``row`` was there already, that statement raises ``AlreadyThere`` instead of running.
    Nothing written, the transaction's mark of entries to seal is as it was before the block
    (``seal.pending``: an entry given inside was not written)."""
    assert conn.dialect.name == "postgresql" and _HELD not in conn.info
    first = First()
    state = _Held()
    pending_before = conn.info.get(seal.PENDING)

    def send(before_another: bool) -> None:
        held, state.rows = state.rows, []
        conn.info[_HELD] = state.rows  # what comes now is held anew
        state.writing = True  # the statements sent here are not "another kind"
        try:
            if state.sent_first:
                _write(conn, _merged(held))
                return
            state.sent_first = True
            first.inserted = _write_first(conn, table, row, held)
        finally:
            state.writing = False
        if before_another and not first.inserted:
            raise AlreadyThere(f"a {table.name} row with these keys exists already")

    def early() -> None:
        if not state.writing and (state.rows or not state.sent_first):
            send(before_another=True)

    _listen(conn.engine)
    try:
        conn.info[_HELD] = state.rows
        conn.info[_EARLY] = early
        yield first
        if state.rows or not state.sent_first:
            send(before_another=False)
    finally:
        conn.info.pop(_HELD, None)  # the connection goes back to the pool: nothing stays on it
        conn.info.pop(_EARLY, None)
        if not first.inserted:
            seal.restore(conn, pending_before)


def _listen(engine: Engine) -> None:
    """``_before_execute`` on ``engine``, once: listening on each connection for each block and
    removing it after cost more of a request's CPU than the statement it saved (SQLAlchemy
    rebuilds the connection's event dispatch on every ``listen`` and ``remove``)."""
    if engine in _LISTENING:
        return
    with _LISTEN_LOCK:
        if engine not in _LISTENING:
            event.listen(engine, "before_execute", _before_execute)
            _LISTENING.add(engine)


def _before_execute(conn: Connection, *_: Any) -> None:
    early: Callable[[], None] | None = conn.info.get(_EARLY)
    if early is not None:
        early()


def _write_first(conn: Connection, table: Table, row: dict[str, Any],
                 held: list[tuple[Table, list[dict[str, Any]], bool]]) -> bool:
    parts = [(table, [row], True), *_merged(held)]
    shape = tuple((t.name, tuple(rows[0]), ignore) for t, rows, ignore in parts)
    stmt = _GUARDED.get(shape)
    if stmt is None:
        stmt = _GUARDED[shape] = text(_sql([(t, tuple(rows[0]), ignore)
                                            for t, rows, ignore in parts], guarded=True))
    return bool(conn.execute(stmt, _params(parts)).scalar())


@contextmanager
def _holding(conn: Connection) -> Iterator[list[tuple[Table, list[dict[str, Any]], bool]]]:
    held: list[tuple[Table, list[dict[str, Any]], bool]] = []
    conn.info[_HELD] = held
    try:
        yield held
    finally:
        conn.info.pop(_HELD, None)  # the connection goes back to the pool: nothing stays on it


def _merged(held: list[tuple[Table, list[dict[str, Any]], bool]]
            ) -> list[tuple[Table, list[dict[str, Any]], bool]]:
    """Parts for the same table, columns and conflict rule as one part, their rows in the order
    given (a transaction's journal entries are sealed in the order they were appended)."""
    out: dict[tuple[str, tuple[str, ...], bool], tuple[Table, list[dict[str, Any]], bool]] = {}
    for table, rows, ignore in held:
        key = (table.name, tuple(rows[0]), ignore)
        if key in out:
            out[key][1].extend(rows)
        else:
            out[key] = (table, list(rows), ignore)
    return list(out.values())


def _write(conn: Connection, parts: list[tuple[Table, list[dict[str, Any]], bool]]) -> None:
    if not parts:
        return
    if conn.dialect.name != "postgresql" or len(parts) == 1:
        for table, rows, ignore in parts:
            key = (conn.dialect.name, table.name, ignore)
            plain = _PLAIN.get(key)
            if plain is None:  # inline: no RETURNING of a generated id (PostgreSQL)
                plain = _PLAIN[key] = insert(table).inline() if not ignore else \
                    dialect_insert(conn, table).on_conflict_do_nothing()
            conn.execute(plain, rows if len(rows) > 1 else rows[0])
        return
    shape = tuple((table.name, tuple(rows[0]), ignore) for table, rows, ignore in parts)
    stmt = _BUILT.get(shape)
    if stmt is None:
        stmt = _BUILT[shape] = text(_sql([(table, tuple(rows[0]), ignore)
                                          for table, rows, ignore in parts]))
    conn.execute(stmt, _params(parts))


def _params(parts: list[tuple[Table, list[dict[str, Any]], bool]]) -> dict[str, str]:
    # orjson, faster than json.dumps: for what rows hold (text, integers, booleans, None, times
    # in UTC) the same text as json.dumps(..., ensure_ascii=False, separators=(",", ":")); a
    # time as ISO 8601 with its offset, which PostgreSQL reads back as the same instant
    return {f"p{n}": orjson.dumps(rows, default=_json_value).decode()
            for n, (_table, rows, _ignore) in enumerate(parts)}


def _json_value(value: Any) -> Any:
    """A value orjson does not write itself: a time of a ``datetime`` subclass (a test clock's)
    as ISO 8601, as orjson writes one."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"no JSON for a {type(value).__name__} in a row to insert")


def _sql(shapes: list[tuple[Table, tuple[str, ...], bool]], guarded: bool = False) -> str:
    """``WITH w0 AS (INSERT …), … INSERT …`` for these tables and columns. ``guarded``: the
    first part's row returns its key when inserted, every other part inserts only if it was
    (``WHERE EXISTS``), and the statement returns how many first rows were inserted."""
    dialect = postgresql.dialect()
    quote = dialect.identifier_preparer.quote
    inserts = []
    for n, (table, columns, ignore) in enumerate(shapes):
        # read as the bare type (VARCHAR, not VARCHAR(32)): a cast would cut a long value
        # short, where the INSERT refuses it, as a plain one does
        record = ", ".join(f"{quote(c)} {_bare(table.c[c].type, dialect)}" for c in columns)
        names = ", ".join(map(quote, columns))
        # names and types from the table's own metadata, values bound: nothing from input
        only = " WHERE EXISTS (SELECT FROM w0)" if guarded and n > 0 else ""
        inserts.append(f"INSERT INTO {quote(table.name)} ({names}) "  # noqa: S608
                       f"SELECT {names} FROM json_to_recordset(CAST(:p{n} AS json)) "
                       f"AS r{n}({record}){only}"
                       + (" ON CONFLICT DO NOTHING" if ignore else "")
                       + (" RETURNING 1" if guarded and n == 0 else ""))
    if guarded:  # names and types from the metadata, as above
        return ("WITH " + ", ".join(f"w{n} AS ({sql})"  # noqa: S608
                                    for n, sql in enumerate(inserts))
                + " SELECT count(*) FROM w0")
    *first, last = inserts
    return ("WITH " + ", ".join(f"w{n} AS ({sql})" for n, sql in enumerate(first)) + " " + last
            if first else last)


def _bare(type_: Any, dialect: Any) -> str:
    return re.sub(r"\(.*?\)", "", type_.compile(dialect=dialect))
