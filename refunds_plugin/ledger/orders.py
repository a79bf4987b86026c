"""What the ledger learns about orders and payments from incoming events (upserts by key).

One payment is one ``payments`` row whichever of its names arrives first: Stripe calls the same
money by its PaymentIntent (``pi_…``) and by its charge (``ch_…``/``py_…``), and a storefront may
name either. ``record_payment`` finds the row the other name made (``payment_row``) and records
into it, so the detectors never see one payment as two.

An order's currency never changes once recorded: its amounts, its payments and every refund of
it are in that currency. ``upsert_order`` refuses content in another one (``CurrencyChanged``,
409 ``currency_changed``) and writes nothing, whoever sends it (a storefront's re-sent
``order.paid``, a Saleor re-query).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, func, or_, select, union, update
from sqlalchemy.dialects import postgresql, sqlite

from refunds_plugin.domain.facts import Customer, OrderLine
from refunds_plugin.errors import CurrencyChanged
from refunds_plugin.ledger import money_entries, seal
from refunds_plugin.ledger.db import aware, dialect_insert, lock_key, lock_order
from refunds_plugin.ledger.inserts import AlreadyThere, first_then
from refunds_plugin.ledger.journal import insert_ignore, plain
from refunds_plugin.ledger.line_index import customer_key, index_order, mark_test_mode_order
from refunds_plugin.ledger.tables import orders, payments, provider_refunds

CHARGE_PREFIXES = ("ch_", "py_")  # Stripe's names for a charge (py_: some payment methods)


@dataclass(frozen=True)
class OrderRecord:
    order_id: str
    source: str
    currency: str
    lines: tuple[OrderLine, ...]
    shipping_amount: int
    total_amount: int
    customer: Customer
    paid_at: datetime | None = None
    fulfilled_at: datetime | None = None
    delivered_at: datetime | None = None
    channel: str | None = None
    extra: dict[str, Any] | None = None
    locale: str | None = None  # the customer's language tag ("de-AT"), when the order says


def normal_email(email: str | None) -> str | None:
    """Emails are stored lower-cased, so a customer's orders are found through the index."""
    return email.strip().lower() if email else email


_UPSERTS: dict[tuple[str, str], Any] = {}


def _prebuilt(conn: Connection, name: str) -> Any:
    """The dialect's upsert statement, built once; each call binds its own values."""
    stmt = _UPSERTS.get((conn.dialect.name, name))
    if stmt is None:
        # inline: no RETURNING of a generated id nobody reads (PostgreSQL)
        ins = dialect_insert(conn, _TABLES[name]).inline()
        stmt = _UPSERTS[(conn.dialect.name, name)] = _BUILDERS[name](ins, conn.dialect.name)
    return stmt


def _order_upsert(ins: Any, _dialect: str) -> Any:
    changing = {c.name: ins.excluded[c.name] for c in orders.c if c.name in _ORDER_COLUMNS}
    del changing["order_id"]
    for key in ("paid_at", "fulfilled_at", "delivered_at", "extra", "channel", "locale"):
        # a later, thinner event must not erase what we knew
        changing[key] = func.coalesce(ins.excluded[key], orders.c[key])
    # the currency stays what was recorded: content in another one updates nothing, and
    # returns no row (RETURNING, not rowcount: psycopg reports -1 for it)
    return ins.on_conflict_do_update(index_elements=["order_id"], set_=changing,
                                     where=orders.c.currency == ins.excluded.currency
                                     ).returning(orders.c.order_id)


def _payment_journalled(_ins: Any, dialect: str) -> Any:
    """The payment's upsert with its journal entry (``money_entries``): on PostgreSQL one
    statement returning the entry's seq when one was written; on SQLite the upsert returning
    the row it leaves."""
    if dialect != "postgresql":
        return _payment_upsert(sqlite.insert(payments), dialect).returning(
            *(payments.c[n] for n in money_entries.PAYMENT_FIELDS))
    # the values as a SELECT that reads the prior row first (locked): compared with the result
    counted = select(func.count()).select_from(money_entries.prior_cte()).subquery()
    values = select(*(bindparam(c, type_=payments.c[c].type) for c in _PAYMENT_COLUMNS)
                    ).select_from(counted)
    ins = postgresql.insert(payments).from_select(list(_PAYMENT_COLUMNS), values)
    return money_entries.payment_statement(_payment_upsert(ins, dialect))


