"""A person sent an exchange's new items and says so: the exchange nobody was told to ship
(``shipping.nobody_ships``: not a Saleor order, no ``REFUNDS_OUTBOUND_URL``) is marked shipped.

It goes through the one guarded move the worker uses when a channel ships it
(``ledger.exchanges.shipped``: ready → shipped, once, its ``exchange_shipped`` journal entry),
with the person, carrier and tracking number added to that entry, and its
``exchange_unshipped`` follow-up is cleared in the same transaction. A second submit (a double
click, two admins) finds it shipped and records nothing; so do an unknown exchange, one not
ready, one a channel ships, and a tracking number or carrier that cannot be right. Once sent by
hand, a storefront's later ``exchange.out_of_stock`` no longer turns it into a refund.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from refunds_plugin.errors import Conflict, InputError, NotFound, UnreadableRecord
from refunds_plugin.exchanges.shipping import TOLD_A_PERSON
from refunds_plugin.ledger import exchanges
from refunds_plugin.ledger.db import iso_time, lock_order, write_tx
from refunds_plugin.ledger.exchange_dues import DIFFERENCE, DIFFERENCE_BY_HAND, seq_is
from refunds_plugin.ledger.exchanges import ExchangeRow
from refunds_plugin.ledger.journal import append_entry
from refunds_plugin.ledger.tables import exchanges as exchanges_table
from refunds_plugin.ledger.tables import follow_ups, ledger_entries, refund_attempts
from refunds_plugin.notify import stored
from refunds_plugin.shipping.returns import get_return
from refunds_plugin.trouble.follow_ups import clear_difference_paid, clear_unshipped

log = logging.getLogger("refunds.exchanges")
MAX_CARRIER = 64
MAX_TRACKING = 64  # carriers' numbers are 10–40 characters; more is a paste gone wrong
BY_HAND = "by_hand"  # the journal entry's key, and the exchange's progress key, for who and how
NOT_READY = {
    "awaiting_payment": "it is waiting for the customer's payment of the difference",
    "waiting": "its return has not reached the point where the new items may ship",
    "fallen_back": "it became a refund or store credit instead; nothing is to be sent",
    "failed": "it failed and is with a person in the review queue",
}


@dataclass(frozen=True)
class Shipment:
    """Who sent an exchange's new items by hand, how, and when."""

    decision_id: str
    order_id: str
    by: str
    carrier: str | None
    tracking_number: str | None
    shipped_at: datetime
    follow_up_cleared: bool = False

    def words(self) -> str:
        """``UPS 1Z999`` / ``1Z999`` / ``DHL`` / ``no tracking``."""
        words = " ".join(x for x in (self.carrier, self.tracking_number) if x)
        return words or "no tracking"

    def to_json(self) -> dict[str, Any]:
        return {"decision_id": self.decision_id, "order_id": self.order_id,
                "status": "shipped", "shipped_by": self.by, "carrier": self.carrier,
                "tracking_number": self.tracking_number, "shipped_at": iso_time(self.shipped_at),
                "follow_up_cleared": self.follow_up_cleared}


# what the field may not hold (the OpenAPI document's pattern says the same): control
# characters, line and paragraph separators; and no lone surrogate, which no database stores
CONTROL = r"\u0000-\u001f\u007f-\u009f\u2028\u2029"
_CONTROL = re.compile(f"[{CONTROL}]")


def _field(name: str, raw: object, longest: int) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise InputError(f"{name}: expected text, found {type(raw).__name__}",
                         code="invalid_request")
    text = raw.strip()
    if len(text) > longest:
        raise InputError(f"the {name.replace('_', ' ')} is {len(text)} characters long; at most "
                         f"{longest} are accepted", code=f"{name}_too_long")
    if _CONTROL.search(text) or any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        raise InputError(f"the {name.replace('_', ' ')} has a line break or control character",
                         code="invalid_request")
    return text or None


