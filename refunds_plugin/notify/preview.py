"""What a mail kind would say about a recorded decision, without enqueueing anything:
``refunds mail preview KIND --decision ID`` and the finance page ``/finance/outbox/preview``.

The decision's own figures, items and explanation, as its causes would write them; for a money
kind, the decision's attempt of that kind (or its figures while it has none). The kinds whose
causes live elsewhere (the return-by reminder, the label, the parcel's journey, the item
received, the expiry, an instant exchange's original due, its new item out of stock) show what
the outbox recorded under the decision's cause (``return:<id>``, ``return:<id>:…``,
``exchange-due:<id>``, ``exchange:<id>:unavailable``), the latest one; only when there is none
yet (and for the withdrawal receipt) are dates, statuses, links, items and statements
examples, and say so.
A money email a decision is never sent (``refund_sent`` about store credit only, any of them about
a decision that moves no money) has no preview either (``NotSent``, naming the ones that apply).
A decision whose body cannot be read has no preview (``NotFound``, saying why); one whose
``said`` cannot be read shows its stored English explanation, as its mails would.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, or_, select

from refunds_plugin.errors import InputError, NotFound
from refunds_plugin.language import written_in
from refunds_plugin.ledger.tables import (
    decisions,
    ledger_entries,
    orders,
    outbox,
    refund_attempts,
    reviews,
)
from refunds_plugin.notify import stored
from refunds_plugin.notify.asked import asked
from refunds_plugin.notify.causes import attempt_context, decision_context
from refunds_plugin.notify.kinds import kind as kind_of
from refunds_plugin.notify.links import ASKS_FEEDBACK
from refunds_plugin.notify.outbox import asked_until, read_said
from refunds_plugin.notify.reads import dry_run_of, order_names
from refunds_plugin.notify.render import Rendered, Renderer

# the money emails and the attempts they are sent for (a failed store credit is told as
# ``refund_failed`` too: ``notify.causes``)
MONEY_KINDS = {"refund_sent": ("refund",), "credit_issued": ("credit",),
               "refund_failed": ("refund", "credit")}
# recorded by other rooms under the return's or the exchange's cause (``notify.causes``)
ELSEWHERE = ("item_received", "return_reminder", "label_ready", "return_expired",
             "exchange_original_due", "exchange_unavailable", "parcel_in_transit",
             "parcel_delivered", "parcel_problem")
# the carrier status a parcel email not recorded yet is shown for (an example)
EXAMPLE_STATUS = {"parcel_in_transit": "in_transit", "parcel_delivered": "delivered",
                  "parcel_problem": "return_to_sender"}
EXAMPLE_STATEMENT = ("I hereby withdraw from the contract for the items listed below. "
                     "(example text: the customer's own statement appears here)")


# the emails that say what became of the request: only the one that fits its state is true
OUTCOME_KINDS = ("approved", "in_review", "declined")


@dataclass(frozen=True)
class Preview:
    kind: str
    recipient: str
    rendered: Rendered
    example: bool  # True when some of what it says is made up for the preview
    # the decision's money went to the dry run: nothing was sent, and this email never is
    dry_run: bool = False
    state: str = "approved"  # where the decision stands, in words (``standing``)
    fits: str = "approved"  # the one of ``OUTCOME_KINDS`` that says so


def standing(outcome: str, review: str | None) -> tuple[str, str]:
    """Where a decision stands, in words, and the outcome email that says so: a person's word
    on its review, else the policy's outcome (a review reopened after an approved decision's
    payout failed leaves it approved, as its customer was told)."""
    if review in ("approved", "declined"):
        return f"{review} by a person on review", str(review)
    if outcome == "review":
        return "under review (no person has decided yet)", "in_review"
    if outcome == "decline":
        return "declined", "declined"
    return "approved", "approved"


def preview(engine: Engine, renderer: Renderer, kind: str, decision_id: str,
            now: datetime) -> Preview:
    if kind_of(kind).channel != "mail":
        raise ValueError(f"{kind} is an event, not an email: there is nothing to preview")
    with engine.connect() as conn:
        row = conn.execute(select(decisions).where(decisions.c.id == decision_id)).first()
        if row is None:
            raise NotFound(f"decision {decision_id} is unknown", code="unknown_decision")
        note_body = conn.execute(
            select(ledger_entries.c.body)
            .where(ledger_entries.c.subject_id == decision_id,
                   ledger_entries.c.entry_type == "review_decided")
            .order_by(ledger_entries.c.seq.desc()).limit(1)).scalar_one_or_none()
        note = json.loads(note_body).get("customer_note", "") if note_body else ""
        review = conn.execute(select(reviews.c.status)
                              .where(reviews.c.decision_id == decision_id)).scalar()
        try:
            decision = stored.decision(row.body)
        except stored.UNREADABLE as exc:  # nothing to show: no message can be written from it
            raise NotFound(f"decision {decision_id}'s stored body (decisions.body) cannot be "
                           f"read ({stored.why(exc)}): there is no email to show until a "
                           "person repairs the row", code="unreadable_decision") from None
        context: dict[str, Any] = decision_context(conn, decision_id, decision, row.order_id,
                                                   note)
        if dry_run_of(conn, decision_id):  # as its mails say it: no money, no promise of it
            context["test_mode"] = True
        if kind == "request_received":  # every line asked for, taken or not (``asked``)
            context["asked"] = asked(decision, _request_lines(row.request),
                                     order_names(conn, row.order_id)[1], context["items"])
        said = read_said(decision_id, row.said) if row.said else None
        if said is not None:  # as the queued message would carry it, in its language
            context["explanation_said"] = said
        locale = written_in(row.chosen_locale, conn.execute(
            select(orders.c.locale).where(orders.c.order_id == row.order_id)).scalar())
        example = False
        if kind in MONEY_KINDS:
            moves = _moves(conn, decision, decision_id)
            sent_for = [k for k in MONEY_KINDS[kind] if k in moves]
            if not sent_for:
                raise NotSent(_not_sent(kind, decision_id, moves), code="mail_not_sent")
            attempt_id = conn.execute(
                select(refund_attempts.c.id)
                .where(refund_attempts.c.decision_id == decision_id,
                       refund_attempts.c.kind.in_(sent_for))
                .order_by(refund_attempts.c.seq.desc()).limit(1)).scalar_one_or_none()
            if attempt_id is not None:
                context = attempt_context(conn, attempt_id)[0]
            else:
                credit = sent_for[0] == "credit"
                amount = decision.credit_amount if credit else decision.refund_amount
                context |= {"attempt_id": "", "kind": sent_for[0], "amount": amount,
                            "bonus": 0, "credit_code": "EXAMPLE-CODE" if credit else None}
                example = True
        recorded = _recorded(conn, kind, decision_id) if kind in ELSEWHERE else None
        if kind in ASKS_FEEDBACK:  # as it would be sent now: no link past its window
            context["feedback_until"] = asked_until(conn, decision_id)
    if recorded is not None:  # the email as its cause wrote it
        context, locale = json.loads(recorded.context), recorded.locale
    elif kind in ("return_reminder", "label_ready", "return_expired", "exchange_original_due") \
            and not context.get("return_by"):  # no return opened: an example date
        context["return_by"] = (now + timedelta(days=7)).isoformat()
        example = True
    elif kind == "item_received":
        context["received_at"] = now.isoformat()
        example = True
    elif kind in EXAMPLE_STATUS:  # the carrier has not said it yet: an example status
        context["status"] = EXAMPLE_STATUS[kind]
        example = True
    if kind == "exchange_original_due" and recorded is None:  # an example link, the value
        context |= {"payment_url": "https://checkout.example/original-due",
                    "due_amount": sum(int(i["amount"]) for i in context["items"]),
                    "sent": [{"name": i["name"], "quantity": i["quantity"]}
                             for i in context["items"]]}
        example = True
    elif kind == "exchange_unavailable" and recorded is None:  # not sold out: its new items
        context["unavailable"] = [ln.name for ln in decision.exchange.lines] \
            if decision.exchange is not None else []
        example = True
    elif kind == "withdrawal_receipt":
        context |= {"withdrawal_id": "", "name": row.customer_email or "",
                    "lines": [{"name": i["name"], "quantity": i["quantity"]}
                              for i in context["items"]],
                    "statement": EXAMPLE_STATEMENT, "received_at": now.isoformat()}
        example = True
    state, fits = standing(row.outcome, review)
    return Preview(kind, row.customer_email or "", renderer.render(kind, context, locale, now),
                   example, dry_run=bool(context.get("dry_run")), state=state, fits=fits)


class NotSent(InputError):
    """A money email asked of a decision that is never sent it (a refund's email about a
    decision that gives store credit only): its preview would show a false email."""


def _moves(conn: Connection, decision: Any, decision_id: str) -> set[str]:
    """How the decision's money moves (``refund``, ``credit``): its attempts' kinds, or while it
    has none, the kinds its figures give more than nothing of."""
    made = set(conn.execute(select(refund_attempts.c.kind)
                            .where(refund_attempts.c.decision_id == decision_id)).scalars())
    if made:
        return {str(k) for k in made}
    return ({"refund"} if decision.refund_amount > 0 else set()) | (
        {"credit"} if decision.credit_amount > 0 else set())


def _not_sent(kind: str, decision_id: str, moves: set[str]) -> str:
    words = {"refund": "a refund to the original payment", "credit": "store credit"}
    if not moves:
        return (f"decision {decision_id} moves no money: no {', '.join(MONEY_KINDS)} email is "
                "ever sent for it")
    fits = [k for k, sent_for in MONEY_KINDS.items() if moves & set(sent_for)]
    gives = " and ".join(words[m] for m in sorted(moves, reverse=True))
    return (f"decision {decision_id} gives {gives}: the {kind!r} email is never sent for it; "
            f"the money emails that apply to it: {', '.join(fits)} (refunds mail preview "
            f"{fits[0]} --decision {decision_id})")


def _request_lines(stored_request: str | None) -> list[dict[str, Any]]:
    """The lines a decision's request named, as stored (``decisions.request``); none when it
    cannot be read."""
    try:
        lines = json.loads(stored_request or "{}").get("lines") or []
    except (ValueError, AttributeError):
        return []
    return [ln for ln in lines if isinstance(ln, dict)]


def _recorded(conn: Connection, kind: str, decision_id: str) -> Any:
    """The latest ``kind`` email the outbox holds under one of the decision's causes (its
    context and locale), or None when none was recorded."""
    return conn.execute(
        select(outbox.c.context, outbox.c.locale)
        .where(outbox.c.kind == kind,
               or_(outbox.c.cause == f"return:{decision_id}",
                   outbox.c.cause.like(f"return:{decision_id}:%"),
                   outbox.c.cause == f"exchange-due:{decision_id}",
                   outbox.c.cause == f"exchange:{decision_id}:unavailable"))
        .order_by(outbox.c.seq.desc()).limit(1)).first()