def _payment_upsert(ins: Any, dialect: str) -> Any:
    bigger = func.max if dialect == "sqlite" else func.greatest
    return ins.on_conflict_do_update(
        index_elements=["provider", "reference"],
        set_={
            # the provider's own word on what it captured wins (a partial capture is less than
            # the storefront's total: refunding the total would be refused); until it has
            # spoken, the larger claim stands (several storefront events, no provider yet)
            "captured": case(
                (and_(ins.excluded.confirmed_at.is_not(None), ins.excluded.captured > 0),
                 ins.excluded.captured),
                (payments.c.confirmed_at.is_not(None), payments.c.captured),
                else_=bigger(payments.c.captured, ins.excluded.captured)),
            "order_id": func.coalesce(payments.c.order_id, ins.excluded.order_id),
            "charge_id": func.coalesce(payments.c.charge_id, ins.excluded.charge_id),
            "customer_id": func.coalesce(payments.c.customer_id, ins.excluded.customer_id),
            "customer_email": func.coalesce(
                payments.c.customer_email, ins.excluded.customer_email
            ),
            "status": case((payments.c.status == "disputed", "disputed"), else_="succeeded"),
            # confirmed once by the provider stays confirmed
            "confirmed_at": func.coalesce(payments.c.confirmed_at, ins.excluded.confirmed_at),
            # the provider's latest word on its mode; a write that says none (a storefront's)
            # leaves it as it was
            "livemode": func.coalesce(ins.excluded.livemode, payments.c.livemode),
            "updated_at": ins.excluded.updated_at,
        },
        # a storefront's unconfirmed word never touches a payment another order holds (its
        # captured amount is not raised): ``trouble.payment_owners`` tells a person instead;
        # the provider's own event (confirmed) still updates it
        where=or_(payments.c.order_id.is_(None), ins.excluded.order_id.is_(None),
                  payments.c.order_id == ins.excluded.order_id,
                  ins.excluded.confirmed_at.is_not(None)),
    )


_ORDER_COLUMNS = (
    "order_id", "source", "currency", "total_amount", "shipping_amount", "customer_id",
    "customer_email", "paid_at", "fulfilled_at", "delivered_at", "lines", "channel", "extra",
    "updated_at", "locale",
)  # fmt: skip
_PAYMENT_COLUMNS = (
    "provider", "reference", "order_id", "currency", "captured", "refunded_reported", "status",
    "customer_id", "customer_email", "charge_id", "created_at", "updated_at", "confirmed_at",
    "livemode",
)  # fmt: skip
_TABLES = {"order": orders, "payment": payments}
_BUILDERS = {"order": _order_upsert, "payment": _payment_journalled}


def upsert_order(conn: Connection, rec: OrderRecord, now: datetime) -> None:
    """Store the order, new or known; ``CurrencyChanged`` if it is known in another currency."""
    if conn.execute(_prebuilt(conn, "order"), _order_values(rec, now)).scalar() is None:
        was = conn.execute(select(orders.c.currency)
                           .where(orders.c.order_id == rec.order_id)).scalar()
        raise CurrencyChanged(
            f"order {rec.order_id} is recorded in {was}; this content says {rec.currency}. An "
            "order's currency never changes, so nothing of it was recorded: refund or cancel "
            "the order in the shop and send the new one under a new order id")
    _index(conn, rec, now)


def forget_fulfilled(conn: Connection, order_id: str, now: datetime) -> None:
    """The order has no shipping date after all (its only parcel never left): ``upsert_order``
    keeps a stored date when new content has none, so it is cleared here."""
    conn.execute(update(orders).where(orders.c.order_id == order_id)
                 .values(fulfilled_at=None, updated_at=now))


