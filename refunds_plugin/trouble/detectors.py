"""Looking for trouble: overpayments, duplicate charges and failed payments nobody reported.

The detectors read only the ledger's ``orders`` and ``payments`` tables, so they work for any
source (Stripe events, the storefront, Saleor). ``plan`` says what is wrong with one order;
``correct`` turns each finding into a policy decision under a deterministic request key, so a
redelivered or reordered event finds the same key (or no excess left) and adds nothing.
The first succeeded payment (by provider time, ties by reference) is the legitimate one: money
goes back from the later ones, and from the first only beyond the order total.
Each finding names the payments it rests on that no provider event confirmed
(``Finding.unconfirmed``: a reference only a storefront gave); its correction goes to a person.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, select

import policies
from refunds_plugin.domain.kinds import HANDED_OVER, DecisionKind
from refunds_plugin.ledger import facts as facts_mod
from refunds_plugin.ledger.db import aware, remember, take
from refunds_plugin.ledger.paid_out import PAID_OUT, SHORT
from refunds_plugin.ledger.provider_refunds import NOT_REFUNDED
from refunds_plugin.ledger.tables import (
    decisions,
    orders,
    payments,
    provider_refunds,
    refund_attempts,
)
from refunds_plugin.money import refund_increment, written
from refunds_plugin.notify import stored

log = logging.getLogger("refunds.trouble")
CORRECTIONS = (DecisionKind.OVERPAYMENT.value, DecisionKind.DUPLICATE_CHARGE.value)


@dataclass(frozen=True)
class Finding:
    """One thing to correct: ``amount`` back from ``payment_reference``, decided once by key."""

    order_id: str
    kind: DecisionKind
    payment_reference: str
    amount: int
    currency: str
    request_key: str
    detail: str
    # False: no order total to compare with, so two equal payments may be a split; a person
    # decides (policies.evaluate_correction -> review, order_total_unknown)
    order_total_known: bool = True
    # the payments this rests on that the provider never confirmed (a person decides)
    unconfirmed: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        extra = {"unconfirmed": list(self.unconfirmed)} if self.unconfirmed else {}
        return {
            **extra,
            "order_id": self.order_id,
            "kind": self.kind.value,
            "payment_reference": self.payment_reference,
            "amount": self.amount,
            "currency": self.currency,
            "request_key": self.request_key,
            "detail": self.detail,
            "order_total_known": self.order_total_known,
        }


@dataclass(frozen=True)
class Paid:
    """A succeeded payment with what is still ours to give back from it."""

    reference: str
    created: datetime
    captured: int
    available: int  # captured minus refunded, pending and corrections under review
    external_refunded: int  # refunded outside any decision of ours
    confirmed: bool = True  # a provider event (not only a storefront) said it succeeded
    step: int = 1  # the provider's smallest refund step in this currency (Stripe KWD: 10)


# a failed payment took nothing; a disputed one's money is with the dispute (Stripe withdrew it
# when the dispute opened and refuses to refund it: ``charge_disputed``)
_NOT_HELD = ("failed", "disputed")


def _one_mode(rows: Sequence[Any]) -> list[Any]:
    """The payments of one mode: live ones (or of no known mode: a storefront's, Saleor's)
    when there are any, else those Stripe took in its test mode. A test payment took no real
    money, so it makes no live payment a duplicate or an overpayment, nor the other way round."""
    live = [r for r in rows if r.livemode is not False]
    return live or list(rows)


def _sums(conn: Connection, stmt: Any) -> dict[str, int]:
    return {str(ref or ""): int(total or 0) for ref, total in conn.execute(stmt).all()}


def _payments(conn: Connection, order_id: str, currency: str) -> list[Paid]:
    rows = _one_mode(conn.execute(
        select(
            payments.c.reference,
            payments.c.provider,
            payments.c.created_at,
            payments.c.currency,
            payments.c.refunded_reported,
            payments.c.confirmed_at,
            payments.c.livemode,
        ).where(payments.c.order_id == order_id, payments.c.status.not_in(_NOT_HELD))
    ).all())
    facts = {p.reference: p for p in facts_mod.payment_facts(conn, order_id)}
    # our refunds the provider may already count in refunded_reported: what each was sent for
    # (a refund Saleor clamped counts only what it refunded; the rest is someone else's)
    ours_known = _sums(
        conn,
        select(refund_attempts.c.payment_reference, func.sum(PAID_OUT))
        .where(
            refund_attempts.c.order_id == order_id,
            refund_attempts.c.kind == "refund",
            refund_attempts.c.status.in_(HANDED_OVER),
        )
        .group_by(refund_attempts.c.payment_reference),
    )
    theirs = _sums(  # refunds made outside this service (dashboard, another tool)
        conn,
        select(provider_refunds.c.payment_reference, func.sum(provider_refunds.c.amount))
        .where(
            provider_refunds.c.order_id == order_id,
            provider_refunds.c.attempt_id.is_(None),
            provider_refunds.c.status.not_in(NOT_REFUNDED),
        )
        .group_by(provider_refunds.c.payment_reference),
    )
    in_review = _in_review(conn, order_id)
    out = []
    for row in rows:
        pf = facts.get(row.reference)
        if pf is None or row.currency != currency:
            continue  # a payment in another currency is not comparable with the total
        ref = row.reference
        external = max(theirs.get(ref, 0), int(row.refunded_reported) - ours_known.get(ref, 0))
        available = pf.captured - pf.refunded - pf.pending - in_review.get(ref, 0)
        out.append(
            Paid(ref, aware(row.created_at), pf.captured, max(0, available),
                 min(external, pf.captured), row.confirmed_at is not None,
                 refund_increment(row.provider, currency))
        )
    return sorted(out, key=lambda p: (p.created, p.reference))


class UnreadableCorrection(ValueError):
    """A correction's stored body cannot be read: what it holds per payment is unknown."""

    def __init__(self, decision_id: str, why: str) -> None:
        super().__init__(f"correction {decision_id}'s stored body (decisions.body) cannot be "
                         f"read ({why})")
        self.decision_id = decision_id


