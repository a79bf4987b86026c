"""A dispute (chargeback) on a Stripe payment, from its events to the payment's status.

While a dispute is open Stripe refuses refunds of the charge (``charge_disputed``) and the
bank may give the customer the money back, so returns of the order go to a person
(``payments.status = 'disputed'``; the policy's ``payment_disputed``). A dispute ends:

- ``won`` (the merchant keeps the money), ``warning_closed`` (an inquiry that never became a
  chargeback) or ``prevented``: the payment is an ordinary one again (``succeeded``), and its
  returns are decided by the policy as before;
- ``lost``: the bank gave the customer the disputed amount back. The payment stays disputed,
  so a return still goes to a person: refunding it again would pay the customer twice. A
  lost dispute may be appealed (``appeal_*``): still disputed.

Every dispute event (``created``, ``updated``, ``closed``, ``funds_withdrawn``,
``funds_reinstated``) carries the dispute with its status. Stripe delivers events in any order,
so each is journalled (``stripe_dispute``, subject ``stripe:<payment>``) with the event's
``created`` time, and only the newest word sets the status: a ``created`` that arrives after
the ``closed`` (won) does not dispute the payment again. In the same second, an ended dispute's
word stands against an open one's.

A dispute of a payment we have not seen yet (its ``payment_intent.succeeded`` delivered later)
is journalled the same way under each of the dispute's names for the payment (its
PaymentIntent and its charge); when Stripe's event for the payment records it, or a
storefront's ``order.paid`` naming it by either, ``settle`` applies the newest word found under
any of its names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from refunds_plugin.ledger.db import lock_key
from refunds_plugin.ledger.disputes import clear_disputed, mark_disputed
from refunds_plugin.ledger.journal import append_entry, latest_body
from refunds_plugin.ledger.orders import lock_payment, payment_row
from refunds_plugin.ledger.tables import payments
from refunds_plugin.money import Money, normalize_currency
from refunds_plugin.stripe.refunded_total import subject

ENTRY = "stripe_dispute"  # journal entry type: a dispute's status as of an event
EVENTS = ("charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed",
          "charge.dispute.funds_withdrawn", "charge.dispute.funds_reinstated")
CLEARED = ("won", "warning_closed", "prevented")  # ended with the money the merchant's
ENDED = (*CLEARED, "lost")



@dataclass(frozen=True)
class Word:
    status: str
    as_of: int  # the event's ``created`` (unix seconds)

    def newer_than(self, other: Word | None) -> bool:
        if other is None or self.as_of > other.as_of:
            return True
        if self.as_of < other.as_of:
            return False
        return self.status in ENDED and other.status not in ENDED


def latest(conn: Connection, reference: str) -> Word | None:
    body = latest_body(conn, ENTRY, subject(reference))
    if body is None:
        return None
    data = json.loads(body)
    return Word(str(data["status"]), int(data["as_of"]))


def _name(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def name_lock(name: str) -> tuple[str, str, str]:
    """The key parts of the lock of one of a Stripe payment's names (``db.lock_key``)."""
    return ("payment", "stripe", name)


def lock_names(conn: Connection, names: tuple[str | None, ...]) -> None:
    """Serialise a dispute of a payment not seen yet with the event that records the payment
    (each takes these before it looks for the other's write)."""
    for name in sorted({n for n in names if n}):
        lock_key(conn, *name_lock(name))


