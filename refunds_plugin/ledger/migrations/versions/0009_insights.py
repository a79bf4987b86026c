"""insights: order lines, labels, customers' orders and return lines as rows; feedback

``orders.lines`` and ``decisions.body`` are JSON text; the insights (issue 17) aggregate them by
SKU, product, collection, tag and customer, so this revision keeps them as indexed rows too
(written from now on by ``ledger/line_index.py``), fills them for the history recorded before
it, and indexes ``decisions`` by (created_at, id), the order ``policy simulate`` and ``policy
compare`` read them in. ``feedback`` holds the customers' "How did we do?" answers, one per
decision.

The backfill builds its rows as ``ledger/line_index.py``'s row functions built them at this
revision (``epoch``, ``customer_key``, ``line_rows``, ``return_rows``, ``figures_row``; an order
line's amount as ``domain.OrderLine.amount`` said), copied here so that a later change to the
app's code cannot change what upgrading an old ledger does.

Revision ID: 0009
Revises: 0005
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None

BATCH = 2000


def _tables() -> list[sa.Table]:
    c = sa.Column

    def t(name: str, *parts: Any) -> sa.Table:
        indexes = [p for p in parts if isinstance(p, sa.Index)]
        made = op.create_table(name, *(p for p in parts if not isinstance(p, sa.Index)))
        for ix in indexes:
            op.create_index(ix.name, name, [str(e) for e in ix.expressions])
        return made

    return [
        t("order_lines",
          c("order_id", sa.String(255), primary_key=True),
          c("line_id", sa.String(255), primary_key=True),
          c("sku", sa.String(255), nullable=False),
          c("product_id", sa.String(255), nullable=True),
          c("name", sa.String(255), nullable=False),
          c("currency", sa.String(3), nullable=False),
          c("quantity", sa.Integer, nullable=False),
          c("amount", sa.BigInteger, nullable=False),
          c("at", sa.BigInteger, nullable=False),
          sa.Index("ix_order_lines_at", "at")),
        t("order_line_labels",
          c("order_id", sa.String(255), primary_key=True),
          c("line_id", sa.String(255), primary_key=True),
          c("kind", sa.String(16), primary_key=True),
          c("label", sa.String(255), primary_key=True),
          c("currency", sa.String(3), nullable=False),
          c("quantity", sa.Integer, nullable=False),
          c("amount", sa.BigInteger, nullable=False),
          c("at", sa.BigInteger, nullable=False),
          sa.Index("ix_order_line_labels_kind_at", "kind", "at")),
        t("customer_orders",
          c("order_id", sa.String(255), primary_key=True),
          c("customer", sa.String(320), nullable=True),
          c("currency", sa.String(3), nullable=False),
          c("total", sa.BigInteger, nullable=False),
          c("at", sa.BigInteger, nullable=False),
          sa.Index("ix_customer_orders_customer_at", "customer", "at"),
          sa.Index("ix_customer_orders_at", "at")),
        t("return_lines",
          c("decision_id", sa.String(36), primary_key=True),
          c("line_id", sa.String(255), primary_key=True),
          c("order_id", sa.String(255), nullable=False),
          c("quantity", sa.Integer, nullable=False),
          c("reason", sa.String(32), nullable=False),
          c("amount", sa.BigInteger, nullable=False),
          c("kept", sa.Integer, nullable=False),
          c("at", sa.BigInteger, nullable=False),
          sa.ForeignKeyConstraint(["decision_id"], ["decisions.id"],
                                  name="fk_return_lines_decision_id_decisions"),
          sa.Index("ix_return_lines_at", "at")),
        t("return_figures",
          c("decision_id", sa.String(36), primary_key=True),
          c("customer", sa.String(320), nullable=True),
          c("currency", sa.String(3), nullable=False),
          c("fees", sa.BigInteger, nullable=False),
          c("bonus", sa.BigInteger, nullable=False),
          c("kept", sa.BigInteger, nullable=False),
          c("comment", sa.Text, nullable=True),
          c("at", sa.BigInteger, nullable=False),
          sa.ForeignKeyConstraint(["decision_id"], ["decisions.id"],
                                  name="fk_return_figures_decision_id_decisions"),
          sa.Index("ix_return_figures_at", "at"),
          sa.Index("ix_return_figures_customer", "customer")),
        t("feedback",
          c("decision_id", sa.String(36), primary_key=True),
          c("rating", sa.Integer, nullable=False),
          c("comment", sa.Text, nullable=True),
          c("answered_at", sa.DateTime(timezone=True), nullable=False),
          c("changed_at", sa.DateTime(timezone=True), nullable=True),
          c("changes", sa.Integer, nullable=False, server_default="0"),
          sa.ForeignKeyConstraint(["decision_id"], ["decisions.id"],
                                  name="fk_feedback_decision_id_decisions")),
    ]


def upgrade() -> None:
    bind = op.get_bind()
    made = _tables()
    op.create_index("ix_decisions_created_at_id", "decisions", ["created_at", "id"])
    by_name = {table.name: table for table in made}
    _orders(bind, by_name)
    _returns(bind, by_name)


def _when(value: object) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _orders(bind: sa.Connection, made: dict[str, sa.Table]) -> None:
    orders = sa.table("orders", *(sa.column(n) for n in (
        "order_id", "currency", "total_amount", "lines", "paid_at", "updated_at",
        "customer_email", "customer_id")))
    rows: list[dict[str, object]] = []
    labels: list[dict[str, object]] = []
    customers: list[dict[str, object]] = []
    for o in bind.execute(sa.select(orders)).all():
        at = epoch(_when(o.paid_at) or _when(o.updated_at) or datetime.now(UTC))
        more, more_labels = line_rows(o.order_id, o.currency, json.loads(o.lines or "[]"), at)
        rows += more
        labels += more_labels
        customers.append({"order_id": o.order_id, "currency": o.currency,
                          "customer": customer_key(o.customer_email, o.customer_id),
                          "total": int(o.total_amount), "at": at})
        if len(rows) >= BATCH:
            _flush(bind, made, rows, labels, customers)
    _flush(bind, made, rows, labels, customers)


def _flush(bind: sa.Connection, made: dict[str, sa.Table], rows: list[dict[str, object]],
           labels: list[dict[str, object]], customers: list[dict[str, object]]) -> None:
    for name, batch in (("order_lines", rows), ("order_line_labels", labels),
                        ("customer_orders", customers)):
        if batch:
            bind.execute(sa.insert(made[name]), batch)
            batch.clear()


def _returns(bind: sa.Connection, made: dict[str, sa.Table]) -> None:
    decisions = sa.table("decisions", *(sa.column(n) for n in (
        "id", "order_id", "kind", "body", "request", "customer_email", "customer_id",
        "created_at")))
    for d in bind.execute(sa.select(decisions).where(decisions.c.kind == "return")).all():
        body, asked = json.loads(d.body), json.loads(d.request)
        created = _when(d.created_at)
        assert created is not None
        at = epoch(created)
        lines = return_rows(d.id, d.order_id, body, asked, at)
        if lines:
            bind.execute(sa.insert(made["return_lines"]), lines)
        bind.execute(sa.insert(made["return_figures"]), figures_row(
            d.id, body, asked, customer_key(d.customer_email, d.customer_id), at))


def downgrade() -> None:
    op.drop_index("ix_decisions_created_at_id", "decisions")
    for name in ("feedback", "return_figures", "return_lines", "customer_orders",
                 "order_line_labels", "order_lines"):
        op.drop_table(name)


# --- the rows, as ``ledger/line_index.py`` built them at this revision ------------------------

def epoch(when: datetime) -> int:
    """Whole seconds since 1970 (UTC); a naive time is UTC, as everything we store."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp())


