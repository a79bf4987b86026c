"""What a Checkout Session's events mean for an exchange: the price difference paid (or the
original's value, for an instant exchange), or the session expired unpaid."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from refunds_plugin.exchanges import difference, dues
from refunds_plugin.exchanges.shipping import announce
from refunds_plugin.ledger import exchanges
from refunds_plugin.ledger.exchange_payments import ENDED_UNPAID
from refunds_plugin.ledger.exchanges import ExchangeRow
from refunds_plugin.money import normalize_currency


def exchange_of(conn: Connection, obj: dict[str, Any]) -> ExchangeRow | None:
    """The exchange a Checkout Session pays for: by the session id we recorded, else by the
    decision id in its metadata (a completion that overtook our own recording of the id)."""
    if dues.is_due_session(obj):  # the original's value, not the difference (``dues``)
        return None
    row = exchanges.by_checkout_session(conn, str(obj.get("id")))
    decision_id = (obj.get("metadata") or {}).get("decision_id")
    if row is None and decision_id:
        row = exchanges.get_exchange(conn, str(decision_id))
    return row


def exchange_note(conn: Connection, obj: dict[str, Any], what: str) -> str:
    due = dues.by_session(conn, obj)
    if due is not None:
        return f"exchange {due.decision_id}: original due checkout session {what}"
    row = exchange_of(conn, obj)
    if row is None:
        return f"checkout session {obj.get('id')} {what}: not one of our exchanges"
    return f"exchange {row.decision_id}: checkout session {what}"


def on_checkout_completed(conn: Connection, obj: dict[str, Any], now: datetime,
                          livemode: bool | None = None) -> str:
    """The difference is paid: the exchange goes on, once however often Stripe says so (one
    that had ended or failed meanwhile keeps the payment recorded, and a fallen-back one gives
    it back: ``difference.late_payment``). Or
    an instant exchange's original value is paid (``dues.settle``), once likewise. Either in
    the mode Stripe made the session in (``livemode``: False is its test mode)."""
    due = dues.by_session(conn, obj)
    if due is not None:
        if obj.get("payment_status") != "paid":
            return f"exchange {due.decision_id}: original due checkout complete but not paid yet"
        currency = normalize_currency(str(obj.get("currency") or due.currency))
        return dues.settle(conn, due, obj, currency, now, livemode)
    row = exchange_of(conn, obj)
    if row is None:
        return f"checkout session {obj.get('id')} completed: not one of our exchanges"
    if obj.get("payment_status") not in ("paid", "no_payment_required"):
        return f"exchange {row.decision_id}: checkout complete but not paid yet"
    currency = normalize_currency(str(obj.get("currency") or row.currency))
    pi = obj.get("payment_intent")
    pi = str((pi.get("id") if isinstance(pi, dict) else pi) or "") or None
    amount = int(obj.get("amount_total") or 0)
    if row.status in ENDED_UNPAID and row.paid_at is None:  # never lost: recorded, refunded
        return difference.late_payment(conn, row, amount, currency, now, livemode, pi)
    note = exchanges.settle_payment(conn, row, amount, currency, now, livemode, pi)
    paid = exchanges.get_exchange(conn, row.decision_id)
    if paid is not None and paid.status in ENDED_UNPAID and paid.paid_at is None:
        # it fell back (sold out) between our read and the guarded UPDATE: still never lost
        return difference.late_payment(conn, paid, amount, currency, now, livemode, pi)
    if paid is not None and paid.status == "ready" and row.status == "awaiting_payment":
        announce(conn, paid, "exchange.ready_to_ship", now)  # ship_on was reached before
    return note