def apply(conn: Connection, reference: str | None, obj: dict[str, Any], *, created: int,
          event_id: str, now: datetime) -> str:
    """One dispute event for the payment ``reference`` (None: a payment we have not seen: the
    word is kept under the dispute's name for it, for ``settle``), in the caller's
    transaction; returns the inbox note."""
    said = obj.get("status")  # Stripe always says; "open" where an event did not
    word = Word(str(said) if said else "open", created)
    amount = _amount(obj)
    if reference is None:
        pi, charge = _name(obj, "payment_intent"), _name(obj, "charge")
        lock_names(conn, (pi, charge))
        reference = payment_row(conn, "stripe", pi or charge, charge)  # recorded meanwhile?
        if reference is None:
            kept = [n for n in dict.fromkeys((pi, charge)) if n]
            if not kept:
                return "dispute for a payment we have not seen, naming none: not kept"
            # under each name, for a storefront's order.paid naming the payment by either
            newer = [_journal(conn, n, word, obj, amount, event_id, now) for n in kept]
            if newer[0] is not None:
                return "dispute for a payment we have not seen, as of an older event: not kept"
            return (f"dispute {word.status} for a payment we have not seen: kept, and applied "
                    "when Stripe's event for the payment arrives")
    lock_payment(conn, "stripe", reference)  # the newest-word test and the write together
    known = _journal(conn, reference, word, obj, amount, event_id, now)
    if known is not None:
        return (f"dispute {word.status} as of an older event: the newer word "
                f"({known.status}) stands")
    if word.status in CLEARED:
        if clear_disputed(conn, "stripe", reference, now):
            return f"dispute {word.status}: the payment is no longer disputed"
        return f"dispute {word.status}"
    mark_disputed(conn, "stripe", reference, now)
    if word.status == "lost":
        given = f" ({amount} given back by the bank)" if amount else ""
        return (f"dispute lost{given}: the payment stays disputed, so returns of the order go "
                "to a person")
    return "payment marked disputed" + (f" (dispute {said})" if said else "")


def _journal(conn: Connection, name: str, word: Word, obj: dict[str, Any],
             amount: Money | None, event_id: str, now: datetime) -> Word | None:
    """Journal ``word`` under the payment's ``name`` if it is the newest; else the newer word
    that stands (nothing journalled)."""
    known = latest(conn, name)
    if not word.newer_than(known):
        return known
    append_entry(conn, ENTRY, subject(name), {
        "provider": "stripe", "reference": name, "dispute_id": obj.get("id"),
        "status": word.status, "as_of": word.as_of, "event_id": event_id,
        **({"amount": amount.minor, "currency": amount.currency} if amount else {}),
    }, now)
    return None


def settle(conn: Connection, reference: str, names: tuple[str | None, ...],
           now: datetime) -> bool:
    """The payment ``reference`` was just recorded by Stripe's event naming it ``names``:
    apply the newest dispute word journalled under any of them (one that came before the
    payment), kept under ``reference`` too. False when there is none."""
    lock_names(conn, (reference, *names))
    found: tuple[Word, str] | None = None
    for name in dict.fromkeys((reference, *(n for n in names if n))):
        body = latest_body(conn, ENTRY, subject(name))
        if body is None:
            continue
        word = Word(str(json.loads(body)["status"]), int(json.loads(body)["as_of"]))
        if found is None or word.newer_than(found[0]):
            found = (word, body)
    if found is None:
        return False
    word, body = found
    lock_payment(conn, "stripe", reference)
    if word.newer_than(latest(conn, reference)):
        data = json.loads(body)
        append_entry(conn, ENTRY, subject(reference), {**data, "reference": reference}, now)
    if word.status in CLEARED:
        clear_disputed(conn, "stripe", reference, now)
    else:
        mark_disputed(conn, "stripe", reference, now)
    return True


def cleared_order(conn: Connection, reference: str | None) -> str | None:
    """The order of a payment whose newest dispute word left the money with the merchant
    (the trouble detectors look at it anew: a payment made meanwhile may be a duplicate now);
    None for any other."""
    if reference is None:
        return None
    known = latest(conn, reference)
    if known is None or known.status not in CLEARED:
        return None
    order_id = conn.execute(select(payments.c.order_id).where(
        payments.c.provider == "stripe", payments.c.reference == reference,
        payments.c.status != "disputed")).scalar()
    return None if order_id is None else str(order_id)


def _amount(obj: dict[str, Any]) -> Money | None:
    value, currency = obj.get("amount"), obj.get("currency")
    if isinstance(value, int) and not isinstance(value, bool) and isinstance(currency, str):
        try:
            return Money(value, normalize_currency(currency))
        except ValueError:
            return None
    return None
