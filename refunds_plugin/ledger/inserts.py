"""Rows for several tables written in one statement on PostgreSQL (one round trip, not one per
table); on SQLite, where a statement costs no round trip, one plain INSERT per table.

PostgreSQL runs every data-modifying ``WITH`` part once and to completion whether or not the
main statement reads it, so ``WITH a AS (INSERT …), b AS (INSERT …) INSERT …`` writes them all.
Each table's rows travel as one array per column (``unnest``), so the statement's text depends
only on which tables and columns it writes, and is built once for them.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, Table, insert, text
from sqlalchemy.dialects import postgresql

Rows = tuple[Table, list[dict[str, Any]]]  # a table and its rows (each with the same columns)

_BUILT: dict[tuple[tuple[str, tuple[str, ...]], ...], Any] = {}  # built once per shape
_PLAIN: dict[str, Any] = {}


def insert_rows(conn: Connection, *parts: Rows) -> None:
    """Insert each part's rows into its table, in this transaction; parts without rows are
    skipped. Plain inserts: a row a unique constraint already holds is an error, as always."""
    parts = tuple((table, rows) for table, rows in parts if rows)
    if not parts:
        return
    if conn.dialect.name != "postgresql" or len(parts) == 1:
        for table, rows in parts:
            plain = _PLAIN.get(table.name)
            if plain is None:  # inline: no RETURNING of a generated id (PostgreSQL)
                plain = _PLAIN[table.name] = insert(table).inline()
            conn.execute(plain, rows if len(rows) > 1 else rows[0])
        return
    shape = tuple((table.name, tuple(rows[0])) for table, rows in parts)
    stmt = _BUILT.get(shape)
    if stmt is None:
        stmt = _BUILT[shape] = text(_sql([(table, tuple(rows[0])) for table, rows in parts]))
    params: dict[str, Any] = {}
    for n, (_table, rows) in enumerate(parts):
        for column in rows[0]:
            params[f"p{n}_{column}"] = [row[column] for row in rows]
    conn.execute(stmt, params)


def _sql(shapes: list[tuple[Table, tuple[str, ...]]]) -> str:
    """``WITH w0 AS (INSERT …), … INSERT …`` for these tables and columns."""
    dialect = postgresql.dialect()
    quote = dialect.identifier_preparer.quote
    inserts = []
    for n, (table, columns) in enumerate(shapes):
        # arrays of the bare type (VARCHAR, not VARCHAR(32)): a cast would cut a long value
        # short, where the INSERT refuses it, as a plain one does
        arrays = ", ".join(f"CAST(:p{n}_{c} AS {_bare(table.c[c].type, dialect)}[])"
                           for c in columns)
        # names and types from the table's own metadata, values bound: nothing from input
        inserts.append(f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, columns))}) "  # noqa: S608
                       f"SELECT * FROM unnest({arrays})")
    *first, last = inserts
    return ("WITH " + ", ".join(f"w{n} AS ({sql})" for n, sql in enumerate(first)) + " " + last
            if first else last)


def _bare(type_: Any, dialect: Any) -> str:
    return re.sub(r"\(.*?\)", "", type_.compile(dialect=dialect))