def insert_order(conn: Connection, rec: OrderRecord, now: datetime) -> bool:
    """Store an order not seen before, as ``upsert_order`` would; False (nothing written) when
    the order is known: the caller compares and upserts it then."""
    values = _order_values(rec, now)
    if conn.dialect.name == "postgresql":  # its row and its index rows: one statement
        try:
            with first_then(conn, orders, values) as first:
                _index(conn, rec, now, new=True)
        except AlreadyThere:  # a statement inside found the order there: a known order
            return False
        return first.inserted
    if not insert_ignore(conn, orders, values):
        return False
    _index(conn, rec, now, new=True)
    return True


def _index(conn: Connection, rec: OrderRecord, now: datetime, new: bool = False) -> None:
    index_order(conn, order_id=rec.order_id, currency=rec.currency, lines=rec.lines,
                total=rec.total_amount, paid_at=rec.paid_at,
                customer=customer_key(rec.customer.email, rec.customer.id), now=now, new=new,
                journal=True)


def _order_values(rec: OrderRecord, now: datetime) -> dict[str, Any]:
    return {
        "order_id": rec.order_id,
        "source": rec.source,
        "currency": rec.currency,
        "total_amount": rec.total_amount,
        "shipping_amount": rec.shipping_amount,
        "customer_id": rec.customer.id,
        "customer_email": normal_email(rec.customer.email),
        # the same moment in UTC: SQLite keeps a time without its offset, so 23:30-05:00 kept
        # as sent would read back as 23:30 UTC
        "paid_at": _utc(rec.paid_at),
        "fulfilled_at": _utc(rec.fulfilled_at),
        "delivered_at": _utc(rec.delivered_at),
        "lines": json.dumps([plain(ln) for ln in rec.lines], sort_keys=True),
        "channel": rec.channel,
        "extra": json.dumps(rec.extra, sort_keys=True) if rec.extra is not None else None,
        "updated_at": now,
        "locale": rec.locale,
    }


def _utc(when: datetime | None) -> datetime | None:
    return None if when is None else aware(when).astimezone(UTC)


def lock_payment(conn: Connection, provider: str, reference: str) -> None:
    """Serialise with the money checks of the payment's order (``lock_order``); a payment no
    order names yet is locked by itself."""
    if conn.dialect.name != "postgresql":
        return  # SQLite: the one writer holds the write lock already
    order_id = conn.execute(
        select(payments.c.order_id).where(
            payments.c.provider == provider, payments.c.reference == reference)
    ).scalar()
    if order_id is not None:
        lock_order(conn, order_id)
    else:
        lock_key(conn, "payment", provider, reference)


def payment_row(
    conn: Connection, provider: str, reference: str | None, charge_id: str | None = None
) -> str | None:
    """The reference of the row that already holds this payment under either of its names:
    its own ``reference`` first, then a row that knows ``charge_id`` (or ``reference``) as its
    charge or was named by it. None: this payment is new."""
    names = [n for n in (reference, charge_id) if n]
    if not names:
        return None
    p = payments.c
    # two index searches, by reference and by charge (an OR of the two is, without statistics,
    # a read of every payment the provider has), the same rows in the same order
    both = union(*(select(p.reference, p.created_at, p.id).where(
        p.provider == provider, column.in_(names)) for column in (p.reference, p.charge_id))
    ).subquery()
    rows = conn.execute(select(both.c.reference).order_by(both.c.created_at, both.c.id)
                        ).scalars().all()
    if reference in rows:
        return reference
    return rows[0] if rows else None


