"""A customer's orders, payments and past returns, as the policy's abuse signals and
lifetime value count them (``customer_history``): one statement of indexed reads, built once."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    union,
    union_all,
)

from refunds_plugin.domain.facts import (
    Customer,
    CustomerHistory,
)
from refunds_plugin.domain.kinds import Reason
from refunds_plugin.ledger.any_of import any_of
from refunds_plugin.ledger.db import aware
from refunds_plugin.ledger.rollups import granted as granted_now
from refunds_plugin.ledger.tables import (
    decisions,
    orders,
    payments,
    reviews,
)


def _fixed(values: Any) -> list[Any]:
    """An ``IN`` list of constants as one bound parameter each: a plain list is an expanding
    parameter, which SQLAlchemy renders into the statement again on every execution."""
    return [literal(v) for v in values]


NOT_RECEIVED_LINE = '%"reason":"not_received"%'  # as journal.to_json writes a request's lines
# A request with a line like this was (at least partly) not our fault; the rest were all ours.
CUSTOMER_REASON_LINES = tuple(f'%"reason":"{r.value}"%' for r in Reason
                              if not r.merchant_fault)
# ... and one with a line like this was (at least partly) ours: only its customer share counts
_OUR_FAULT = tuple(r.value for r in Reason if r.merchant_fault)
SHOP_FAULT_LINES = tuple(f'%"reason":"{r}"%' for r in _OUR_FAULT)


def _history_query(by_id: bool, by_email: bool) -> Any:
    """The query for a customer known by id, by email or both (built once): one aggregate row
    of their orders, payments in the request's currency and "not received" claims (``part``
    0), and one row per earlier return that may count (``part`` 1), as one ``UNION ALL``: one
    round trip on PostgreSQL, not two. Each part's columns are NULL in the other's rows.

    Emails are stored lower-cased (``orders.upsert_order``): an equality uses
    ``ix_orders_customer_email`` (``lower(customer_email)`` could use no index); a row stored
    before that still matches its own exact spelling.

    Only granted returns count (``rollups.granted``: approved by a person, or by the policy and
    not declined by a person since; one still waiting for a person, or declined by one, is not
    money back); only those with a line that was not our
    fault, and of those only that line's share (``_customer_share``). What was finally granted
    counts: an admin's change on approval (``reviews.adjusted_*``) in place of the policy's
    figures. "Not received" claims count whenever granted.

    Money Stripe took in its test mode (``payments.livemode`` false) is no real money: it is
    not in what they paid, and an order all of whose payments were taken in test mode is not
    one of their orders (nor their first), nor are its returns and claims theirs. A payment
    whose mode is not known counts.

    Their decisions are matched to their orders with ``any_of`` (``ledger/any_of.py``), so
    PostgreSQL reads each table once even before it has statistics; their orders and payments
    are read through their indexes at any size (below). A plan PostgreSQL makes without
    statistics for the decisions may still read the whole table: autovacuum's first ``ANALYZE``
    replaces it (``docs/operations.md``).
    """
    # each key looked up on its own index, the orders found once (``UNION``): an ``OR`` or an
    # ``IN`` of keys, planned without statistics while the table was a few pages, was a read of
    # the whole table, and a prepared statement kept that plan as the table grew (seen in
    # ``bench_webhooks.py``); one equality PostgreSQL reads through its index at any size
    keys = []
    if by_id:
        keys.append(orders.c.customer_id == bindparam("cid"))
    if by_email:
        # the email as given and lower-cased (the same twice when it is lower-case already)
        keys += [orders.c.customer_email == bindparam("email"),
                 orders.c.customer_email == bindparam("lower")]
    found = [select(orders.c.order_id, orders.c.paid_at).where(key) for key in keys]
    # their orders, and each one's payments summed, each computed once (MATERIALIZED: every part
    # below reads these rows, not the tables again; it was four reads of orders and three of
    # payments, about half of the statement's time on the server)
    mine = ((union(*found) if len(found) > 1 else found[0])
            .cte("theirs").prefix_with("MATERIALIZED"))
    theirs = select(mine.c.order_id).scalar_subquery()
    p = payments.c
    counts = and_(p.status != "failed", p.currency == bindparam("cur"), p.livemode.is_not(False))

    def per_order(value: Any) -> Any:
        """``value`` summed over one of their orders' payments: a subquery run once per order,
        which PostgreSQL can only answer from ``ix_payments_order_id`` (a plain
        ``order_id IN (…)`` is read with the whole table when it has no statistics)."""
        return (select(func.sum(value)).where(p.order_id == mine.c.order_id)
                .scalar_subquery())

    per_order_sums = (
        select(mine.c.order_id,
               # only what was paid in the request's currency: JPY and USD do not add up
               per_order(case((counts, p.captured), else_=0)).label("paid"),
               # payments not known to be Stripe's test mode: none, and the order is a test
               # (an order with no payment has NULL here, and is not a test)
               per_order(case((p.livemode.is_(False), 0), else_=1)).label("live"))
        .cte("their_payments").prefix_with("MATERIALIZED"))
    paid = select(func.coalesce(func.sum(per_order_sums.c.paid), 0)).scalar_subquery()
    # their orders Stripe took only in its test mode: every payment's livemode false
    in_test_mode = (select(per_order_sums.c.order_id).where(per_order_sums.c.live == 0)
                    .scalar_subquery())
    d, rv = decisions.c, reviews.c
    granted = granted_now()
    returns = decisions.outerjoin(reviews, rv.decision_id == d.id)
    of_theirs = (any_of(d.order_id, theirs), ~any_of(d.order_id, in_test_mode),
                 d.kind == "return", d.outcome.in_(_fixed(("approve", "review"))))
    claims = (
        select(func.count()).select_from(returns)
        .where(*of_theirs, granted, d.request.like(NOT_RECEIVED_LINE))
        .scalar_subquery()
    )
    none = {name: cast(null(), type_) for name, type_ in (
        ("order_count", BigInteger()), ("first", orders.c.paid_at.type),
        ("paid", BigInteger()), ("not_received", BigInteger()),
        ("created_at", d.created_at.type), ("currency", d.currency.type),
        ("amount", d.amount.type), ("refund", d.refund_amount.type), ("body", d.body.type))}
    of_orders = select(
        literal(0).label("part"),
        func.count().label("order_count"),
        func.min(mine.c.paid_at).label("first"),
        paid.label("paid"),
        claims.label("not_received"),
        *(none[c].label(c) for c in ("created_at", "currency", "amount", "refund", "body")),
    ).select_from(mine).where(~any_of(mine.c.order_id, in_test_mode))
    mixed = or_(*(d.request.like(p) for p in SHOP_FAULT_LINES))
    counted = (
        select(
            literal(1).label("part"),
            *(none[c].label(c) for c in ("order_count", "first", "paid", "not_received")),
            d.created_at,
            d.currency,
            func.coalesce(rv.adjusted_amount, d.amount).label("amount"),
            func.coalesce(rv.adjusted_refund_amount, d.refund_amount).label("refund"),
            # only a request with a line of ours needs its lines' amounts read
            case((mixed, d.body), else_=None).label("body"),
        )
        .select_from(returns)
        .where(*of_theirs, granted, or_(*(d.request.like(p) for p in CUSTOMER_REASON_LINES)))
    )
    return union_all(of_orders, counted)


_HISTORY = {(i, e): _history_query(i, e) for i in (True, False) for e in (True, False) if i or e}


def _customer_share(body: str | None) -> tuple[int, int]:
    """The part of a granted return that counts against the customer, as a fraction: what its
    lines that were not our fault are worth over what all its lines are worth (the decision's
    lines, before fees). A return with no line of ours counts whole."""
    if body is None:
        return 1, 1
    lines = json.loads(body).get("lines") or ()
    whole = sum(int(ln.get("amount", 0)) for ln in lines)
    theirs = sum(int(ln.get("amount", 0)) for ln in lines
                 if ln.get("reason") not in _OUR_FAULT)
    return (theirs, whole) if whole > 0 else (1, 1)


def customer_history(
    conn: Connection, customer: Customer, now: datetime, window_days: int, currency: str
) -> CustomerHistory:
    """The customer's orders, payments and past returns, in one statement of indexed reads.

    Counts (orders, returns, claims) are across currencies; amounts (paid, refunded, credited)
    are only those in ``currency``, the request's: no exchange rates are applied, so a return
    in another currency adds to the counts but not to the ratio or the amounts.
    """
    if not customer.id and not customer.email:
        return CustomerHistory(window_days=window_days)
    email = customer.email or ""
    params = {"cid": customer.id, "email": email, "lower": email.lower(), "cur": currency}
    rows = conn.execute(_HISTORY[(bool(customer.id), bool(customer.email))], params).all()
    [h] = [row for row in rows if row.part == 0]
    since = now - timedelta(days=window_days)
    refunded = credited = recent = recent_amount = credits_recent = credits_recent_amount = 0
    for row in rows:
        if row.part == 0:
            continue
        part, whole = _customer_share(row.body)
        refund = int(row.refund) * part // whole
        credit = (int(row.amount) - int(row.refund)) * part // whole  # without its bonus
        if refund <= 0 and credit <= 0:
            continue  # only our mistakes were paid for
        same = row.currency == currency
        fresh = aware(row.created_at) >= since
        if same:
            refunded, credited = refunded + refund, credited + credit
        if fresh and refund > 0:
            recent += 1
            recent_amount += refund if same else 0
        elif fresh:
            credits_recent += 1
        if fresh and same:
            credits_recent_amount += credit
    return CustomerHistory(
        total_paid=int(h.paid),
        order_count=int(h.order_count),
        first_order_at=aware(h.first),
        total_refunded=refunded,
        refunds_recent_count=recent,
        refunds_recent_amount=recent_amount,
        not_received_claims=int(h.not_received),
        window_days=window_days,
        total_credited=credited,
        credits_recent_count=credits_recent,
        credits_recent_amount=credits_recent_amount,
    )
