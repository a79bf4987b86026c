"""When an exchange's new items may ship, and who hears of it.

``ship_on_reached`` is the one door the return's progress comes through: the decision itself
for ``ship_on: approval``, and the carrier's first scan, the delivery and the inspection (the
physical-return issue's ``refund_on`` triggers, from ``shipping/``) call it with their trigger,
inside the transaction that records it. ``announce`` enqueues the merchant's events
(``exchange.approved``, ``exchange.ready_to_ship``) in the outbox; ``checkout_opened`` sends the
customer's ``approved`` mail with the payment link once the Checkout Session exists;
``tell_a_person`` puts the decision back in the review queue; ``nobody_ships`` opens a
follow-up when no channel tells the shop to ship a ready exchange; ``return_expired`` makes an
instant exchange's original value due when it never came back (``dues``), and
``original_back`` settles it when it does after all.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from refunds_plugin.domain.decision import Exchange
from refunds_plugin.exchanges import dues
from refunds_plugin.ledger import exchanges
from refunds_plugin.ledger.exchanges import ExchangeRow
from refunds_plugin.ledger.reviews import open_review
from refunds_plugin.ledger.tables import decisions, orders
from refunds_plugin.notify import causes, kinds, outbox, stored
from refunds_plugin.trouble.follow_ups import open_follow_up

log = logging.getLogger("refunds.exchanges")
TRIGGERS = exchanges.SHIP_ORDER  # approval | first_scan | delivered | inspected


def ship_on_reached(conn: Connection, decision_id: str, trigger: str,
                    now: datetime | None = None) -> bool:
    """The return of ``decision_id`` got as far as ``trigger``: an exchange waiting for that
    (or an earlier step) is ready to ship, once; True for the call that made it ready. One
    still awaiting its payment remembers it and is ready once paid. Call it inside the
    transaction that records the trigger."""
    if trigger not in TRIGGERS:
        raise ValueError(f"unknown ship_on trigger {trigger!r}: expected one of {TRIGGERS}")
    row = exchanges.get_exchange(conn, decision_id)
    if row is None:
        return False
    now = now or datetime.now(UTC)
    moved = exchanges.reach(conn, row, trigger, now)
    if moved:
        log.info("exchange %s: return reached %s", decision_id, trigger,
                 extra={"decision_id": decision_id, "order_id": row.order_id})
    if moved and row.status == "waiting":
        announce(conn, row, "exchange.ready_to_ship", now)
        return True
    return False


def no_return_to_wait_for(conn: Connection, now: datetime) -> int:
    """Exchanges left waiting for a parcel no return was opened for (decided without a return
    address before their ``ship_on`` said so): each is ready to ship, with its
    ``exchange.ready_to_ship``, as one decided now would be at approval. How many moved."""
    moved = 0
    for row in exchanges.waiting_without_return(conn):
        if exchanges.ready_without_return(conn, row, now):
            log.info("exchange %s: no return to wait for, ready to ship", row.decision_id,
                     extra={"decision_id": row.decision_id, "order_id": row.order_id})
            announce(conn, row, "exchange.ready_to_ship", now)
            moved += 1
    return moved


def exchange_approved(conn: Connection, decision_id: str, now: datetime) -> None:
    """A new exchange was decided: ``exchange.approved``, and ``exchange.ready_to_ship`` at once
    for an instant one (ship_on approval, nothing to pay)."""
    row = exchanges.get_exchange(conn, decision_id)
    if row is None:
        return
    announce(conn, row, "exchange.approved", now)
    if row.status == "ready":
        announce(conn, row, "exchange.ready_to_ship", now)


def event_body(row: ExchangeRow, exchange: Exchange | None) -> dict[str, Any]:
    """What an outbound exchange event carries: the decision, the new lines, the difference."""
    return {
        "decision_id": row.decision_id, "order_id": row.order_id, "currency": row.currency,
        "status": row.status, "ship_on": row.ship_on,
        "difference": row.difference, "charge": row.charge_amount,
        "waived": row.waived_amount, "back": row.back_amount,
        "lines": [{"line_id": ln.line_id, "quantity": ln.quantity, "sku": ln.sku,
                   "name": ln.name, "unit_amount": ln.unit_amount,
                   "variant_id": ln.variant_id} for ln in exchange.lines] if exchange else [],
        "replacement_id": row.replacement_id, "original_due": row.original_due,
    }


def _exchange_of(conn: Connection, decision_id: str) -> tuple[Exchange | None, Any, str | None]:
    """The decision's exchange (its lines), its order's number and customer email, and why its
    stored body cannot be read (None: it was read; the exchange is None then)."""
    found = conn.execute(
        select(decisions.c.body, decisions.c.customer_email, orders.c.order_number)
        .select_from(decisions.outerjoin(orders, orders.c.order_id == decisions.c.order_id))
        .where(decisions.c.id == decision_id)).one()
    try:
        return stored.decision(found.body).exchange, found, None
    except stored.UNREADABLE as exc:
        return None, found, (f"its stored decision (decisions.body) cannot be read "
                             f"({stored.why(exc)}); a person must repair the row")


def announce(conn: Connection, row: ExchangeRow, kind: str, now: datetime) -> bool:
    """``exchange.approved`` / ``exchange.ready_to_ship`` for the merchant's systems, enqueued
    in the caller's transaction (cause ``exchange:<decision id>``: once per kind, however often
    it is said). The body is the exchange as it stands now, with its new lines."""
    fresh = exchanges.get_exchange(conn, row.decision_id) or row
    exchange, found, unreadable = _exchange_of(conn, row.decision_id)
    context = {**event_body(fresh, exchange), "order_number": found.order_number or row.order_id,
               "customer_email": found.customer_email}
    if unreadable is not None:  # recorded failed with why, never sent without its lines
        context[outbox.HELD] = f"not sent: {unreadable}"
        log.error("exchange %s, order %s: %s is not sent: %s", row.decision_id, row.order_id,
                  kind, unreadable, extra={"decision_id": row.decision_id,
                                           "order_id": row.order_id})
    return outbox.enqueue(conn, cause=f"exchange:{row.decision_id}", kind=kind,
                          recipient=kinds.MERCHANT, now=now, context=context)


def checkout_opened(conn: Connection, row: ExchangeRow, now: datetime) -> bool:
    """The Checkout Session for the difference exists: the customer's ``approved`` mail goes
    now, carrying its link (``notify.causes`` held it back until there was one)."""
    if not row.checkout_url:
        return False
    return causes.approved_with_payment(conn, decision_id=row.decision_id,
                                        payment_url=row.checkout_url,
                                        payment_amount=row.charge_amount, now=now)


def tell_a_person(conn: Connection, row: ExchangeRow, why: str, now: datetime,
                  code: str = "exchange_failed") -> None:
    """The replacement (or the Checkout Session) could not be made after its retries: the row
    is ``failed`` with ``last_error``, and the decision goes back to the review queue, where
    finance sees why (as a payout that fails after its approval does)."""
    log.error("exchange %s needs a person: %s", row.decision_id, why,
              extra={"decision_id": row.decision_id, "order_id": row.order_id})
    open_review(conn, row.decision_id, f"{code}: {why}"[:1000], now)


NOBODY_SHIPS = "exchange_unshipped"  # the follow-up's kind
# the exchange's ``progress`` once no channel carried the instruction and a person was told:
# the worker leaves it alone from then on, and only a person marks it shipped (``by_hand``)
TOLD_A_PERSON = "nobody_ships"


def nobody_ships(conn: Connection, row: ExchangeRow, exchange: Exchange, now: datetime) -> bool:
    """A ready exchange that no channel tells the shop to ship (not a Saleor order, and no
    ``REFUNDS_OUTBOUND_URL`` to receive ``exchange.ready_to_ship``): it is not marked shipped;
    an ``exchange_unshipped`` follow-up names what to send, once per exchange."""
    _exchange, found, _ = _exchange_of(conn, row.decision_id)
    items = ", ".join(f"{ln.quantity} × {ln.name or ln.sku}"
                      + (f" ({ln.sku})" if ln.name and ln.sku else "") for ln in exchange.lines)
    number = found.order_number or row.order_id
    return open_follow_up(
        conn, kind=NOBODY_SHIPS, order_id=row.order_id, subject=row.decision_id,
        payment_reference=None, currency=None, amount=None, customer_email=found.customer_email,
        detail=(f"Exchange {row.decision_id} of order {number} is ready to ship: {items}. "
                "Nothing told the shop to ship it: REFUNDS_OUTBOUND_URL is not set and the "
                "order is not a Saleor order. "
                "Send it to the customer from the shop, then record it as shipped here "
                "(/finance/follow-ups); until then the exchange stays ready to ship."),
        now=now)


def channel_warning(exchanges_allowed: bool, outbound_url: str) -> str | None:
    """For ``refunds serve`` and ``refunds policy check``: the policy offers exchanges but only
    Saleor orders have a way to ship them (their replacement order)."""
    if not exchanges_allowed or outbound_url:
        return None
    return ("warning: the policy offers exchanges, but REFUNDS_OUTBOUND_URL is not set: no "
            "exchange.ready_to_ship event reaches your systems, so only Saleor orders ship "
            "their new items (the replacement order). Any other exchange stays ready to ship "
            "with an exchange_unshipped follow-up (/finance/follow-ups) for a person to send it.")


def return_expired(conn: Connection, decision_id: str, now: datetime) -> bool:
    """The return of ``decision_id`` expired (issue 14's deadline sweep, in its transaction).

    An instant exchange (``ship_on: approval``) sent the new items before the original came
    back; its money waited for the parcel and the sweep has just canceled it (the hold). What is
    left is the original's value less what was settled (``dues.amount_due``), now due: recorded
    once (``exchange_original_due``, ``exchange_dues``), sent to the merchant's systems as
    ``exchange.original_due``; on a Stripe shop the exchange worker then opens a Checkout
    Session for it and mails its link, elsewhere a follow-up puts it in front of a person in
    finance (``dues.original_not_back``). True for the call that recorded it."""
    row = exchanges.get_exchange(conn, decision_id)
    if row is None or row.ship_on != "approval" or row.status not in ("ready", "shipped"):
        return False
    exchange, _found, unreadable = _exchange_of(conn, decision_id)
    if unreadable is not None:  # what is due cannot be worked out: a person says (a review)
        why = f"the original's value due is not recorded: {unreadable}"
        log.error("instant exchange %s, order %s: %s", decision_id, row.order_id, why,
                  extra={"decision_id": decision_id, "order_id": row.order_id})
        open_review(conn, decision_id, f"exchange_unreadable: {why}"[:1000], now)
        return False
    if exchange is None:
        return False
    amount = dues.original_not_back(conn, decision_id, row.order_id, row.currency, exchange,
                                    now)
    if amount is None or not exchanges.original_due(conn, row, amount, now):
        return False
    announce(conn, row, "exchange.original_due", now)
    return True


def original_back(conn: Connection, decision_id: str, now: datetime) -> str | None:
    """The original of an instant exchange was scanned after its return expired: whatever was
    due for it is settled by the parcel (``dues.original_back``)."""
    return dues.original_back(conn, decision_id, now)
