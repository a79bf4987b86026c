"""A payment's dispute status (``payments.status``): ``disputed`` while the bank holds or took
the money back, ``succeeded`` again once the dispute ended with it the merchant's. What a
provider's dispute events mean is ``stripe.disputes``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, update

from refunds_plugin.ledger.tables import payments


def mark_disputed(conn: Connection, provider: str, reference: str, now: datetime) -> bool:
    res = conn.execute(
        update(payments)
        .where(payments.c.provider == provider, payments.c.reference == reference)
        .values(status="disputed", updated_at=now)
    )
    return res.rowcount == 1


def clear_disputed(conn: Connection, provider: str, reference: str, now: datetime) -> bool:
    """The payment's dispute ended with the money the merchant's: an ordinary payment again.
    False when it was not disputed."""
    res = conn.execute(
        update(payments)
        .where(payments.c.provider == provider, payments.c.reference == reference,
               payments.c.status == "disputed")
        .values(status="succeeded", updated_at=now)
    )
    return res.rowcount == 1
