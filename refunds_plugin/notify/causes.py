"""Which state change enqueues which messages, and what their context says.

Called in the transaction that makes the change, so a message exists exactly when its cause does:

- a decision recorded (``ledger/decisions.record_decision``): a return's ``request_received``
  and its ``approved``, ``in_review`` or ``declined`` mail; the event ``return.decided``. An
  exchange whose dearer item's difference must be paid first has its ``approved`` mail held
  until the Checkout Session exists (``approved_with_payment``, from ``exchanges/shipping``),
  so the mail carries the link
- a review closed (``intake/reviews.decide``): ``approved`` or ``declined`` (with the note for
  the customer); ``return.reviewed``
- an attempt settled (``ledger/attempts.transition``): ``succeeded`` → ``refund_sent`` or
  ``credit_issued`` (with the code), ``refund.succeeded`` / ``credit.issued``; ``failed`` →
  ``refund_failed``, ``refund.failed``. An ``unknown`` outcome (money may have moved) says
  nothing to the customer until the provider or a person settles it.

Causes recorded by other rooms call one function each, in their own transaction:
``return_received``, ``return_reminder``, ``return_expired``, ``label_ready`` (the physical
return, ``shipping/``; the parcel's journey: ``notify/parcels``) and ``withdrawal_received``
(the EU withdrawal function, ``intake/withdrawals.record``). A decision that opens a return
carries its instructions (``shipping/rows``) in every message; one whose money goes to the
dry run has ``test_mode`` in its mails, which then promise no time for it
(``decision_recorded``'s ``dry_run``); a decision with no attempt (a review, a decline) has it
when the order's money would go there, and so has a review's result (``review_closed``'s
``dry_run``) and a withdrawal's receipt.

Causes: ``decision:<id>`` for a decision's mails (one ``approved`` per decision, however often
its review closes), ``review:<id>:<journal hash>`` for each review closing's event,
``attempt:<id>`` for each attempt's outcome, its ``amount`` what moved (``kinds.paid_out``). An
attempt the dry run "paid" causes no message at all: no money moved, nobody is told it did.

An order whose stored lines cannot be read (``reads.line_names``) names its items by their line ids:
the cause's change and its messages go ahead, and a warning names the order. A decision whose
body cannot be read (``_recorded``) has its messages recorded failed; its change goes ahead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from refunds_plugin.domain import kinds as attempt_kinds
from refunds_plugin.domain.decision import Decision
from refunds_plugin.domain.kinds import AttemptStatus, DecisionKind, Outcome, Reason, ResolutionKind
from refunds_plugin.ledger.facts import OrderSeen
from refunds_plugin.ledger.label_fees import is_label_fee
from refunds_plugin.ledger.tables import decisions, refund_attempts
from refunds_plugin.notify import stored
from refunds_plugin.notify.asked import asked
from refunds_plugin.notify.kinds import MERCHANT
from refunds_plugin.notify.outbox import (
    HELD,
    Known,
    enqueue,
    enqueue_all,
    recorded_causes,
    withdraw,
)
from refunds_plugin.notify.reads import decided_in_test_mode, dry_run_of, order_names
from refunds_plugin.notify.reads import ended_exchange as _ended
from refunds_plugin.notify.reads import order_number as _number
from refunds_plugin.shipping.rows import ReturnRow, get_return

log = logging.getLogger("refunds.notify")
OUTCOME_MAIL = {Outcome.APPROVE: "approved", Outcome.REVIEW: "in_review",
                Outcome.DECLINE: "declined"}


def decision_context(
    conn: Connection, decision_id: str, decision: Decision, order_id: str,
    customer_note: str = "", *, seen: Seen | None = None,
) -> dict[str, Any]:
    """What a decision's mails and events say: the figures, the items, the explanation, and
    how the items go back when the decision opened a return (``return_instructions``: address,
    return_by, label_url, qr_code_url, tracking_code, carrier; empty without a return).
    ``seen``: what the recording transaction read or wrote already, not read again."""
    number, names = order_names(conn, order_id, seen.order if seen is not None else None)
    send = _send_back(decision, names)
    swapped = {ln.line_id: {"quantity": ln.quantity, "name": ln.name or ln.sku}
               for ln in (decision.exchange.lines if decision.exchange else ())}
    return {
        "decision_id": decision_id, "order_id": order_id, "order_number": number,
        "decision_kind": decision.kind.value, "outcome": decision.outcome.value,
        "reason_code": decision.reason_code, "explanation": decision.explanation,
        "currency": decision.currency, "amount": decision.amount,
        "refund_amount": decision.refund_amount, "credit_amount": decision.credit_amount,
        "resolution": decision.resolution_summary, "return_required": decision.return_required,
        "items": [{"line_id": ln.line_id, "name": names.get(ln.line_id, ln.line_id),
                   "quantity": ln.quantity, "amount": ln.amount,
                   "return_required": ln.return_required,
                   # exchanged: the new item comes instead of this money (the mails say so)
                   "exchange_for": swapped.get(ln.line_id)} for ln in decision.lines],
        "fees": [{"code": f.code, "amount": f.amount, "description": f.description}
                 for f in decision.fees],
        "send_back": list(send), "send_back_units": sum(send.values()),
        "customer_note": customer_note,
        **return_context(conn, decision_id, seen),
    }


def _send_back(decision: Decision, names: dict[str, str]) -> dict[str, int]:
    """What goes back as the status page says it: ``"2 × Cup"`` (a single unit: its name),
    once per order line, each with its units; a line that never arrived is not sent back."""
    units: dict[str, int] = {}
    for ln in decision.lines:
        if ln.return_required and ln.reason != Reason.NOT_RECEIVED.value:
            units[ln.line_id] = units.get(ln.line_id, 0) + ln.quantity
    return {(f"{q} × {names.get(lid, lid)}" if q > 1 else names.get(lid, lid)): q
            for lid, q in units.items()}


def return_context(conn: Connection, decision_id: str, seen: Seen | None = None) -> dict[str, Any]:
    """The return's instructions in the messages (all None: no return), from ``seen`` if given."""
    ret = seen.shipment if seen is not None else get_return(conn, decision_id)
    if ret is None:
        return {"return_instructions": None, "label_url": None, "qr_code_url": None,
                "return_by": None, "send_by": None, "tracking_code": None, "carrier": None,
                "label_pending": False}
    told = ret.instructions()  # not ``said``: pybabel would take it for the marker
    return {"return_instructions": {k: told[k] for k in (
                "address", "return_by", "label_url", "qr_code_url", "tracking_code", "carrier")},
            "label_url": ret.label_url, "qr_code_url": ret.qr_code_url,
            "return_by": told["return_by"], "tracking_code": ret.tracking_code,
            "carrier": ret.carrier_name, "label_pending": ret.label_status == "pending",
            "send_by": ret.send_by.isoformat()}  # the moment told: ``ReturnRow.send_by``