def record_payment(
    conn: Connection,
    *,
    provider: str,
    reference: str,
    order_id: str | None,
    currency: str,
    captured: int,
    customer: Customer,
    now: datetime,
    confirmed: bool,
    charge_id: str | None = None,
    livemode: bool | None = None,
) -> str:
    """Record a succeeded payment; a redelivery or a later event for it never lowers it.

    ``confirmed``: the provider itself said so (a Stripe event, a Saleor order read from
    Saleor), not only a storefront's ``order.paid``. ``livemode``: the mode the provider
    captured it in, when it says (False: Stripe's test mode, no real money taken). Returns the
    reference the payment is recorded under: the row another of its names made first, if any.
    """
    if provider == "stripe" and charge_id is None and reference.startswith(CHARGE_PREFIXES):
        charge_id = reference  # a storefront named the payment by its charge
    if charge_id is not None:
        # the two names of one payment may arrive at once: look and write under its lock
        lock_key(conn, "charge", provider, charge_id)
        reference = payment_row(conn, provider, reference, charge_id) or reference
    values = {
        "provider": provider,
        "reference": reference,
        "order_id": order_id,
        "currency": currency,
        "captured": captured,
        "refunded_reported": 0,
        "status": "succeeded",
        "customer_id": customer.id,
        "customer_email": normal_email(customer.email),
        "charge_id": charge_id,
        "created_at": now,
        "updated_at": now,
        "confirmed_at": now if confirmed else None,
        "livemode": livemode,
    }
    stmt = _prebuilt(conn, "payment")
    if conn.dialect.name == "postgresql":  # the entry, when one is due, in the same statement
        seq, owner = conn.execute(stmt, values).one()
        if seq is not None:
            seal.pending(conn, int(seq))
    else:
        before = money_entries.prior_payment(conn, provider, reference)
        after = conn.execute(stmt, values).one_or_none()  # None: another order holds it
        if after is not None:
            money_entries.journal_payment(conn, before, after, now)
        owner = None if after is None else after.order_id
    if owner is not None:  # what the row says now, in this transaction: no read for it
        money_entries.remember_owner(conn, provider, reference, owner)
        if livemode is not None:  # the insights leave out sales paid only in test mode
            mark_test_mode_order(conn, str(owner))
    return reference


def report_refunded(
    conn: Connection, provider: str, reference: str, cumulative: int, now: datetime
) -> bool:
    """Raise the provider-reported cumulative refunded amount (it only ever grows)."""
    res = conn.execute(
        update(payments)
        .where(
            payments.c.provider == provider,
            payments.c.reference == reference,
            payments.c.refunded_reported < cumulative,
        )
        .values(refunded_reported=cumulative, updated_at=now)
    )
    return res.rowcount == 1


def set_refunded(
    conn: Connection, provider: str, reference: str, cumulative: int, now: datetime
) -> bool:
    """Set the provider-reported cumulative refunded amount to what the provider says now; it
    can go down (a refund that fails after it was counted). False when nothing changed."""
    res = conn.execute(
        update(payments)
        .where(
            payments.c.provider == provider,
            payments.c.reference == reference,
            payments.c.refunded_reported != cumulative,
        )
        .values(refunded_reported=cumulative, updated_at=now)
    )
    return res.rowcount == 1


def set_order_number(conn: Connection, order_id: str, number: str) -> None:
    """The number the shop shows the customer (Saleor's ``number``), what /returns looks up."""
    conn.execute(update(orders).where(orders.c.order_id == order_id).values(order_number=number))


def link_payment(
    conn: Connection, provider: str, reference: str, created: datetime | None
) -> str | None:
    """After a payment is recorded: take the provider's time and link early refunds to its order.

    The provider's creation time orders payments (the first is the legitimate one) whatever
    order their events arrive in. A refund event that arrived before its payment was stored
    without an order; linking it lets the trouble detectors count it. Returns the order id.
    """
    if created is not None:
        conn.execute(
            update(payments)
            .where(
                payments.c.provider == provider,
                payments.c.reference == reference,
                payments.c.created_at > created,
            )
            .values(created_at=created)
        )
    order_id = conn.execute(
        select(payments.c.order_id).where(
            payments.c.provider == provider, payments.c.reference == reference
        )
    ).scalar_one_or_none()
    if order_id is None:
        return None
    conn.execute(
        update(provider_refunds)
        .where(
            provider_refunds.c.provider == provider,
            provider_refunds.c.payment_reference == reference,
            provider_refunds.c.order_id.is_(None),
        )
        .values(order_id=order_id)
    )
    return str(order_id)
