"""Gathering what the policy needs to know about an order and its customer from the ledger.

Refundable money is computed conservatively: what the provider reported refunded and what our
own live attempts hold (also those whose outcome is unknown) are both counted, so two requests
racing can never exceed what was captured (the caller holds the ledger lock while it decides).
Only an open refund of ours that the provider's report is known to count (Stripe sent the
report because of it, or listed it: ``counted_by_provider``) is counted once, as pending.
An attempt counts what its provider was asked for once that is known (``sent_amount``: less
than its amount where Saleor clamped the request), else its amount.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    Connection,
    and_,
    bindparam,
    cast,
    func,
    literal,
    null,
    select,
    union_all,
)

from refunds_plugin.domain.facts import (
    Customer,
    OrderFacts,
    OrderLine,
    PaymentFacts,
)
from refunds_plugin.domain.kinds import RESERVED, AttemptStatus
from refunds_plugin.ledger.db import aware
from refunds_plugin.ledger.history import _HISTORY, _fixed, customer_history  # noqa: F401
from refunds_plugin.ledger.provider_refunds import NOT_REFUNDED
from refunds_plugin.ledger.tables import (
    decisions,
    orders,
    payments,
    provider_refunds,
    refund_attempts,
)
from refunds_plugin.money import refund_increment


def _lines(raw: str) -> tuple[OrderLine, ...]:
    out = []
    for item in json.loads(raw):
        out.append(OrderLine.from_dict(item))
    return tuple(out)


# Built once with bound parameters: building a statement and its cache key on every call cost
# more Python time than SQLite spent running it.
_OID: BindParameter[str] = bindparam("oid")
_RA, _PR = refund_attempts.c, provider_refunds.c


def _refunds_of_payment(*where: Any) -> Any:
    """What our attempts (``where``) hold against the payment row of the outer query: each
    what its provider was asked for, once known (a refund Saleor clamped asked for less)."""
    return (
        select(func.coalesce(func.sum(func.coalesce(_RA.sent_amount, _RA.amount)), 0))
        .where(_RA.order_id == _OID, _RA.payment_reference == payments.c.reference)
        .where(_RA.kind == "refund", *where)
        .scalar_subquery()
    )


# one row per payment with what is refunded and pending against it, in one statement
_PAYMENTS = (
    select(
        payments.c.provider,
        payments.c.reference,
        payments.c.captured,
        payments.c.refunded_reported,
        payments.c.status,
        payments.c.currency,
        _refunds_of_payment(_RA.status == AttemptStatus.SUCCEEDED).label("done"),
        # "unknown": the provider may have paid (it gave no answer), so it stays reserved
        _refunds_of_payment(_RA.status.in_(_fixed(RESERVED))).label("open"),
        # of those, what the provider's reported total already counts (a pending Stripe refund
        # is in ``amount_refunded``): pending, so not also refunded
        _refunds_of_payment(_RA.status.in_(_fixed(RESERVED)),
                            _RA.counted_by_provider.is_(True)).label("counted"),
        select(func.coalesce(func.sum(_PR.amount), 0))  # refunds made outside this service
        .where(
            _PR.order_id == _OID,
            _PR.payment_reference == payments.c.reference,
            _PR.attempt_id.is_(None),
            _PR.status.not_in(_fixed(NOT_REFUNDED)),  # nor a released rest
        )
        .scalar_subquery()
        .label("external"),
    )
    .where(payments.c.order_id == _OID, payments.c.status != "failed")
    .order_by(payments.c.created_at, payments.c.id)
)
FALLBACK_KEY = "exchange-fallback:"  # an unpaid exchange decided as a refund or credit instead
# the order row with each earlier return that counts (approved, or waiting for review): one row
# per return, the order's columns repeated; one row with no return when there is none
_ORDER = (
    select(orders, decisions.c.body.label("returned_body"),
           decisions.c.request_key.label("returned_key"))
    .select_from(orders.outerjoin(decisions, and_(
        decisions.c.order_id == orders.c.order_id,
        decisions.c.kind == "return",
        decisions.c.outcome.in_(_fixed(("approve", "review"))),
    )))
    .where(orders.c.order_id == _OID)
)



def _padded(part: int, named: dict[str, Any], like: list[Any]) -> Any:
    """``part``'s columns in ``like``'s order and labels: its own where ``named`` has them,
    else a NULL of the column's type."""
    return [literal(part).label("part"), *(
        (named[c.name] if c.name in named else cast(null(), c.type)).label(c.name)
        for c in like)]


