"""What was paid, in the journal: a payment's captured amount and an order's total.

``refunds ledger verify`` holds rows up to their newest entry; the captured amount caps every
refund and feeds the finance summary, so it is journalled like a decision. A payment's
``payment_captured`` entry (subject ``provider:reference``; body: provider, reference, order,
currency, captured, and ``livemode`` once the provider said its mode: revision 0029) is appended
when the payment is first recorded and whenever its captured amount, its order or its mode
changes; an order's ``order_total`` entry (subject ``order:<id>``; body:
order, currency, total) when the order is first recorded and whenever its total or currency
changes. A write that changes none of these appends nothing.

No write reads anything more to know this. On PostgreSQL a payment's upsert, the comparison with
the row it replaces and the entry are one statement (``payment_statement``), and an order's entry
joins the statement that writes its index rows (``line_index.index_order``, which already knows
the total and currency it replaces from the ``customer_orders`` row it deletes). On SQLite, which
cannot hand back a row's old values from an upsert, ``record_payment`` looks the payment up first
(an in-process index lookup: no round trip), and entries are chained as they are written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Text, bindparam, case, cast, func, literal, or_, select, true
from sqlalchemy.dialects import postgresql

from refunds_plugin.ledger import seal
from refunds_plugin.ledger.chain import canonical
from refunds_plugin.ledger.db import recall, remember
from refunds_plugin.ledger.inserts import Rows
from refunds_plugin.ledger.journal import append_entries
from refunds_plugin.ledger.tables import ledger_entries, payments

PAYMENT = "payment_captured"  # subject ``provider:reference``
ORDER = "order_total"  # subject ``order:<order_id>``
PAYMENT_FIELDS = ("provider", "reference", "order_id", "currency", "captured", "livemode")
ORDER_FIELDS = ("order_id", "currency", "total_amount")


def payment_subject(provider: str, reference: str) -> str:
    return f"{provider}:{reference}"


def payment_body(provider: str, reference: str, order_id: str | None, currency: str,
                 captured: int, livemode: bool | None = None) -> dict[str, Any]:
    """The entry's body; ``livemode`` only once known (False: Stripe's test mode), so a
    payment whose mode nobody said is journalled as before revision 0029."""
    body = {"provider": provider, "reference": reference, "order_id": order_id,
            "currency": currency, "captured": int(captured)}
    return body if livemode is None else {**body, "livemode": bool(livemode)}


def order_subject(order_id: str) -> str:
    return f"order:{order_id}"


def order_rows(conn: Connection, order_id: str, currency: str, total: int,
               was: tuple[str, int] | None, now: datetime) -> Rows:
    """The order's ``order_total`` entry when ``(currency, total)`` is not what it ``was``
    (None: not known before): on PostgreSQL as rows for the caller's ``insert_rows`` batch (the
    transaction is then marked as having entries to seal); on SQLite appended (and chained) now,
    leaving no rows."""
    if was == (currency, int(total)):
        return ledger_entries, []
    body = {"order_id": order_id, "currency": currency, "total_amount": int(total)}
    entry = (ORDER, order_subject(order_id), body)
    if conn.dialect.name != "postgresql":
        append_entries(conn, [entry], now)
        return ledger_entries, []
    seal.pending(conn, 0)  # inserted by the caller's statement, which returns no seq
    return ledger_entries, [{"entry_type": ORDER, "subject_id": entry[1],
                             "body": canonical(body), "created_at": now}]


# --- payments --------------------------------------------------------------------------------

_PRIOR = select(payments.c.captured, payments.c.order_id, payments.c.livemode).where(
    payments.c.provider == bindparam("provider"), payments.c.reference == bindparam("reference"))


def prior_payment(conn: Connection, provider: str, reference: str
                  ) -> tuple[int, Any, Any] | None:
    """SQLite: the payment's captured amount, order and mode before the upsert (None: new)."""
    row = conn.execute(_PRIOR, {"provider": provider, "reference": reference}).first()
    return None if row is None else (int(row.captured), row.order_id, row.livemode)


def journal_payment(conn: Connection, before: tuple[int, Any, Any] | None, after: Any,
                    now: datetime) -> None:
    """SQLite: append the entry when the upsert's result (``after``: the row it returned)
    differs from ``before`` in captured amount, order or mode."""
    if before == (int(after.captured), after.order_id, after.livemode):
        return
    body = payment_body(after.provider, after.reference, after.order_id, after.currency,
                        after.captured, after.livemode)
    append_entries(conn, [(PAYMENT, payment_subject(after.provider, after.reference), body)], now)


def payment_statement(upsert: Any) -> Any:
    """PostgreSQL: ``upsert`` (the payment's ``INSERT … ON CONFLICT DO UPDATE`` over a SELECT of
    the bound values from ``prior_cte()``) and, when the row it leaves differs from the one it
    found in captured amount, order or mode, the payment's entry: one statement, returning one
    row: the entry's ``seq`` (None: nothing changed) and the order the payment's row names after
    the upsert (None: the upsert left the row as it was, as it does for another order's).

    The prior row is read ``FOR UPDATE``: a concurrent writer of the same payment that commits
    first is waited for and its version is the one compared, the one the upsert updates."""
    up = upsert.returning(*(payments.c[n] for n in PAYMENT_FIELDS)).cte("up")
    prior = _PRIOR_CTE
    p = up.c
    # ``payment_body`` as chain.canonical writes it (sorted keys, no spaces); the hash covers
    # the stored text, so a rarer escape PostgreSQL writes differently changes nothing
    body = func.concat(
        '{"captured":', p.captured,
        ',"currency":', func.to_json(p.currency),
        case((p.livemode.is_(None), ""), (p.livemode, ',"livemode":true'),
             else_=',"livemode":false'),
        ',"order_id":', func.coalesce(cast(func.to_json(p.order_id), Text), "null"),
        ',"provider":', func.to_json(p.provider),
        ',"reference":', func.to_json(p.reference), "}")
    changed = select(
        literal(PAYMENT), func.concat(p.provider, ":", p.reference), body,
        bindparam("created_at", type_=ledger_entries.c.created_at.type),
    ).select_from(up.outerjoin(prior, true())).where(or_(
        prior.c.captured.is_(None),
        prior.c.captured != p.captured,
        prior.c.order_id.is_distinct_from(p.order_id),
        prior.c.livemode.is_distinct_from(p.livemode),
    ))
    entry = (
        postgresql.insert(ledger_entries)
        .from_select(["entry_type", "subject_id", "body", "created_at"], changed)
        .returning(ledger_entries.c.seq)
    ).cte("entry")
    return select(select(entry.c.seq).scalar_subquery().label("seq"),
                  select(p.order_id).scalar_subquery().label("owner"))


_PRIOR_CTE = _PRIOR.with_for_update().cte("prior")


def prior_cte() -> Any:
    """The payment's row as the upsert finds it (locked), for ``payment_statement``."""
    return _PRIOR_CTE


# --- which order a payment's row names, as this transaction wrote it ---------------------------

_OWNERS = "payment_owner_written"  # ``db.remember``: (provider, reference) -> order


def remember_owner(conn: Connection, provider: str, reference: str, owner: str) -> None:
    """``record_payment``: the order the payment's row names after its upsert."""
    remember(conn, _OWNERS, (provider, reference), owner)


def written_owner(conn: Connection, provider: str, reference: str) -> str | None:
    """The order this transaction's ``record_payment`` of this payment left on its row (None:
    not known here, read it). Under the payment's lock, so no other writer changed it since."""
    owner: str | None = recall(conn, _OWNERS, (provider, reference))
    return owner