def _corrections(conn: Connection, order_id: str) -> list[tuple[str, int, list[tuple[str, int]]]]:
    """Each correction decided for the order: its outcome, amount and, waiting for a person,
    what it holds per payment (reference, amount)."""
    rows = conn.execute(
        select(decisions.c.id, decisions.c.outcome, decisions.c.amount, decisions.c.body).where(
            decisions.c.order_id == order_id,
            decisions.c.kind.in_(CORRECTIONS),
            decisions.c.outcome.in_(("approve", "review")),
        )
    ).all()
    short = _short(conn, order_id) if rows else {}
    found = []
    for r in rows:
        try:
            body = json.loads(r.body) if r.outcome == "review" else {}
            held = [(str(res.get("payment_reference") or ""), int(res["amount"]))
                    for res in body.get("resolutions", ())]
        except stored.UNREADABLE as exc:
            raise UnreadableCorrection(r.id, stored.why(exc)) from None
        found.append((r.outcome, int(r.amount) - short.get(r.id, 0), held))
    return found


def _short(conn: Connection, order_id: str) -> dict[str, int]:
    """Per decision: what Saleor did not refund of its clamped refunds (``SHORT``). That part
    went back by the refund that clamped it, which the provider's reported total counts as
    made outside (``ours_known`` counts what was sent), so the correction does not hold it."""
    return _sums(conn, select(refund_attempts.c.decision_id, func.sum(SHORT)).where(
        refund_attempts.c.order_id == order_id,
        refund_attempts.c.kind == "refund",
        refund_attempts.c.status.in_(HANDED_OVER),
        refund_attempts.c.sent_amount < refund_attempts.c.amount,
    ).group_by(refund_attempts.c.decision_id))


def _in_review(conn: Connection, order_id: str) -> dict[str, int]:
    """Per payment: corrections waiting for a person (they hold money but have no attempts)."""
    held: dict[str, int] = {}
    for _outcome, _amount, holds in _corrections(conn, order_id):
        for ref, amount in holds:
            held[ref] = held.get(ref, 0) + amount
    return held


def _scalar(column: Any, table: Any, *where: Any) -> Any:
    return select(column).where(table.c.order_id == bindparam("checked_order"), *where)


# the order's total, its currency, its payments (not failed) and what they captured: what
# ``_precheck`` reads (``trouble.paid`` reads them in its own statement); ``:checked_order``
PRECHECK_COLUMNS = (
    _scalar(orders.c.total_amount, orders).scalar_subquery(),
    _scalar(orders.c.currency, orders).scalar_subquery(),
    _scalar(func.count(), payments, payments.c.status != "failed").scalar_subquery(),
    _scalar(
        func.coalesce(func.sum(payments.c.captured), 0), payments, payments.c.status != "failed"
    ).scalar_subquery(),
)
_PRECHECK = select(*PRECHECK_COLUMNS)  # built once: this runs on every payment, under its lock
_READ = "precheck_read"  # ``db.remember``: order id -> ``PRECHECK_COLUMNS``' values


def remember_precheck(conn: Connection, order_id: str, figures: tuple[Any, ...]) -> None:
    """``PRECHECK_COLUMNS``' values, read in this transaction after its last write to the
    order's row and payments (``trouble.paid``): ``_precheck`` takes them, once."""
    remember(conn, _READ, order_id, figures)


def _precheck(conn: Connection, order_id: str) -> tuple[tuple[int, str] | None, bool]:
    """The order's total, and whether there is nothing to find: the common case in one query.
    A single payment no larger than the order's total can be neither a duplicate nor an
    overpayment."""
    figures = take(conn, _READ, order_id)  # once: what is written next is not in them
    if figures is None:
        figures = conn.execute(_PRECHECK, {"checked_order": order_id}).one()
    total, currency, count, captured = figures
    known = (int(total), str(currency)) if currency is not None else None
    return known, int(count) < 2 and (known is None or int(captured) <= known[0])


