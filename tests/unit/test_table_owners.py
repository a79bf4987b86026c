"""Who writes which table, read from the source: every write to the money tables goes through
``refunds_plugin/ledger/``, and each capability's own table is written by its own package
(``docs/architecture.md``, "The rules").

A write is an ``insert``/``update``/``delete`` (SQLAlchemy's functions, a table's own methods,
or the ledger's ``insert_ignore``/``dialect_insert``) whose table is named in the call. Reading
is free: read models may ``select`` from any table.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MONEY = ("events", "orders", "payments", "provider_refunds", "decisions", "refund_attempts",
         "reviews", "ledger_entries")
OWNER = {
    **dict.fromkeys(MONEY, "refunds_plugin/ledger/"),
    "instance_keys": "refunds_plugin/ledger/",
    "follow_ups": "refunds_plugin/trouble/",
    "tokens": "refunds_plugin/finance/tokens.py",
    "saleor_installs": "refunds_plugin/saleor/installs.py",
}
WRITERS = {"insert", "update", "delete", "insert_ignore", "dialect_insert"}
# the Alembic history creates and fills its tables by design
NOT_CHECKED = ("refunds_plugin/ledger/migrations/",)


def _table(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name) and node.id in OWNER:
        return node.id
    if isinstance(node, ast.Attribute) and node.attr in OWNER:
        return node.attr
    return None


def writes(source: str) -> list[tuple[int, str]]:
    """(line, table) for each write a module's source makes."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if name not in WRITERS:
            continue
        # update(orders), insert_ignore(conn, reviews, ...), dialect_insert(conn, follow_ups)
        tables = [t for arg in node.args[:2] if (t := _table(arg))]
        # tokens.insert(), orders.update()
        if isinstance(func, ast.Attribute) and (t := _table(func.value)):
            tables.append(t)
        found += [(node.lineno, t) for t in tables]
    return sorted(found)


def test_the_reader_sees_writes_in_every_form() -> None:
    source = (
        "update(orders).where(x)\n"
        "conn.execute(tables.payments.delete())\n"
        "insert_ignore(conn, reviews, {})\n"
        "dialect_insert(conn, follow_ups).values()\n"
        "select(orders)\n"
        "progress.update(values)\n"
    )
    assert writes(source) == [(1, "orders"), (2, "payments"), (3, "reviews"), (4, "follow_ups")]


def test_every_table_is_written_only_by_its_owner() -> None:
    wrong, seen = [], 0
    for path in sorted((ROOT / "refunds_plugin").rglob("*.py")) + sorted(
        (ROOT / "webhooks").rglob("*.py")
    ):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(NOT_CHECKED):
            continue
        for line, table in writes(path.read_text(encoding="utf-8")):
            seen += 1
            if not rel.startswith(OWNER[table]):
                wrong.append(f"{rel}:{line} writes {table} (its owner is {OWNER[table]})")
    assert seen > 20, f"the reader found only {seen} writes: it is not reading the tree"
    assert wrong == [], "\n".join(wrong)