# ``_ORDER``'s rows (``part`` 0) and ``_PAYMENTS``' (``part`` 1, in their order) in one
# statement (one round trip on PostgreSQL, not two); each part's columns NULL in the other's
# rows, except ``currency``: the order's in its rows, each payment's in its own
_PAY = {c.name: c for c in _PAYMENTS.selected_columns}
_ORDER_COLUMNS = list(_ORDER.selected_columns)
_LIKE = [*_ORDER_COLUMNS, *(c for c in _PAYMENTS.selected_columns if c.name != "currency"),
         payments.c.created_at.label("pay_at"), payments.c.id.label("pay_id")]
_BOTH = union_all(
    _ORDER.with_only_columns(*_padded(0, {c.name: c for c in _ORDER_COLUMNS}, _LIKE)),
    _PAYMENTS.with_only_columns(*_padded(1, {**_PAY, "pay_at": payments.c.created_at,
                                              "pay_id": payments.c.id}, _LIKE))
    .order_by(None),
).order_by("part", "pay_at", "pay_id")


def _order_and_payments(conn: Connection, order_id: str
                        ) -> tuple[list[Any], list[Any]]:
    """``_ORDER``'s rows and ``_PAYMENTS``' rows of the order, read in one statement."""
    both = conn.execute(_BOTH, {"oid": order_id}).all()
    return [r for r in both if r.part == 0], [r for r in both if r.part == 1]

def payment_facts(conn: Connection, order_id: str) -> tuple[PaymentFacts, ...]:
    return _payments(conn, order_id)[0]


def _payments(
    conn: Connection, order_id: str
) -> tuple[tuple[PaymentFacts, ...], dict[str, str]]:
    return _payments_of(conn.execute(_PAYMENTS, {"oid": order_id}).all())


def _payments_of(rows: Sequence[Any]) -> tuple[tuple[PaymentFacts, ...], dict[str, str]]:
    """The order's payments as facts, and the currency each was taken in (by reference)."""
    result = []
    currencies: dict[str, str] = {}
    for row in rows:
        captured = int(row.captured)
        # what the provider reports, less our open refunds it counts (pending below), or
        # what we know was refunded, whichever is more
        refunded = max(int(row.refunded_reported) - int(row.counted),
                       int(row.done) + int(row.external))
        currencies[row.reference] = row.currency
        result.append(
            PaymentFacts(
                provider=row.provider,
                reference=row.reference,
                captured=captured,
                refunded=min(refunded, captured),
                pending=int(row.open),
                disputed=row.status == "disputed",
            )
        )
    return tuple(result), currencies


def _returned(rows: Sequence[Any]) -> tuple[tuple[tuple[str, int], ...], int]:
    """Quantities already returned (approved or waiting for review) and shipping refunded,
    from ``_ORDER``'s rows."""
    qty: dict[str, int] = {}
    shipping = 0
    for row in rows:
        body, key = row.returned_body, row.returned_key
        if key is None:  # the order has no return yet
            continue
        if key.startswith(FALLBACK_KEY):  # the exchange it replaces counted these units
            continue
        data = json.loads(body)
        for line in data.get("lines", ()):
            qty[line["line_id"]] = qty.get(line["line_id"], 0) + int(line["quantity"])
        shipping += int(data.get("shipping_refund", 0))
    return tuple(sorted(qty.items())), shipping


def step_for(pays: tuple[PaymentFacts, ...], currency: str) -> int:
    """The step card refunds must go in for this order (Stripe: tens of fils for KWD)."""
    return max((refund_increment(p.provider, currency) for p in pays), default=1)


@dataclass(frozen=True)
class OrderSeen:
    """The rest of the order row the facts were read from, for the decision's other writers in
    the same transaction (its return's address, its messages' number, item names and language,
    the currency each payment was taken in), so they need not read the rows again."""

    order_number: str | None
    lines: str | None  # as stored (JSON)
    locale: str | None
    extra: str | None  # as stored (JSON)
    # the currency of each payment the facts hold, by reference (``ledger.decisions``' guard)
    currencies: Mapping[str, str] = field(default_factory=dict)

    def extra_dict(self) -> dict[str, Any]:
        return json.loads(self.extra) if self.extra else {}


def load_facts(
    conn: Connection, order_id: str, now: datetime, window_days: int = 90
) -> OrderFacts | None:
    found = read_order(conn, order_id, now, window_days)
    return None if found is None else found[0]


