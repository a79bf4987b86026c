"""An instant exchange's original that never came back: its value becomes due, honestly and
once (``ledger.exchange_dues``).

* ``original_not_back`` (the return's expiry, in its transaction): the amount due is the
  exchanged lines' value less what was already settled (the exchange's own money back that
  waited for the parcel and was canceled: the shop kept it). On a Stripe shop the row waits
  for a Checkout Session (``charging``); elsewhere there is no card through us, so it is
  ``owed``: the merchant's systems hear ``exchange.original_due`` and a follow-up puts it in
  front of a person in finance.
* ``DueCharger.run_once`` (the exchange worker's round): the Checkout Session for exactly that
  amount (key ``refunds-plugin:exchange:<decision>:original-due``), then the customer's
  ``exchange_original_due`` mail with its link; an unpaid link whose original came back after
  all is expired at Stripe (``checkout.Session.expire``).
* ``settle`` (``checkout.session.completed`` for it): paid, once however often Stripe says so.
* ``original_back`` (the original's first scan after the expiry): an unpaid link is expired,
  a paid amount refunded through a refund attempt (the executor's exactly-once path), an owed
  amount and its follow-up cleared.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection, Engine, select

from refunds_plugin.domain.decision import Exchange
from refunds_plugin.domain.kinds import AttemptStatus, paid_out
from refunds_plugin.errors import FinalProviderError, ProviderError
from refunds_plugin.ledger import exchange_dues as dues
from refunds_plugin.ledger.attempts import write_extra_attempt
from refunds_plugin.ledger.db import aware, write_tx
from refunds_plugin.ledger.exchange_dues import SALE, DueRow, seq_is
from refunds_plugin.ledger.exchanges import mode
from refunds_plugin.ledger.tables import orders, refund_attempts
from refunds_plugin.money import Money, written
from refunds_plugin.notify import causes
from refunds_plugin.providers.stripe import (
    CheckoutRequest,
    StripeProvider,
    expire_checkout,
    open_checkout,
)
from refunds_plugin.trouble.follow_ups import clear_original_due, open_follow_up

log = logging.getLogger("refunds.exchanges")
PURPOSE = "original_due"  # the Checkout Session's ``metadata.purpose``
FOLLOW_UP = "exchange_original_due"
REFUND_SEQ = dues.REFUND_SEQ  # the refund attempt of a paid due whose original came back


def amount_due(conn: Connection, decision_id: str, exchange: Exchange) -> int:
    """The exchanged lines' value less what was already settled: what the shop kept of the
    exchange's own money back (``back``): all of an attempt that waited for the parcel and was
    canceled, and the part of a paid one its provider did not pay out (Saleor clamped it to
    what was still charged: ``kinds.paid_out``). Attempts outside the resolutions (a due or a
    difference given back) are no part of ``back``."""
    rows = conn.execute(select(refund_attempts.c.kind, refund_attempts.c.amount,
                               refund_attempts.c.sent_amount, refund_attempts.c.status).where(
        refund_attempts.c.decision_id == decision_id,
        seq_is(refund_attempts.c.seq, SALE),
        refund_attempts.c.status.in_((AttemptStatus.CANCELED, AttemptStatus.SUCCEEDED)))).all()
    kept = sum(int(a.amount) if a.status == AttemptStatus.CANCELED
               else int(a.amount) - paid_out(a.kind, a.amount, a.sent_amount) for a in rows)
    return max(0, exchange.out_amount - min(kept, exchange.back))


def original_not_back(conn: Connection, decision_id: str, order_id: str, currency: str,
                      exchange: Exchange, now: datetime) -> int | None:
    """Record what is due (once); the amount, or None when nothing new was recorded."""
    amount = amount_due(conn, decision_id, exchange)
    if amount <= 0:
        return None
    stripe_shop = dues.on_stripe(conn, order_id)
    if not dues.record(conn, decision_id, order_id, currency, amount,
                       dues.STRIPE_DUE if stripe_shop else dues.OWED, now):
        return None
    if not stripe_shop:
        email = conn.execute(select(orders.c.customer_email)
                             .where(orders.c.order_id == order_id)).scalar()
        open_follow_up(
            conn, kind=FOLLOW_UP, order_id=order_id, subject=decision_id,
            payment_reference=None, currency=currency, amount=amount, customer_email=email,
            detail=(f"Instant exchange {decision_id} of order {order_id}: the new items went "
                    f"out at approval and the original was not sent back in time, so "
                    f"{Money(amount, currency)} is due from the customer. No card is on file "
                    "through us: charge it in the shop (exchange.original_due was sent)."),
            now=now)
    return amount


def original_back(conn: Connection, decision_id: str, now: datetime) -> str | None:
    """The original was scanned after all: nothing stays due. An unpaid link waits to be
    expired at Stripe; a paid amount is refunded by a refund attempt; an owed one and its
    follow-up are cleared. The note, or None when nothing was due."""
    due = dues.get(conn, decision_id)
    if due is None:
        return None
    said = {"why": "the original was scanned after the return expired"}
    if dues.move(conn, decision_id, ("charging",), now, "exchange_due_canceled", said,
                 status="canceled"):
        return "the charge was not made yet: canceled"
    if dues.move(conn, decision_id, ("open",), now, "exchange_due_expiring", said,
                 status="expiring"):
        return "the unpaid payment link will be expired"
    if dues.move(conn, decision_id, ("owed",), now, "exchange_due_canceled", said,
                 status="canceled"):
        clear_original_due(conn, decision_id, now)
        return "nothing is owed any more"
    if due.status == "paid":
        return _refund(conn, due, now)
    return None


def _refund(conn: Connection, due: DueRow, now: datetime) -> str | None:
    """A paid due whose original came back: the amount paid goes back, once, by a refund
    attempt the executor sends like any other."""
    assert due.paid_amount is not None and due.payment_reference is not None
    attempt_id = write_extra_attempt(
        conn, decision_id=due.decision_id, order_id=due.order_id, seq=REFUND_SEQ,
        provider="stripe", currency=due.currency, amount=due.paid_amount,
        payment_reference=due.payment_reference, now=now,
        journal={"why": "exchange_original_came_back"})
    if not dues.move(conn, due.decision_id, ("paid",), now, "exchange_due_refunded",
                     {"amount": due.paid_amount}, status="refunded",
                     refund_attempt_id=attempt_id):
        return None
    return f"the {Money(due.paid_amount, due.currency)} paid for it is refunded"


def by_session(conn: Connection, obj: dict[str, object]) -> DueRow | None:
    """The due a Checkout Session pays for: by the session id we recorded, else (a completion
    that overtook our recording of it) by the decision id of a session made for a due."""
    row = dues.by_session(conn, str(obj.get("id")))
    meta = obj.get("metadata") or {}
    assert isinstance(meta, dict)
    if row is None and meta.get("purpose") == PURPOSE and meta.get("decision_id"):
        row = dues.get(conn, str(meta["decision_id"]))
    return row


def is_due_session(obj: dict[str, object]) -> bool:
    meta = obj.get("metadata") or {}
    return isinstance(meta, dict) and meta.get("purpose") == PURPOSE


def settle(conn: Connection, due: DueRow, obj: dict[str, object], currency: str,
           now: datetime, livemode: bool | None = None) -> str:
    """``checkout.session.completed`` for a due: paid, recorded once, in the mode Stripe took
    it in (``livemode``, when said). A payment that came after the original was scanned (the
    link was being expired) is refunded at once."""
    amount = int(str(obj.get("amount_total") or 0))
    if amount != due.amount or currency != due.currency:
        return (f"exchange {due.decision_id}: original due paid {written(amount, currency)}, "
                f"expected {written(due.amount, due.currency)}: not settled, a person must look")
    pi = obj.get("payment_intent")
    pi = pi.get("id") if isinstance(pi, dict) else pi
    if not dues.move(conn, due.decision_id, ("charging", "open", "expiring"), now,
                     "exchange_due_paid", {"amount": amount, "currency": currency},
                     status="paid", paid_amount=amount, payment_reference=str(pi or ""),
                     paid_at=now, checkout_session_id=str(obj.get("id")),
                     **mode(livemode)):
        return f"exchange {due.decision_id}: original due already settled"
    note = f"exchange {due.decision_id}: original due paid ({Money(amount, currency)})"
    if due.status == "expiring":  # the original came back while the customer paid
        fresh = dues.get(conn, due.decision_id)
        if fresh is not None and (refunded := _refund(conn, fresh, now)):
            note += f"; the original came back, so {refunded}"
    return note


class DueCharger:
    """The Checkout Sessions of dues (and their expiry once the original came back after all),
    worked by the exchange worker's round."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime],
                 stripe: StripeProvider | None, return_url: str, max_tries: int = 5,
                 backoff_s: float = 2.0) -> None:
        self.engine, self.clock, self.stripe = engine, clock, stripe
        self.return_url, self.max_tries, self.backoff_s = return_url, max_tries, backoff_s

    def _due(self, due: DueRow, now: datetime) -> bool:
        """Not failed before, or failed long enough ago (exponential backoff)."""
        waited = (now - (aware(due.updated_at) or now)).total_seconds()
        return not due.tries or waited >= self.backoff_s * 2 ** due.tries

    def run_once(self) -> int:
        now = self.clock()
        with self.engine.connect() as conn:
            charging = [d for d in dues.in_status(conn, "charging") if self._due(d, now)]
            expiring = [d for d in dues.in_status(conn, "expiring") if self._due(d, now)]
        for due in charging:
            self._open(due)
        for due in expiring:
            self._expire(due)
        return len(charging) + len(expiring)

    def _failed(self, due: DueRow, error: str, final: bool = False) -> None:
        """Counted and tried again later; out of tries, or refused for good (an amount off
        Stripe's step, say), ``failed``: the decision page shows it for a person."""
        with write_tx(self.engine) as conn:
            now = self.clock()
            if final or due.tries + 1 >= self.max_tries:
                dues.move(conn, due.decision_id, (due.status,), now, "exchange_due_failed",
                          {"error": error}, status="failed", last_error=error[:2000])
            else:
                dues.note_failure(conn, due.decision_id, error, now)

    def _open(self, due: DueRow) -> None:
        if self.stripe is None:
            self._failed(due, "no Stripe key is configured to take the original's value")
            return
        with self.engine.connect() as conn:
            email = conn.execute(select(orders.c.customer_email)
                                 .where(orders.c.order_id == due.order_id)).scalar()
        req = CheckoutRequest(
            due.decision_id, due.order_id, due.amount, due.currency,
            f"Exchange for order {due.order_id}: the original item, not returned "
            f"({Money(due.amount, due.currency)})", self.return_url, email, purpose=PURPOSE)
        try:
            session = open_checkout(self.stripe, req)
        except ProviderError as exc:
            self._failed(due, exc.message, isinstance(exc, FinalProviderError))
            return
        with write_tx(self.engine) as conn:
            now = self.clock()
            if dues.move(conn, due.decision_id, ("charging",), now, "exchange_due_checkout",
                         {}, status="open", checkout_session_id=session.id,
                         checkout_url=session.url, tries=0, last_error=None):
                causes.original_due(conn, decision_id=due.decision_id, payment_url=session.url,
                                    amount=due.amount, now=now)
                return
        # the original came back while the session was made: it must not stay payable
        self._expire_session(due, session.id)

    def _expire(self, due: DueRow) -> None:
        assert due.checkout_session_id is not None
        self._expire_session(due, due.checkout_session_id)

    def _expire_session(self, due: DueRow, session_id: str) -> None:
        if self.stripe is None:
            return
        try:
            status = expire_checkout(self.stripe, session_id)
        except ProviderError as exc:
            self._failed(due, exc.message)
            return
        if status != "expired":
            return  # paid meanwhile: its completion settles it, and refunds it
        with write_tx(self.engine) as conn:
            dues.move(conn, due.decision_id, ("expiring",), self.clock(),
                      "exchange_due_canceled", {"checkout_session_id": session_id},
                      status="canceled")
