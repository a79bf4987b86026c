"""Who writes which table, read from the source: every write to the money tables goes through
``refunds_plugin/ledger/``, and each capability's own table is written by its own package
(``docs/architecture.md``, "The rules").

A write is an ``insert``/``update``/``delete`` (SQLAlchemy's functions, a table's own methods,
or the ledger's ``insert_ignore``/``dialect_insert``) whose table is named in the call, under its
own name or an alias it was imported as, or a raw ``text("INSERT|UPDATE|DELETE …")`` naming the
table. Reading is free: read models may ``select`` from any table. Views run no SQL at all: no
module of ``webhooks/`` imports SQLAlchemy or opens a connection or a transaction.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MONEY = ("events", "orders", "payments", "provider_refunds", "decisions", "refund_attempts",
         "reviews", "ledger_entries", "exchanges")
OWNER = {
    **dict.fromkeys(MONEY, "refunds_plugin/ledger/"),
    "instance_keys": "refunds_plugin/ledger/",
    "saleor_returns": "refunds_plugin/ledger/",
    # what the insights read, written beside the money tables (ledger/line_index.py)
    **dict.fromkeys(("order_lines", "order_line_labels", "customer_orders", "return_lines",
                     "return_figures"), "refunds_plugin/ledger/"),
    # the insights' marks (written beside them) and rollups (folded: ledger/rollups.py)
    **dict.fromkeys(("insight_marks", "sold_days", "returned_days", "money_days",
                     "retention_rows"), "refunds_plugin/ledger/"),
    "feedback": "refunds_plugin/insights/feedback.py",
    "follow_ups": "refunds_plugin/trouble/",
    "outbox": "refunds_plugin/notify/",
    "tokens": "refunds_plugin/finance/tokens.py",
    "finance_sessions": "refunds_plugin/finance/sessions.py",
    "saleor_installs": "refunds_plugin/saleor/installs.py",
    "return_shipments": "refunds_plugin/shipping/",
    "return_receipts": "refunds_plugin/shipping/",
    "withdrawals": "refunds_plugin/intake/withdrawals.py",
}
WRITERS = {"insert", "update", "delete", "insert_ignore", "dialect_insert"}
# the Alembic history creates and fills its tables by design
NOT_CHECKED = ("refunds_plugin/ledger/migrations/",)


RAW_WRITE = re.compile(r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+\"?(\w+)", re.IGNORECASE)


def _aliases(tree: ast.AST) -> dict[str, str]:
    """Local names of the tables: ``from ….tables import reviews as reviews_table``."""
    names = {t: t for t in OWNER}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("ledger.tables"):
            for alias in node.names:
                if alias.name in OWNER:
                    names[alias.asname or alias.name] = alias.name
    return names


def writes(source: str) -> list[tuple[int, str]]:
    """(line, table) for each write a module's source makes."""
    tree = ast.parse(source)
    names = _aliases(tree)

    def table(node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            return names.get(node.id)
        if isinstance(node, ast.Attribute):
            return names.get(node.attr)
        return None

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += [(node.lineno, m.lower()) for m in RAW_WRITE.findall(node.value)
                      if m.lower() in OWNER]
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if name not in WRITERS:
            continue
        # update(orders), insert_ignore(conn, reviews, ...), dialect_insert(conn, follow_ups)
        tables = [t for arg in node.args[:2] if (t := table(arg))]
        # tokens.insert(), orders.update()
        if isinstance(func, ast.Attribute) and (t := table(func.value)):
            tables.append(t)
        found += [(node.lineno, t) for t in tables]
    return sorted(found)


def test_the_reader_sees_writes_in_every_form() -> None:
    source = (
        "from refunds_plugin.ledger.tables import reviews as reviews_table\n"
        "update(orders).where(x)\n"
        "conn.execute(tables.payments.delete())\n"
        "insert_ignore(conn, reviews, {})\n"
        "dialect_insert(conn, follow_ups).values()\n"
        "select(orders)\n"
        "progress.update(values)\n"
        "update(reviews_table).values(status='x')\n"
        "conn.execute(text('UPDATE orders SET order_number = 1'))\n"
        "conn.execute(text('SELECT * FROM orders'))\n"
    )
    assert writes(source) == [(2, "orders"), (3, "payments"), (4, "reviews"), (5, "follow_ups"),
                              (8, "reviews"), (9, "orders")]


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


SQL_IN_VIEWS = re.compile(
    r"^\s*(?:from|import)\s+sqlalchemy\b|\.connect\(\)|\.begin\(\)|\bwrite_tx\(|\bread_tx\(",
    re.MULTILINE,
)


def test_views_run_no_sql() -> None:
    """A view verifies, parses, calls one service or read-model function and answers."""
    wrong = []
    for path in sorted((ROOT / "webhooks").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        wrong += [f"{path.relative_to(ROOT).as_posix()}:{text.count(chr(10), 0, m.start()) + 1}: "
                  f"{m.group(0).strip()}" for m in SQL_IN_VIEWS.finditer(text)]
    assert wrong == [], "\n".join(wrong)
    assert SQL_IN_VIEWS.search("    with engine.connect() as conn:\n")  # the reader reads