def plan(conn: Connection, policy: policies.Policy, order_id: str) -> list[Finding]:
    """What is wrong with this order's money now, net of everything already corrected. An
    order with a correction whose stored body cannot be read has nothing found (nothing is
    decided on a guess of what that correction holds): an error names the order and the
    decision, never the row, and a person repairs it; other orders are looked at as usual."""
    try:
        return _plan(conn, policy, order_id)
    except UnreadableCorrection as exc:
        log.error("order %s: no trouble is looked for: %s; a person must repair the row",
                  order_id, exc, extra={"order_id": order_id, "decision_id": exc.decision_id})
        return []


def _plan(conn: Connection, policy: policies.Policy, order_id: str) -> list[Finding]:
    known, nothing = _precheck(conn, order_id)
    if nothing:
        return []
    currency = known[1] if known else _payment_currency(conn, order_id)
    if currency is None:
        return []
    paid = _payments(conn, order_id, currency)
    if len(paid) < 1:
        return []
    captured = sum(p.captured for p in paid)
    held = sum(amount for _o, amount, _b in _corrections(conn, order_id))
    # without the order's total the first payment stands in for it: what was refunded outside
    # (the first payment refunded in the Dashboard before the customer paid again) is no
    # longer paid twice
    total = known[0] if known is not None else paid[0].captured
    excess = captured - total - sum(p.external_refunded for p in paid) - held
    # what is below the provider's step is its own rounding (Stripe charges KWD in tens of
    # fils, so a 10.005 KWD order is charged 10.010) and cannot go back: no trouble
    excess -= max(0, excess) % max(p.step for p in paid)
    found: list[Finding] = []
    taken: dict[str, int] = {}
    rules = policy.trouble
    if rules.duplicate_charge.enabled:
        window = timedelta(hours=rules.duplicate_charge.window_hours)
        for dup, original in _duplicates(paid, window):
            amount = min(dup.available, excess)
            if amount <= 0:
                continue
            excess -= amount
            taken[dup.reference] = amount
            found.append(
                Finding(
                    order_id,
                    DecisionKind.DUPLICATE_CHARGE,
                    dup.reference,
                    amount,
                    currency,
                    f"duplicate_charge:{dup.reference}",
                    f"{dup.reference} charged the same {written(dup.captured, currency)} as "
                    f"{original.reference} {_gap(original.created, dup.created)} later",
                    order_total_known=known is not None,
                    unconfirmed=_unconfirmed([original, dup]),
                )
            )
    if rules.overpayment.enabled and known is not None and excess > 0:
        found.extend(_overpayment(order_id, currency, paid, known[0], captured, excess, taken))
    return found


def _unconfirmed(paid: list[Paid]) -> tuple[str, ...]:
    return tuple(p.reference for p in paid if not p.confirmed)


def _payment_currency(conn: Connection, order_id: str) -> str | None:
    return conn.execute(
        select(payments.c.currency)
        .where(payments.c.order_id == order_id, payments.c.status != "failed")
        .order_by(payments.c.created_at, payments.c.reference)
        .limit(1)
    ).scalar_one_or_none()


def _duplicates(paid: list[Paid], window: timedelta) -> list[tuple[Paid, Paid]]:
    """Each later payment with an earlier one of the same amount within ``window`` of it."""
    out = []
    for i, later in enumerate(paid):
        earlier = [p for p in paid[:i] if p.captured == later.captured]
        if earlier and later.created - earlier[-1].created <= window:
            out.append((later, earlier[0]))
    return out


def _overpayment(
    order_id: str,
    currency: str,
    paid: list[Paid],
    total: int,
    captured: int,
    excess: int,
    taken: dict[str, int],
) -> list[Finding]:
    """Spread the excess over the later payments, newest first; the first keeps the total."""
    first, later = paid[0], paid[1:]
    unconfirmed = _unconfirmed(paid)  # the excess is the sum of them all
    sources = [(p, p.available - taken.get(p.reference, 0)) for p in reversed(later)]
    surplus = max(0, first.captured - total)  # the first payment alone paid more than the total
    sources.append((first, min(first.available, surplus)))
    found = []
    for pay, room in sources:
        amount = min(room, excess)
        if amount <= 0:
            continue
        excess -= amount
        found.append(
            Finding(
                order_id,
                DecisionKind.OVERPAYMENT,
                pay.reference,
                amount,
                currency,
                f"overpayment:{captured}:{pay.reference}",
                f"captured {written(captured, currency)} against an order total of "
                f"{written(total, currency)}",
                unconfirmed=unconfirmed,
            )
        )
    return found


def _gap(a: datetime, b: datetime) -> str:
    minutes = int((b - a).total_seconds() // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"