@dataclass(frozen=True)
class Seen:
    """What the transaction recording a new decision read or wrote already, for its messages:
    the order row (number, item names, language), the decision's ``said`` as stored, the
    return it opened (None: none), the customer's chosen language (``chosen_locale``)."""

    order: OrderSeen
    said: str | None
    shipment: ReturnRow | None
    chosen: str | None = None


def decision_recorded(
    conn: Connection, *, decision_id: str, decision: Decision, order_id: str,
    customer_email: str | None, now: datetime, seen: Seen | None = None, dry_run: bool = False,
    request_lines: list[dict[str, Any]] | None = None,
) -> None:
    """A new decision's messages, in one statement. ``seen``: see ``Seen``; ``dry_run``: above;
    ``request_lines``: the lines the request named (``request_received`` lists each, taken or
    not, with why: ``notify.asked``)."""
    context = decision_context(conn, decision_id, decision, order_id, seen=seen)
    known = Known(seen.order.locale, seen.said, seen.chosen) if seen is not None else None
    mails, cause = context | ({"test_mode": True} if dry_run else {}), f"decision:{decision_id}"
    rows: list[dict[str, Any]] = []
    if decision.kind is DecisionKind.RETURN:
        names = order_names(conn, order_id, seen.order if seen is not None else None)[1]
        listed = {"asked": asked(decision, request_lines or (), names, context["items"])}
        for kind in ("request_received", OUTCOME_MAIL[decision.outcome]):
            if kind == "approved" and awaits_payment(decision):
                continue  # sent with its payment link (``approved_with_payment``)
            enqueue(conn, cause=cause, kind=kind, recipient=customer_email, now=now,
                    context=mails | listed if kind == "request_received" else mails,
                    known=known, batch=rows)
    enqueue(conn, cause=cause, kind="return.decided", recipient=MERCHANT, now=now,
            context={**context, "customer_email": customer_email}, batch=rows)
    enqueue_all(conn, rows)