def mark_shipped(engine: Engine, decision_id: str, *, by: str, carrier: object = None,
                 tracking_number: object = None, now: datetime) -> Shipment:
    """Record that ``by`` sent the new items of exchange ``decision_id``; once.

    Raises InputError (a carrier or tracking number too long or not text), NotFound (no such
    exchange), Conflict ``already_shipped`` (shipped before: nothing changes),
    ``not_shippable`` (not ready, or a channel ships it) or ``unreadable_record`` (its stored
    progress cannot be read); nothing is recorded then."""
    carrier_text = _field("carrier", carrier, MAX_CARRIER)
    tracking = _field("tracking_number", tracking_number, MAX_TRACKING)
    with write_tx(engine) as conn:
        try:
            row = exchanges.get_exchange(conn, decision_id)
        except stored.UNREADABLE as exc:  # its steps unknown: never marked on a guess
            raise UnreadableRecord(
                f"exchange {decision_id}'s stored progress (exchanges.progress) cannot be read "
                f"({stored.why(exc)}); a person must repair the row first") from None
        if row is None:
            raise NotFound(f"there is no exchange {decision_id}", code="unknown_exchange")
        # after, never during, a storefront's exchange.out_of_stock for the same order: each
        # sees what the other did (``fallback.out_of_stock`` leaves one sent by hand alone)
        lock_order(conn, row.order_id)
        row = exchanges.get_exchange(conn, decision_id) or row
        _refuse_unless_a_person_ships(row, get_return(conn, decision_id) is not None)
        how = {"by": by, "carrier": carrier_text, "tracking_number": tracking}
        if not exchanges.shipped(conn, decision_id, None, now, {BY_HAND: how}):
            fresh = exchanges.get_exchange(conn, decision_id)  # moved since it was read
            assert fresh is not None
            _refuse_unless_a_person_ships(fresh, True)
            raise Conflict(f"exchange {decision_id} could not be marked shipped",
                           code="not_shippable")
        exchanges.save_progress(conn, decision_id,
                                {**row.progress, BY_HAND: {**how, "at": iso_time(now)}}, now)
        cleared = clear_unshipped(conn, decision_id, now) > 0
    log.info("exchange %s shipped by hand", decision_id,
             extra={"decision_id": decision_id, "order_id": row.order_id, "by": by})
    return Shipment(decision_id, row.order_id, by, carrier_text, tracking, now, cleared)


def _refuse_unless_a_person_ships(row: ExchangeRow, returned: bool) -> None:
    """``returned``: a return was opened for its parcel (else a waiting one never moves alone:
    the exchange worker's next round makes it ready, ``shipping.no_return_to_wait_for``)."""
    if row.status == "shipped":
        before = shipped_by_hand(row)
        how = (f" by {before.by} ({before.words()}) at {iso_time(before.shipped_at)}"
               if before else " (by its channel)")
        raise Conflict(f"exchange {row.decision_id} was already recorded as shipped{how}",
                       code="already_shipped")
    if row.status == "waiting" and not returned:
        raise Conflict(f"exchange {row.decision_id} is not ready to ship yet: no return was "
                       "opened for its parcel (no return address was configured), so nothing "
                       "is waited for; the exchange worker (refunds worker) makes it ready on "
                       "its next round, then it ships through its channel or here",
                       code="not_shippable")
    if row.status != "ready":
        why = NOT_READY.get(row.status, f"it is {row.status}")
        raise Conflict(f"exchange {row.decision_id} is not ready to ship: {why}",
                       code="not_shippable")
    if not row.progress.get(TOLD_A_PERSON):
        raise Conflict(f"exchange {row.decision_id} is shipped through its channel (the Saleor "
                       "replacement order or exchange.ready_to_ship), not by hand",
                       code="not_shippable")


def shipped_by_hand(row: ExchangeRow) -> Shipment | None:
    """Who sent it and how, when a person did (for the finance pages)."""
    noted = row.progress.get(BY_HAND)
    if not isinstance(noted, dict) or row.status != "shipped":
        return None
    return Shipment(row.decision_id, row.order_id, str(noted.get("by") or ""),
                    noted.get("carrier"), noted.get("tracking_number"),
                    datetime.fromisoformat(str(noted["at"])))


@dataclass(frozen=True)
class Standing:
    """An exchange as the decision page shows it: where it stands, whether a person must send
    it (the form), and who did."""

    status: str
    a_person_ships: bool
    by_hand: Shipment | None
    # a dearer item's difference: what was paid (0: nothing), with which PaymentIntent, its
    # refund attempt's status (``exchanges/difference``), and an ended exchange's open link
    paid: int = 0
    currency: str = ""
    payment_reference: str | None = None
    refund: str | None = None
    link: str | None = None


