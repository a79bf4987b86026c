"""The rows the insights read, written beside the ledger's own: an order's lines, labels and
customer (``index_order``, whenever ``orders`` is written) and a return decision's lines and
figures (``index_return``, whenever a return decision is recorded).

``orders.lines`` and ``decisions.body`` are JSON text; aggregating them at read time costs a
parse per row. These rows make "units sold per SKU" and "who bought again within 90 days" one
indexed query each. Times are epoch seconds (``epoch``) so day windows are integer arithmetic on
SQLite and PostgreSQL alike. Migration 0009 fills them for history recorded before it.

A write that changes them also appends an ``insight_marks`` row (the UTC day and the customer
it touched; insert-only) for ``ledger/rollups.py`` to fold; an order written again with the same
rows appends none. A new order's rows and mark, and a return's, are one statement on PostgreSQL
(``inserts.insert_rows``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Integer, String, delete, insert, literal, null, select, union_all

from refunds_plugin.domain.decision import Decision
from refunds_plugin.domain.facts import OrderLine
from refunds_plugin.domain.kinds import DecisionKind
from refunds_plugin.ledger.inserts import insert_rows
from refunds_plugin.ledger.tables import (
    customer_orders,
    decisions,
    insight_marks,
    order_line_labels,
    order_lines,
    return_figures,
    return_lines,
)

DAY = 86_400  # a rollup's day is ``at // DAY`` (UTC)


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


def line_rows(order_id: str, currency: str, lines: Iterable[OrderLine], at: int
              ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ``order_lines`` and ``order_line_labels`` rows of one order (also the migration's)."""
    rows, labels = [], []
    for ln in lines:
        rows.append({"order_id": order_id, "line_id": ln.id, "sku": ln.sku or "",
                     "product_id": ln.product_id, "name": (ln.name or "")[:255],
                     "currency": currency, "quantity": ln.quantity, "amount": ln.amount,
                     "at": at})
        for kind, names in (("collection", ln.collections), ("tag", ln.tags)):
            for label in sorted(set(names)):
                labels.append({"order_id": order_id, "line_id": ln.id, "kind": kind,
                               "label": str(label)[:255], "currency": currency,
                               "quantity": ln.quantity, "amount": ln.amount, "at": at})
    return rows, labels


def _rows(found: Iterable[Any]) -> list[tuple[Any, ...]]:
    """Rows as sorted tuples of their columns, to tell whether a write changed anything."""
    return sorted(tuple(sorted(dict(r).items())) for r in found)


def index_order(conn: Connection, *, order_id: str, currency: str, lines: Iterable[OrderLine],
                total: int, paid_at: datetime | None, customer: str | None,
                now: datetime, new: bool = False) -> None:
    """Replace the order's rows with what it holds now (a later event may change its lines).
    An order counts as sold when it was paid, else when it was first recorded. When they
    changed, mark the days and customers they were and are in (and the order's returns' days:
    those are summed by the lines' keys). ``new``: the order's row was inserted in this
    transaction, so it has no rows to replace and no returns yet (three statements fewer)."""
    at = epoch(paid_at or now)
    if new:  # its rows and its mark, in one statement on PostgreSQL
        rows, labels = line_rows(order_id, currency, lines, at)
        insert_rows(conn, (order_lines, rows), (order_line_labels, labels),
                    (customer_orders, [{"order_id": order_id, "customer": customer,
                                        "currency": currency, "total": total, "at": at}]),
                    (insight_marks, [{"day": at // DAY, "customer": customer}]))
        return
    old = [_rows(r._mapping for r in conn.execute(
        delete(table).where(table.c.order_id == order_id).returning(*table.c)))
        for table in (order_lines, order_line_labels, customer_orders)]
    rows, labels = line_rows(order_id, currency, lines, at)
    placed = {"order_id": order_id, "customer": customer, "currency": currency, "total": total,
              "at": at}
    insert_rows(conn, (order_lines, rows), (order_line_labels, labels), (customer_orders, [placed]))
    if old == [_rows(rows), _rows(labels), _rows([placed])]:
        return
    touched = {(at // DAY, customer)} | {(dict(r)["at"] // DAY, dict(r)["customer"])
                                         for r in old[2]}
    parts: list[Any] = [select(literal(d, Integer), literal(c, String)) for d, c in touched]
    if old[0] != _rows(rows) or old[1] != _rows(labels):
        f = return_figures.c
        parts.append(select(f.at // DAY, null()).select_from(
            return_figures.join(decisions, decisions.c.id == f.decision_id))
            .where(decisions.c.order_id == order_id))
    conn.execute(insert(insight_marks).from_select(["day", "customer"], union_all(*parts)))


def mark_decision(conn: Connection, decision_id: str) -> None:
    """A review decided (or re-opened) changes whether a return was granted and how it ended:
    mark its day and customer (nothing for a decision that is no return)."""
    f = return_figures.c
    conn.execute(insert(insight_marks).from_select(
        ["day", "customer"],
        select(f.at // DAY, f.customer).where(f.decision_id == decision_id)))


def return_rows(decision_id: str, order_id: str, decision: dict[str, Any],
                request: dict[str, Any], at: int) -> list[dict[str, Any]]:
    """The ``return_lines`` rows of a return decision, from its stored body and request (the
    shapes ``decisions.body`` and ``decisions.request`` hold; also the migration's)."""
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


def exchanged_lines(decision: dict[str, Any]) -> set[str]:
    """The ids of a return decision's lines swapped for another item (its stored body)."""
    return {str(ln["line_id"]) for ln in (decision.get("exchange") or {}).get("lines") or ()}


def figures_row(decision_id: str, decision: dict[str, Any], request: dict[str, Any],
                customer: str | None, at: int) -> dict[str, Any]:
    """The ``return_figures`` row of a return decision (also the migration's)."""
    # the value of lines that stay with the customer if the return is granted (the readers
    # count it only then: a review may be approved later)
    kept = sum(int(ln.get("amount", 0)) for ln in decision.get("lines") or ()
               if ln.get("return_required", True) is False)
    comment = str(request.get("comment") or "").strip()
    return {"decision_id": decision_id, "customer": customer,
            "currency": decision["currency"],
            "fees": sum(int(f.get("amount", 0)) for f in decision.get("fees") or ()),
            "bonus": sum(int(r.get("bonus", 0)) for r in decision.get("resolutions") or ()),
            "kept": kept, "comment": comment or None, "at": at}


def index_return(conn: Connection, *, decision_id: str, decision: Decision,
                 body: dict[str, Any], request: dict[str, Any], order_id: str,
                 customer: str | None, now: datetime) -> None:
    """A newly recorded return decision's lines and figures (corrections have none)."""
    if decision.kind is not DecisionKind.RETURN:
        return
    at = epoch(now)
    swapped = exchanged_lines(body)
    rows = [{**r, "exchanged": int(r["line_id"] in swapped)}
            for r in return_rows(decision_id, order_id, body, request, at)]
    insert_rows(conn, (return_lines, rows),
                (return_figures, [figures_row(decision_id, body, request, customer, at)]),
                (insight_marks, [{"day": at // DAY, "customer": customer}]))