def awaits_payment(decision: Decision) -> bool:
    """An exchange whose customer pays a difference before it goes ahead."""
    return decision.exchange is not None and decision.exchange.charge > 0


def approved_with_payment(
    conn: Connection, *, decision_id: str, payment_url: str, payment_amount: int, now: datetime,
) -> bool:
    """The Checkout Session for an exchange's difference exists: the ``approved`` mail that
    waited for it (cause ``decision:<id>``, so still one per decision), with the link."""
    recorded, _, email = _recorded(conn, decision_id)
    context = {**recorded, "payment_url": payment_url, "payment_amount": payment_amount}
    return enqueue(conn, cause=f"decision:{decision_id}", kind="approved", recipient=email,
                   now=now, context=context)


def review_closed(
    conn: Connection, *, decision_id: str, decision: Decision, status: str,
    customer_note: str, entry_hash: str, now: datetime, dry_run: bool = False,
) -> None:
    """A person approved or declined (an exchange approved before: a failed one ends, one on
    its way goes ahead without what was not paid back, ``_ended``):
    the customer hears it (with the note for them), the merchant gets ``return.reviewed``.
    ``dry_run``: its money would go to the dry run (a decline has no attempt to say so)."""
    row = conn.execute(select(decisions.c.order_id, decisions.c.customer_email)
                       .where(decisions.c.id == decision_id)).one()
    context = {**decision_context(conn, decision_id, decision, row.order_id, customer_note),
               "status": status}
    approved = status == "approved"
    if decision.kind is DecisionKind.RETURN and not (approved and awaits_payment(decision)):
        enqueue(conn, cause=f"decision:{decision_id}", kind="approved" if approved else "declined",
                recipient=row.customer_email, now=now,
                context=_mail(conn, context) | ({"test_mode": True} if dry_run else {})
                | ({} if approved else _ended(conn, decision_id)))
    enqueue(conn, cause=f"review:{decision_id}:{entry_hash[:16]}", kind="return.reviewed",
            recipient=MERCHANT, now=now, context={**context, "customer_email": row.customer_email})


_SETTLED = {
    (AttemptStatus.SUCCEEDED, ResolutionKind.REFUND.value): ("refund_sent", "refund.succeeded"),
    (AttemptStatus.SUCCEEDED, ResolutionKind.CREDIT.value): ("credit_issued", "credit.issued"),
    (AttemptStatus.FAILED, ResolutionKind.REFUND.value): ("refund_failed", "refund.failed"),
    (AttemptStatus.FAILED, ResolutionKind.CREDIT.value): ("refund_failed", "refund.failed"),
}


# the error codes (``last_error`` starts with them) of attempts no provider was called for
NOT_SENT = ("provider_not_configured:", "instruction_unreadable:")


def attempt_context(conn: Connection, attempt_id: str,
                    row: Any = None) -> tuple[dict[str, Any], Any]:
    """What an attempt's mails and events say, and its row (``row``: the attempt as the
    caller's transaction read or wrote it already, not read again)."""
    if row is None:
        row = conn.execute(select(refund_attempts).where(refund_attempts.c.id == attempt_id)).one()
    number = _number(conn, row.order_id)
    return {
        "attempt_id": row.id, "decision_id": row.decision_id, "order_id": row.order_id,
        "order_number": number, "kind": row.kind, "currency": row.currency,
        "amount": attempt_kinds.paid_out(row.kind, row.amount, row.sent_amount),
        "bonus": int(row.bonus or 0), "credit_code": row.credit_code, "provider": row.provider,
        "provider_reference": row.provider_reference, "status": row.status,
        "dry_run": row.provider == "dryrun",
        **({"label_fee": True} if is_label_fee(row.seq) else {}),  # a label fee given back
        # failed before any provider was asked (none configured by that name, or its stored
        # instruction unreadable): its mail may not say a provider refused
        "not_sent": (row.last_error or "").startswith(NOT_SENT),
    }, row