@dataclass(frozen=True)
class ReadBefore:
    """An order read before its write transaction, and what was made of it: on SQLite, whose
    write lock is the whole database's, the decision's facts are read and its policy run before
    the lock (``intake.service``). Inside, ``read_order(..., before=)`` reads the order's own
    rows again and, when they are what was read before, returns these facts as they are. The
    customer's history then stands as read before the lock: a decision on another of their
    orders committed in between is not in it, as on PostgreSQL, where the lock is the order's."""

    order_id: str
    now: datetime
    window_days: int
    rows: tuple[tuple[Any, ...], ...]  # ``_ORDER``'s and ``_PAYMENTS``' rows, as read
    pays: tuple[tuple[Any, ...], ...]
    found: tuple[OrderFacts, OrderSeen]

    def holds(self, order_id: str, now: datetime, window_days: int, rows: Sequence[Any],
              pays: Sequence[Any]) -> bool:
        return (order_id, now, window_days) == (self.order_id, self.now, self.window_days) \
            and _plain(rows) == self.rows and _plain(pays) == self.pays


def _plain(rows: Sequence[Any]) -> tuple[tuple[Any, ...], ...]:
    return tuple(tuple(r) for r in rows)


def read_before(
    conn: Connection, order_id: str, now: datetime, window_days: int
) -> ReadBefore | None:
    """``read_order``, keeping the rows it was made of (``ReadBefore``); None: no such order."""
    rows, pays = _order_and_payments(conn, order_id)
    if not rows:
        return None
    return ReadBefore(order_id, now, window_days, _plain(rows), _plain(pays),
                      _made(conn, rows, pays, now, window_days))


def read_order(
    conn: Connection, order_id: str, now: datetime, window_days: int = 90,
    before: ReadBefore | None = None,
) -> tuple[OrderFacts, OrderSeen] | None:
    """``load_facts``, and what else the order row said (``OrderSeen``). ``before``: the order
    as read before this transaction; its facts (the very objects) when its rows are unchanged."""
    rows, pays = _order_and_payments(conn, order_id)
    if not rows:
        return None
    if before is not None and before.holds(order_id, now, window_days, rows, pays):
        return before.found
    return _made(conn, rows, pays, now, window_days)


def _made(conn: Connection, rows: Sequence[Any], pay_rows: Sequence[Any], now: datetime,
          window_days: int) -> tuple[OrderFacts, OrderSeen]:
    row = rows[0]
    customer = Customer(id=row.customer_id, email=row.customer_email)
    returned, shipping_refunded = _returned(rows)
    pays, currencies = _payments_of(pay_rows)
    # payments no app can refund (a Saleor transaction staff recorded): saleor.order says why
    blocked = (json.loads(row.extra).get("unrefundable") or {}) if row.extra else {}
    if blocked:
        pays = tuple(replace(p, blocked=blocked.get(p.reference)) for p in pays)
    facts = OrderFacts(
        order_id=row.order_id,
        currency=row.currency,
        lines=_lines(row.lines),
        shipping_amount=int(row.shipping_amount),
        total_amount=int(row.total_amount),
        customer=customer,
        paid_at=aware(row.paid_at),
        fulfilled_at=aware(row.fulfilled_at),
        delivered_at=aware(row.delivered_at),
        payments=pays,
        refund_increment=step_for(pays, row.currency),
        returned_quantities=returned,
        shipping_refunded=shipping_refunded,
        history=customer_history(conn, customer, now, window_days, row.currency),
        source=row.source,
        channel=row.channel,
    )
    return facts, OrderSeen(row.order_number, row.lines, row.locale, row.extra, currencies)


def facts_for(conn: Connection, order_id: str, now: datetime, window_days: int) -> OrderFacts:
    """The order's facts; for a payment-only order (no storefront total yet), what we know."""
    found = load_facts(conn, order_id, now, window_days)
    if found is not None:
        return found
    pays = payment_facts(conn, order_id)
    first = conn.execute(
        select(payments.c.currency, payments.c.customer_id, payments.c.customer_email)
        .where(payments.c.order_id == order_id, payments.c.status != "failed")
        .order_by(payments.c.created_at, payments.c.reference)
        .limit(1)
    ).one()
    customer = Customer(id=first.customer_id, email=first.customer_email)
    return OrderFacts(
        order_id=order_id,
        currency=first.currency,
        lines=(),
        shipping_amount=0,
        total_amount=0,  # not known: only the payments have arrived
        customer=customer,
        payments=pays,
        refund_increment=step_for(pays, first.currency),
        history=customer_history(conn, customer, now, window_days, first.currency),
        source=pays[0].provider if pays else "stripe",
    )


def order_extra(conn: Connection, order_id: str) -> dict[str, Any]:
    raw = conn.execute(select(orders.c.extra).where(orders.c.order_id == order_id)).scalar()
    return json.loads(raw) if raw else {}