def standing(engine: Engine, decision_id: str) -> Standing | None:
    """None: no exchange. One whose ``progress`` cannot be read shows its status only, no form
    (the decision page names the row: nothing is recorded on a guess)."""
    with engine.connect() as conn:
        try:
            row = exchanges.get_exchange(conn, decision_id)
        except stored.UNREADABLE:
            found = conn.execute(select(exchanges_table.c.status)
                                 .where(exchanges_table.c.decision_id == decision_id)).scalar()
            return Standing(str(found), False, None)
        # the newest try: a refused one a person paid again is replaced by its retry
        refund = conn.execute(select(refund_attempts.c.status).where(
            refund_attempts.c.decision_id == decision_id,
            seq_is(refund_attempts.c.seq, DIFFERENCE))
            .order_by(refund_attempts.c.seq.desc()).limit(1)).scalar()
        by_hand = conn.execute(select(ledger_entries.c.body).where(  # refunded in Stripe
            ledger_entries.c.entry_type == DIFFERENCE_BY_HAND,
            ledger_entries.c.subject_id == decision_id)).scalar()
        if refund is None and by_hand is not None:
            refund = f"by hand in Stripe, by {_who(by_hand)}"
    if row is None:
        return None
    told = row.status == "ready" and bool(row.progress.get(TOLD_A_PERSON))
    paid = row.charge_amount if row.paid_at is not None else 0
    return Standing(row.status, told, shipped_by_hand(row), paid, row.currency,
                    row.payment_reference, refund, row.checkout_status)


def _who(body: str) -> str:
    """Who a journal entry says did it (``a person`` where the entry cannot be read)."""
    try:
        return str(json.loads(body)["by"])
    except stored.UNREADABLE:
        return "a person"


DIFFERENCE_FOLLOW_UP = "exchange_difference_paid"  # ``exchanges.difference.FOLLOW_UP``


@dataclass(frozen=True)
class DifferenceRefunded:
    """Who refunded an exchange's paid difference by hand (at Stripe), and when."""

    decision_id: str
    order_id: str
    by: str
    currency: str | None
    amount: int | None
    refunded_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {"decision_id": self.decision_id, "order_id": self.order_id,
                "status": "refunded_by_hand", "refunded_by": self.by,
                "currency": self.currency, "amount": self.amount,
                "refunded_at": iso_time(self.refunded_at), "follow_up_cleared": True}


def mark_difference_refunded(engine: Engine, decision_id: str, *, by: str,
                             now: datetime) -> DifferenceRefunded:
    """Record that ``by`` refunded exchange ``decision_id``'s paid difference at Stripe (its
    ``exchange_difference_paid`` follow-up: no refund attempt could name the payment); once,
    journalled with who, the follow-up cleared. Nothing is sent to Stripe: the person did that.

    Raises NotFound ``unknown_follow_up`` (no such follow-up) or Conflict ``already_cleared``
    (a second submit, two admins): nothing is recorded then."""
    f = follow_ups.c
    with write_tx(engine) as conn:
        row = conn.execute(select(f.order_id, f.currency, f.amount, f.status).where(
            f.kind == DIFFERENCE_FOLLOW_UP, f.subject == decision_id)).first()
        if row is None:
            raise NotFound(f"exchange {decision_id} has no paid difference to refund by hand",
                           code="unknown_follow_up")
        lock_order(conn, row.order_id)
        if not clear_difference_paid(conn, decision_id, now):  # guarded: one caller clears it
            raise Conflict(f"the paid difference of exchange {decision_id} is recorded as "
                           "refunded already", code="already_cleared")
        amount = None if row.amount is None else int(row.amount)
        append_entry(conn, DIFFERENCE_BY_HAND, decision_id,
                     {"by": by, "amount": amount, "currency": row.currency,
                      "order_id": row.order_id}, now)
    log.info("exchange %s: its paid difference is refunded by hand", decision_id,
             extra={"decision_id": decision_id, "order_id": row.order_id, "by": by})
    return DifferenceRefunded(decision_id, row.order_id, by, row.currency, amount, now)