def attempt_settled(conn: Connection, row: Any, status: str, now: datetime) -> None:
    """An attempt (``row``: its ``refund_attempts`` row as the transition wrote it) reached
    ``succeeded`` or ``failed``: tell the customer and the merchant."""
    kinds = _SETTLED.get((AttemptStatus(status), row.kind))
    if kinds is None:
        return
    if row.provider == "dryrun":  # no money moved: nobody is told it did
        return
    if row.provider == "stripe" and decided_in_test_mode(conn, row.decision_id):
        return  # Stripe's test mode (a test key) moved no real money either
    context, _ = attempt_context(conn, row.id, row)
    mail, event = kinds
    cause = f"attempt:{row.id}"
    enqueue(conn, cause=cause, kind=mail, recipient=row.customer_email, now=now, context=context)
    enqueue(conn, cause=cause, kind=event, recipient=MERCHANT, now=now,
            context={**context, "customer_email": row.customer_email,
                     "error": row.last_error if status == AttemptStatus.FAILED else None})


# --- causes recorded by other rooms: one call each, inside their own transaction -----------


def _recorded(conn: Connection,
              decision_id: str) -> tuple[dict[str, Any], Decision | None, str | None]:
    """A recorded decision's context (``decision_context``), itself and its customer's email.
    A body that cannot be read gives a context ``HELD`` with why (its messages recorded failed)
    and a warning naming the decision and its order, never the stored JSON."""
    row = conn.execute(select(decisions.c.body, decisions.c.order_id, decisions.c.customer_email)
                       .where(decisions.c.id == decision_id)).one()
    try:
        decision = stored.decision(row.body)
        return (_mail(conn, decision_context(conn, decision_id, decision, row.order_id)),
                decision, row.customer_email)
    except stored.UNREADABLE as exc:
        why = stored.why(exc)
    log.warning("the stored body (decisions.body) of decision %s, order %s, cannot be read "
                "(%s): its messages are recorded failed, unsent, until a person repairs the row",
                decision_id, row.order_id, why,
                extra={"decision_id": decision_id, "order_id": row.order_id})
    return {"decision_id": decision_id, "order_id": row.order_id,
            "order_number": _number(conn, row.order_id),
            HELD: f"not sent: decision {decision_id}'s stored body (decisions.body) cannot be "
                  f"read ({why}); a person must repair the row"}, None, row.customer_email


def _mail(conn: Connection, context: dict[str, Any]) -> dict[str, Any]:
    """A decision's mail context, with ``test_mode`` where its money goes to the dry run (the
    mail then promises no money and no email that never comes)."""
    return context | {"test_mode": True} if dry_run_of(conn, context["decision_id"]) else context


def _event(context: dict[str, Any], email: str | None) -> dict[str, Any]:
    """An event's context: the mail's, less its wording flags, with the customer's email."""
    return {**{k: v for k, v in context.items() if k != "test_mode"}, "customer_email": email}


def return_received(
    conn: Connection, *, decision_id: str, received_at: datetime, now: datetime,
    extra: dict[str, Any] | None = None,
) -> None:
    """The returned item arrived: ``item_received`` to the customer, ``return.received`` to
    the merchant (cause ``return:<decision id>``)."""
    recorded, _, email = _recorded(conn, decision_id)
    context = {**recorded, **(extra or {}), "received_at": received_at.isoformat()}
    cause = f"return:{decision_id}"
    for step in ("in_transit", "delivered"):  # an older step not told yet stays untold
        withdraw(conn, cause=f"{cause}:{step}", kind=f"parcel_{step}", recipient=email, now=now,
                 note="not sent: the return was received before this email went")
    enqueue(conn, cause=cause, kind="item_received", recipient=email, now=now, context=context)
    enqueue(conn, cause=cause, kind="return.received", recipient=MERCHANT, now=now,
            context=_event(context, email))


def reminder_cause(decision_id: str, return_by: datetime) -> str:
    """One reminder per return and return-by date."""
    return f"return:{decision_id}:reminder:{return_by.date().isoformat()}"


def reminded(conn: Connection, due: list[tuple[str, datetime]]) -> set[str]:
    """Which of the ``(decision id, return_by)`` pairs were reminded already: their ids."""
    found = recorded_causes(conn, "return_reminder", [reminder_cause(d, by) for d, by in due])
    return {d for d, by in due if reminder_cause(d, by) in found}


