"""The rows the insights read, written beside the ledger's own: an order's lines, labels and
customer (``index_order``, whenever ``orders`` is written) and a return decision's lines and
figures (``index_return``, whenever a return decision is recorded; ``index_adjusted`` when a
person's approval changes its amount, fees or bonus: the insights sum the final figures).

``orders.lines`` and ``decisions.body`` are JSON text; aggregating them at read time costs a
parse per row. These rows make "units sold per SKU" and "who bought again within 90 days" one
indexed query each. Times are epoch seconds (``epoch``) so day windows are integer arithmetic on
SQLite and PostgreSQL alike. Migration 0009 fills them for history recorded before it, and
0019, 0023 and 0028 rewrite them, each with its own frozen copy of this module's arithmetic as
it was then (a revision never calls this module: ``tests/unit/test_migrations_frozen.py``).

A write that changes them also appends an ``insight_marks`` row (the UTC day and the customer
it touched; insert-only) for ``ledger/rollups.py`` to fold; an order written again with the same
rows appends none. A new order's rows and mark, and a return's, are one statement on PostgreSQL
(``inserts.insert_rows``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    String,
    delete,
    insert,
    literal,
    null,
    select,
    union_all,
    update,
)

from refunds_plugin.domain.decision import Decision
from refunds_plugin.domain.facts import OrderLine
from refunds_plugin.domain.kinds import DecisionKind
from refunds_plugin.ledger.inserts import Rows, insert_rows
from refunds_plugin.ledger.money_entries import order_rows
from refunds_plugin.ledger.tables import (
    customer_orders,
    decisions,
    insight_marks,
    ledger_entries,
    order_line_labels,
    order_lines,
    payments,
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
    """The ``order_lines`` and ``order_line_labels`` rows of one order."""
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
                now: datetime, new: bool = False, journal: bool = False) -> None:
    """Replace the order's rows with what it holds now (a later event may change its lines).
    An order counts as sold when it was paid, else when it was first recorded. When they
    changed, mark the days and customers they were and are in (and the order's returns' days:
    those are summed by the lines' keys). ``new``: the order's row was inserted in this
    transaction, so it has no rows to replace and no returns yet (three statements fewer).
    ``journal``: also journal the order's total and currency when they are new or changed
    (``money_entries.order_rows``; the ``customer_orders`` row replaced says what they were),
    in the same statement on PostgreSQL."""
    at = epoch(paid_at or now)
    if new:  # its rows, its mark and its entry, in one statement on PostgreSQL
        rows, labels = line_rows(order_id, currency, lines, at)
        insert_rows(conn, (order_lines, rows), (order_line_labels, labels),
                    (customer_orders, [{"order_id": order_id, "customer": customer,
                                        "currency": currency, "total": total, "at": at}]),
                    (insight_marks, [{"day": at // DAY, "customer": customer}]),
                    _entry(conn, journal, order_id, currency, total, None, now))
        return
    found = [[dict(r._mapping) for r in conn.execute(
        delete(table).where(table.c.order_id == order_id).returning(*table.c))]
        for table in (order_lines, order_line_labels, customer_orders)]
    was = next(((r["currency"], int(r["total"])) for r in found[2]), None)
    old = [_rows(f) for f in found]
    rows, labels = line_rows(order_id, currency, lines, at)
    placed = {"order_id": order_id, "customer": customer, "currency": currency, "total": total,
              "at": at}
    insert_rows(conn, (order_lines, rows), (order_line_labels, labels), (customer_orders, [placed]),
                _entry(conn, journal, order_id, currency, total, was, now))
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


def _entry(conn: Connection, journal: bool, order_id: str, currency: str, total: int,
           was: tuple[str, int] | None, now: datetime) -> Rows:
    if not journal:
        return ledger_entries, []
    return order_rows(conn, order_id, currency, total, was, now)


def mark_decision(conn: Connection, decision_id: str) -> None:
    """A review decided (or re-opened) changes whether a return was granted and how it ended:
    mark its day and customer (nothing for a decision that is no return)."""
    f = return_figures.c
    conn.execute(insert(insight_marks).from_select(
        ["day", "customer"],
        select(f.at // DAY, f.customer).where(f.decision_id == decision_id)))


def mark_test_mode_order(conn: Connection, order_id: str) -> None:
    """A payment of the order was recorded by Stripe in a mode, and the order has one Stripe
    took in its test mode: whether its sales count (``rollups.paid_in_test_mode_only``) may
    have changed, so mark its day and customer (nothing for an order not indexed yet: its own
    index mark comes with it)."""
    c, p = customer_orders.c, payments.c
    tested = select(literal(1)).where(p.order_id == order_id, p.livemode.is_(False)).exists()
    conn.execute(insert(insight_marks).from_select(
        ["day", "customer"], select(c.at // DAY, c.customer).where(c.order_id == order_id, tested)))


def return_rows(decision_id: str, order_id: str, decision: dict[str, Any],
                request: dict[str, Any], at: int) -> list[dict[str, Any]]:
    """The ``return_lines`` rows of a return decision, from its stored body and request (the
    shapes ``decisions.body`` and ``decisions.request`` hold). A line's
    amount is what is paid for it (``paid_body``: less what the provider's step left out)."""
    decision = paid_body(decision)
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
    """The ``return_figures`` row of a return decision."""
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


def not_paid(body: dict[str, Any]) -> int:
    """What a return decision's lines were worth but its refund and store credit do not pay:
    what the order's payment could not hold (the ``refundable_cap`` rule's ``over_by``: not
    captured yet, disputed, partly refunded already) and what the provider's step left out
    (Stripe refunds KWD in tens of fils, so 18.505 KWD is refunded as 18.500), from the
    ``rounding`` rule's ``not_refunded`` and ``not_credited``."""
    lost = _capped(body)
    for r in body.get("trace") or ():
        if r.get("rule") == "rounding":
            saw = r.get("saw") or {}
            lost += int(saw.get("not_refunded") or 0) + int(saw.get("not_credited") or 0)
    return lost


def _capped(body: dict[str, Any]) -> int:
    """What the policy's ``refundable_cap`` took off the return: more than the payment held."""
    return sum(int((r.get("saw") or {}).get("over_by") or 0) for r in body.get("trace") or ()
               if r.get("rule") == "refundable_cap")


# the rules whose cut ``paid_body`` takes off the lines (so it is not taken twice)
PAID_RULES = ("refundable_cap", "rounding")


def paid_body(body: dict[str, Any]) -> dict[str, Any]:
    """A return decision's body with its lines' values as paid: what the payment could not hold
    and what the provider's step left out (``not_paid``) taken off the lines not exchanged, in
    proportion to their value, and those rules with it (so a body made so is not made so
    again)."""
    lost = not_paid(body)
    if not lost:
        return body
    return {**body, "lines": _spread(body, -lost),
            "trace": [r for r in body.get("trace") or () if r.get("rule") not in PAID_RULES]}


def _spread(body: dict[str, Any], change: int) -> list[dict[str, Any]]:
    """The body's lines with ``change`` spread over those not exchanged, in proportion to their
    value (whole minor units, the remainders to the largest shares; none below 0)."""
    lines = [dict(ln) for ln in body.get("lines") or ()]
    swapped = exchanged_lines(body)
    moving = [i for i, ln in enumerate(lines) if str(ln["line_id"]) not in swapped]
    was = sum(int(lines[i].get("amount", 0)) for i in moving)
    target = max(0, was + change)
    if moving and was:
        shares = [(target * int(lines[i].get("amount", 0)), i) for i in moving]
        left = target - sum(share // was for share, _ in shares)
        extra = {i for _, i in sorted(shares, key=lambda s: (-(s[0] % was), s[1]))[:left]}
        for share, i in shares:
            lines[i]["amount"] = share // was + (1 if i in extra else 0)
    elif moving:  # nothing to be in proportion to: the first line carries it
        lines[moving[0]]["amount"] = target
    return lines


def final_body(body: dict[str, Any], amount: int, fees: int, bonus: int) -> dict[str, Any]:
    """A return decision's body (JSON form) as a person's approval changed it: it gives
    ``amount`` (before any bonus) with ``fees`` kept back and ``bonus`` on top. The change in
    what is given before fees is spread over the lines not exchanged, in proportion to their
    value (``_spread``), from their values as paid (``paid_body``, the refundable cap aside), so
    the lines' values are the final figures the insights sum; a waived fee moves no line (it
    is the fee that goes)."""
    # from the lines' values before the refundable cap (its cut is part of the change), so an
    # approval of more than the payment held then spreads in proportion to what they are worth
    capped = _capped(body)
    body = paid_body({**body, "amount": int(body["amount"]) + capped,
                      "trace": [r for r in body.get("trace") or ()
                                if r.get("rule") != "refundable_cap"]})
    policy_fees = sum(int(f.get("amount", 0)) for f in body.get("fees") or ())
    lines = _spread(body, amount + fees - int(body["amount"]) - policy_fees)
    return {**body, "lines": lines, "amount": amount,
            "fees": [{"code": "final", "amount": fees}] if fees else [],
            "resolutions": [{"bonus": bonus}] if bonus else []}


def index_adjusted(conn: Connection, decision_id: str, amount: int, fees: int,
                   bonus: int) -> None:
    """Rewrite a return decision's ``return_lines`` values and ``return_figures`` (fees, bonus,
    kept value) with the final figures of a person's approval (``final_body``), in the
    approval's transaction; its day is marked there too (``mark_decision``). Computed from the
    stored decision alone, so writing it again writes the same rows."""
    row = conn.execute(select(decisions.c.body, decisions.c.request, decisions.c.order_id,
                              decisions.c.kind, decisions.c.amount)
                       .where(decisions.c.id == decision_id)).one_or_none()
    if row is None or row.kind != DecisionKind.RETURN.value:
        return
    body = final_body({**json.loads(row.body), "amount": int(row.amount)}, amount, fees, bonus)
    request = json.loads(row.request or "{}")
    _rewrite_lines(conn, decision_id, row.order_id, body, request)
    figures = figures_row(decision_id, body, request, None, 0)
    conn.execute(update(return_figures).where(return_figures.c.decision_id == decision_id)
                 .values(fees=figures["fees"], bonus=figures["bonus"], kept=figures["kept"]))


def _rewrite_lines(conn: Connection, decision_id: str, order_id: str, body: dict[str, Any],
                   request: dict[str, Any]) -> None:
    for r in return_rows(decision_id, order_id, body, request, 0):
        conn.execute(update(return_lines)
                     .where(return_lines.c.decision_id == decision_id,
                            return_lines.c.line_id == r["line_id"])
                     .values(amount=r["amount"]))

