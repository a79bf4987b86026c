"""A dearer item's difference for an exchange that will not go ahead: never left with the shop.

* ``refund``: the difference the customer paid is given back, once, by a refund attempt of the
  exchange's decision at ``DIFFERENCE_SEQ`` (the executor's exactly-once path, to the
  PaymentIntent that paid it). Called when a person declines a failed exchange
  (``intake/reviews.decide``), when a paid exchange sells out before it shipped
  (``fallback.out_of_stock``) and when a payment comes in after the exchange fell back
  (``late_payment``). A difference paid before that PaymentIntent was recorded (revision 0035
  found no event for it) is put in front of a person instead: an ``exchange_difference_paid``
  follow-up naming the amount.
* ``late_payment`` (``checkout.session.completed`` for an exchange that had ended or failed):
  the payment recorded once; a fallen-back one's refunded at once, a failed one's kept for the
  person who decides it (declining refunds it, approving goes on with it paid).
* ``LinkExpirer`` (the exchange worker's round): the open Checkout Session of an exchange that
  fell back while awaiting payment (sold out) is expired at Stripe, retried with backoff; if
  the customer paid first, its completion refunds it; out of tries, a person is told.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection, Engine, select

from refunds_plugin.errors import ProviderError
from refunds_plugin.exchanges.shipping import tell_a_person
from refunds_plugin.ledger import exchange_payments as links
from refunds_plugin.ledger.attempts import attempt_id_for, get_attempt, write_extra_attempt
from refunds_plugin.ledger.db import aware, write_tx
from refunds_plugin.ledger.exchange_dues import DIFFERENCE_SEQ
from refunds_plugin.ledger.exchanges import ExchangeRow, get_exchange
from refunds_plugin.ledger.journal import append_entry
from refunds_plugin.ledger.tables import orders
from refunds_plugin.money import Money
from refunds_plugin.providers.stripe import StripeProvider, expire_checkout
from refunds_plugin.trouble.follow_ups import open_follow_up

log = logging.getLogger("refunds.exchanges")
FOLLOW_UP = "exchange_difference_paid"  # a paid difference no refund attempt can name


def refund(conn: Connection, row: ExchangeRow, why: str, now: datetime) -> str | None:
    """The paid difference given back, once: the refund attempt's id (None: nothing paid, or
    no PaymentIntent to refund, in which case a follow-up names the amount for a person)."""
    if row.paid_at is None or not row.charge_amount:
        return None
    if not row.payment_reference:
        email = conn.execute(select(orders.c.customer_email)
                             .where(orders.c.order_id == row.order_id)).scalar()
        open_follow_up(
            conn, kind=FOLLOW_UP, order_id=row.order_id, subject=row.decision_id,
            payment_reference=row.checkout_session_id, currency=row.currency,
            amount=row.charge_amount, customer_email=email,
            detail=(f"Exchange {row.decision_id} of order {row.order_id} will not go ahead "
                    f"({why}), and the customer paid "
                    f"{Money(row.charge_amount, row.currency)} for the price difference "
                    f"(Checkout Session {row.checkout_session_id}), whose payment is not "
                    "recorded here: refund it in Stripe."),
            now=now)
        return None
    attempt_id = attempt_id_for(row.decision_id, DIFFERENCE_SEQ)
    if get_attempt(conn, attempt_id) is not None:
        return attempt_id
    write_extra_attempt(
        conn, decision_id=row.decision_id, order_id=row.order_id, seq=DIFFERENCE_SEQ,
        provider="stripe", currency=row.currency, amount=row.charge_amount,
        payment_reference=row.payment_reference, now=now,
        journal={"why": "exchange_difference_refunded"})
    append_entry(conn, "exchange_difference_refunded", row.decision_id,
                 {"amount": row.charge_amount, "currency": row.currency, "why": why,
                  "refund_attempt_id": attempt_id}, now)
    return attempt_id


def on_decline(conn: Connection, decision_id: str, now: datetime) -> str | None:
    """A person declined the review of a failed exchange: it will not go ahead, so a difference
    the customer paid for it goes back (``refund``); the attempt's id, if one was written."""
    row = get_exchange(conn, decision_id)
    if row is None or row.status != "failed":
        return None
    return refund(conn, row, "a person declined the failed exchange", now)


def late_payment(conn: Connection, row: ExchangeRow, amount: int, currency: str,
                 now: datetime, livemode: bool | None, reference: str | None) -> str:
    """A completion for an exchange no longer awaiting payment that was never paid."""
    paid = Money(amount, currency)
    if not links.paid_late(conn, row, amount, currency, now, livemode, reference):
        return f"exchange {row.decision_id}: payment already settled"
    fresh = get_exchange(conn, row.decision_id)
    assert fresh is not None
    if fresh.status == "failed":
        return (f"exchange {row.decision_id} waits for a person (failed): its difference of "
                f"{paid} is paid; declining it refunds it")
    if refund(conn, fresh, "paid after the exchange had ended", now) is None:
        return (f"exchange {row.decision_id} had ended ({fresh.status}) when its difference "
                f"of {paid} was paid: a person is asked to refund it")
    return (f"exchange {row.decision_id} had ended ({fresh.status}) when its difference of "
            f"{paid} was paid: the {paid} is refunded")


class LinkExpirer:
    """The open Checkout Sessions of exchanges that ended unpaid, expired at Stripe."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime],
                 stripe: StripeProvider | None, max_tries: int = 5,
                 backoff_s: float = 2.0) -> None:
        self.engine, self.clock, self.stripe = engine, clock, stripe
        self.max_tries, self.backoff_s = max_tries, backoff_s

    def _due(self, row: ExchangeRow, now: datetime) -> bool:
        waited = (now - (aware(row.updated_at) or now)).total_seconds()
        return not row.tries or waited >= self.backoff_s * 2 ** row.tries

    def run_once(self) -> int:
        now = self.clock()
        with self.engine.connect() as conn:
            rows = [r for r in links.expiring(conn) if self._due(r, now)]
        for row in rows:
            self._expire(row)
        return len(rows)

    def _expire(self, row: ExchangeRow) -> None:
        session_id = row.checkout_session_id
        assert session_id is not None
        if self.stripe is None:
            self._give_up(row, "no Stripe key is configured to expire it")
            return
        try:
            status = expire_checkout(self.stripe, session_id)
        except ProviderError as exc:
            if row.tries + 1 >= self.max_tries:
                self._give_up(row, exc.message)
            else:
                with write_tx(self.engine) as conn:
                    links.note_expiry_failure(conn, row, self.clock())
                log.warning("exchange %s: its payment link could not be expired: %s (try %d)",
                            row.decision_id, exc.message, row.tries + 1)
            return
        # "complete": the customer paid first; its completion records and refunds it
        ended = "expired" if status == "expired" else "paid"
        with write_tx(self.engine) as conn:
            links.checkout_ended(conn, row.decision_id, ended, self.clock(),
                                 {"checkout_session_id": session_id})

    def _give_up(self, row: ExchangeRow, why: str) -> None:
        said = (f"its payment link (Checkout Session {row.checkout_session_id}) could not be "
                f"expired ({why}): expire it in Stripe, and refund any payment made on it")
        with write_tx(self.engine) as conn:
            if links.checkout_ended(conn, row.decision_id, "failed", self.clock(),
                                    {"checkout_session_id": row.checkout_session_id,
                                     "error": why[:500]}):
                tell_a_person(conn, row, said, self.clock(), "exchange_link_open")