def return_reminder(
    conn: Connection, *, decision_id: str, return_by: datetime, now: datetime,
    extra: dict[str, Any] | None = None,
) -> bool:
    """The item is not back yet: one reminder per return-by date (cause
    ``return:<decision id>:reminder:<date>``); the return's instructions and label come with
    the decision's context, ``extra`` may add to them. True: it is new."""
    recorded, _, email = _recorded(conn, decision_id)
    context = {**recorded, **(extra or {}), "return_by": return_by.isoformat()}
    return enqueue(conn, cause=reminder_cause(decision_id, return_by), kind="return_reminder",
                   recipient=email, now=now, context=context)


def return_expired(conn: Connection, *, decision_id: str, now: datetime,
                   extra: dict[str, Any] | None = None) -> None:
    """The item was not sent back in time: ``return_expired`` to the customer,
    ``return.expired`` to the merchant (cause ``return:<decision id>``)."""
    recorded, _, email = _recorded(conn, decision_id)
    context = {**recorded, **(extra or {})}
    cause = f"return:{decision_id}"
    enqueue(conn, cause=cause, kind="return_expired", recipient=email, now=now, context=context)
    enqueue(conn, cause=cause, kind="return.expired", recipient=MERCHANT, now=now,
            context=_event(context, email))


def original_due(conn: Connection, *, decision_id: str, payment_url: str, amount: int,
                 now: datetime) -> bool:
    """An instant exchange's original did not come back: ``exchange_original_due`` to the
    customer with the link that takes its value (cause ``exchange-due:<decision id>``, once)."""
    recorded, decision, email = _recorded(conn, decision_id)
    exchange = decision.exchange if decision is not None else None
    context = {**recorded, "payment_url": payment_url, "due_amount": amount,
               "sent": [{"name": ln.name, "quantity": ln.quantity}
                        for ln in (exchange.lines if exchange else ())]}
    return enqueue(conn, cause=f"exchange-due:{decision_id}", kind="exchange_original_due",
                   recipient=email, now=now, context=context)


def label_ready(conn: Connection, *, decision_id: str, now: datetime) -> None:
    """The label was bought after the decision's mail: ``label_ready``, once (``:label``)."""
    recorded, _, email = _recorded(conn, decision_id)
    enqueue(conn, cause=f"return:{decision_id}:label", kind="label_ready", recipient=email,
            now=now, context=recorded)


def exchange_unavailable(conn: Connection, *, decision_id: str, fallback_decision_id: str,
                         unavailable: list[str], now: datetime,
                         said: dict[str, Any] | None = None) -> bool:
    """The new item sold out before it shipped: ``exchange_unavailable``, with the refund or
    credit instead (``fallback_decision_id``'s) and what became of the difference (``said``:
    ``difference_refunding`` or ``difference_paid``, an amount; ``link_closed``); once."""
    recorded, _, email = _recorded(conn, fallback_decision_id)
    context = {**recorded, "unavailable": unavailable, "exchange_decision_id": decision_id}
    context.update((k, v) for k, v in (said or {}).items() if v)
    return enqueue(conn, cause=f"exchange:{decision_id}:unavailable",
                   kind="exchange_unavailable", recipient=email, now=now, context=context)


def withdrawal_received(
    conn: Connection, *, withdrawal_id: str, name: str, email: str | None, order_id: str,
    lines: list[dict[str, Any]], statement: str, received_at: datetime, now: datetime,
    locale: str | None = None, dry_run: bool = False,
) -> None:
    """An EU withdrawal statement was recorded: the receipt on a durable medium (the statement
    and the time of receipt to the second) and ``withdrawal.received`` (cause
    ``withdrawal:<id>``). ``lines``: ``{"name", "quantity"}`` each, as the customer chose;
    ``dry_run``: the order's money would go to the dry run (the receipt is in test mode)."""
    number = _number(conn, order_id)
    context = {"withdrawal_id": withdrawal_id, "name": name, "order_id": order_id,
               "order_number": number, "lines": lines, "statement": statement,
               "received_at": received_at.isoformat(timespec="seconds")}
    cause = f"withdrawal:{withdrawal_id}"
    enqueue(conn, cause=cause, kind="withdrawal_receipt", recipient=email, now=now,
            locale=locale, context=context | ({"test_mode": True} if dry_run else {}))
    enqueue(conn, cause=cause, kind="withdrawal.received", recipient=MERCHANT, now=now,
            context=_event(context, email))
