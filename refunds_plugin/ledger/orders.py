"""What the ledger learns about orders and payments from incoming events (upserts by key)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from refunds_plugin.domain import Customer, OrderLine
from refunds_plugin.ledger.tables import follow_ups, orders, payments, provider_refunds


def _insert(conn: Connection, table: Any) -> Any:
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


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


def normal_email(email: str | None) -> str | None:
    """Emails are stored lower-cased, so a customer's orders are found through the index."""
    return email.strip().lower() if email else email


_UPSERTS: dict[tuple[str, str], Any] = {}


def _prebuilt(conn: Connection, name: str) -> Any:
    """The dialect's upsert statement, built once; each call binds its own values."""
    stmt = _UPSERTS.get((conn.dialect.name, name))
    if stmt is None:
        ins = _insert(conn, _TABLES[name])
        stmt = _UPSERTS[(conn.dialect.name, name)] = _BUILDERS[name](ins, conn.dialect.name)
    return stmt


def _order_upsert(ins: Any, _dialect: str) -> Any:
    changing = {c.name: ins.excluded[c.name] for c in orders.c if c.name in _ORDER_COLUMNS}
    del changing["order_id"]
    for key in ("paid_at", "fulfilled_at", "delivered_at", "extra", "channel"):
        # a later, thinner event must not erase what we knew
        changing[key] = func.coalesce(ins.excluded[key], orders.c[key])
    return ins.on_conflict_do_update(index_elements=["order_id"], set_=changing)


def _payment_upsert(ins: Any, dialect: str) -> Any:
    bigger = func.max if dialect == "sqlite" else func.greatest
    return ins.on_conflict_do_update(
        index_elements=["provider", "reference"],
        set_={
            "captured": bigger(payments.c.captured, ins.excluded.captured),
            "order_id": func.coalesce(payments.c.order_id, ins.excluded.order_id),
            "charge_id": func.coalesce(payments.c.charge_id, ins.excluded.charge_id),
            "customer_id": func.coalesce(payments.c.customer_id, ins.excluded.customer_id),
            "customer_email": func.coalesce(
                payments.c.customer_email, ins.excluded.customer_email
            ),
            "status": case((payments.c.status == "disputed", "disputed"), else_="succeeded"),
            "updated_at": ins.excluded.updated_at,
        },
    )


_ORDER_COLUMNS = (
    "order_id", "source", "currency", "total_amount", "shipping_amount", "customer_id",
    "customer_email", "paid_at", "fulfilled_at", "delivered_at", "lines", "channel", "extra",
    "updated_at",
)  # fmt: skip
_TABLES = {"order": orders, "payment": payments}
_BUILDERS = {"order": _order_upsert, "payment": _payment_upsert}


def upsert_order(conn: Connection, rec: OrderRecord, now: datetime) -> None:
    values = {
        "order_id": rec.order_id,
        "source": rec.source,
        "currency": rec.currency,
        "total_amount": rec.total_amount,
        "shipping_amount": rec.shipping_amount,
        "customer_id": rec.customer.id,
        "customer_email": normal_email(rec.customer.email),
        "paid_at": rec.paid_at,
        "fulfilled_at": rec.fulfilled_at,
        "delivered_at": rec.delivered_at,
        "lines": json.dumps([asdict(ln) for ln in rec.lines], sort_keys=True),
        "channel": rec.channel,
        "extra": json.dumps(rec.extra, sort_keys=True) if rec.extra is not None else None,
        "updated_at": now,
    }
    conn.execute(_prebuilt(conn, "order"), values)


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
    charge_id: str | None = None,
) -> None:
    """Record a succeeded payment; a redelivery or a later event for it never lowers it."""
    conn.execute(
        _prebuilt(conn, "payment"),
        {
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
        },
    )


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


def mark_disputed(conn: Connection, provider: str, reference: str, now: datetime) -> bool:
    res = conn.execute(
        update(payments)
        .where(payments.c.provider == provider, payments.c.reference == reference)
        .values(status="disputed", updated_at=now)
    )
    return res.rowcount == 1


def find_payment_by_charge(conn: Connection, provider: str, charge_id: str) -> str | None:
    return conn.execute(
        select(payments.c.reference).where(
            payments.c.provider == provider, payments.c.charge_id == charge_id
        )
    ).scalar_one_or_none()


def upsert_provider_refund(
    conn: Connection,
    *,
    provider: str,
    refund_id: str,
    payment_reference: str | None,
    order_id: str | None,
    attempt_id: str | None,
    currency: str,
    amount: int,
    status: str,
    now: datetime,
) -> None:
    stmt = _insert(conn, provider_refunds).values(
        provider=provider,
        refund_id=refund_id,
        payment_reference=payment_reference,
        order_id=order_id,
        attempt_id=attempt_id,
        currency=currency,
        amount=amount,
        status=status,
        updated_at=now,
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["provider", "refund_id"],
            set_={
                "status": stmt.excluded.status,
                "amount": stmt.excluded.amount,
                # the attempt named now: a retry re-requesting a failed Saleor grant takes it
                # over from the attempt it replaces; an event naming none keeps the known one
                "attempt_id": func.coalesce(
                    stmt.excluded.attempt_id, provider_refunds.c.attempt_id
                ),
                "updated_at": now,
            },
        )
    )


def open_follow_up(
    conn: Connection,
    *,
    kind: str,
    order_id: str,
    payment_reference: str | None,
    currency: str | None,
    amount: int | None,
    customer_email: str | None,
    detail: str,
    now: datetime,
) -> None:
    stmt = _insert(conn, follow_ups).values(
        kind=kind,
        order_id=order_id,
        payment_reference=payment_reference,
        currency=currency,
        amount=amount,
        customer_email=customer_email,
        detail=detail,
        status="open",
        created_at=now,
    )
    conn.execute(stmt.on_conflict_do_nothing())


_CLEAR_FOLLOW_UPS = (
    update(follow_ups)
    .where(follow_ups.c.order_id == bindparam("oid"), follow_ups.c.status == "open")
    .values(status="cleared", cleared_at=bindparam("now"))
)


def clear_follow_ups(conn: Connection, order_id: str, now: datetime) -> int:
    return int(conn.execute(_CLEAR_FOLLOW_UPS, {"oid": order_id, "now": now}).rowcount)