def customer_key(email: str | None, customer_id: str | None) -> str | None:
    """Who a customer is across orders: the lower-cased email, else the shop's customer id."""
    if email and email.strip():
        return email.strip().lower()
    return f"id:{customer_id}" if customer_id else None


def line_amount(line: dict[str, Any]) -> int:
    """What a stored order line (``orders.lines``) was charged: its ``total_amount`` when set
    (a voucher spread over the lines), else unit price × quantity."""
    total = line.get("total_amount")
    return int(line["unit_amount"]) * int(line["quantity"]) if total is None else int(total)


def line_rows(order_id: str, currency: str, lines: list[dict[str, Any]], at: int
              ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ``order_lines`` and ``order_line_labels`` rows of one order's stored lines."""
    rows, labels = [], []
    for ln in lines:
        amount = line_amount(ln)
        rows.append({"order_id": order_id, "line_id": ln["id"], "sku": ln["sku"] or "",
                     "product_id": ln.get("product_id"), "name": (ln["name"] or "")[:255],
                     "currency": currency, "quantity": ln["quantity"], "amount": amount,
                     "at": at})
        for kind, names in (("collection", ln.get("collections") or ()),
                            ("tag", ln.get("tags") or ())):
            for label in sorted(set(names)):
                labels.append({"order_id": order_id, "line_id": ln["id"], "kind": kind,
                               "label": str(label)[:255], "currency": currency,
                               "quantity": ln["quantity"], "amount": amount, "at": at})
    return rows, labels


def return_rows(decision_id: str, order_id: str, decision: dict[str, Any],
                request: dict[str, Any], at: int) -> list[dict[str, Any]]:
    """The ``return_lines`` rows of a return decision, from its stored body and request: each
    line asked back with the value the decision gave it."""
    given: dict[str, tuple[int, bool]] = {}
    for ln in decision.get("lines") or ():
        amount, kept = given.get(str(ln["line_id"]), (0, False))
        given[str(ln["line_id"])] = (amount + int(ln.get("amount", 0)),
                                     kept or ln.get("return_required", True) is False)
    rows = []
    for rl in request.get("lines") or ():
        amount, kept = given.get(str(rl["line_id"]), (0, False))
        rows.append({"decision_id": decision_id, "line_id": str(rl["line_id"]),
                     "order_id": order_id, "quantity": int(rl["quantity"]),
                     "reason": str(rl["reason"]), "amount": amount, "kept": int(kept),
                     "at": at})
    return rows


def figures_row(decision_id: str, decision: dict[str, Any], request: dict[str, Any],
                customer: str | None, at: int) -> dict[str, Any]:
    """The ``return_figures`` row of a return decision."""
    # the value of lines that stay with the customer if the return is granted
    kept = sum(int(ln.get("amount", 0)) for ln in decision.get("lines") or ()
               if ln.get("return_required", True) is False)
    comment = str(request.get("comment") or "").strip()
    return {"decision_id": decision_id, "customer": customer,
            "currency": decision["currency"],
            "fees": sum(int(f.get("amount", 0)) for f in decision.get("fees") or ()),
            "bonus": sum(int(r.get("bonus", 0)) for r in decision.get("resolutions") or ()),
            "kept": kept, "comment": comment or None, "at": at}
