"""Totals over time for finance: refunded, credited, kept, sent to review, the refund rate
against sales, and promise keeping (time from decision to money returned, and misses). A
refused attempt that a review's approval replaced (journal ``retry_of``) is left out: its
replacement says whether and when the money was returned.

What each figure means (the summary page says the same):
- sales: payments captured, counted on the day the order was paid (the order's ``paid_at`` as
  the shop reported it; a payment of an order without one counts on the day it was recorded);
  not one Stripe captured in its test mode (the payment's ``livemode`` is false, revision
  0029): no real money was taken, so it is apart, in test_mode_sales. A payment whose mode is
  not known (recorded before 0029, or named only by a storefront or Saleor) counts as before;
- refunded / credited: succeeded attempts of the period's decisions' resolutions, retries
  included (credit with its bonus; a refund Saleor clamped to what was still charged at what it
  refunded, its ``sent_amount``). A payment made for an exchange and given back (an original
  due, a difference: ``exchange_dues.refund_of``, retries included) is no refund of the sale;
  it is in neither, nor in the promise keeping. A return label fee given back because no label
  could be bought (``LABEL_FEE``) is in them: it is the sale's money the decision had kept
  back, so the sale's refund is whole only with it; it is not a second decision, and promise
  keeping leaves it out;
- dry_run: what the dry-run provider "paid": no money moved, so it is in neither of the above;
- test_mode: what Stripe "paid" in its test mode (a test key; the attempt's ``livemode`` is
  false): no real money moved, so it is in neither refunded nor credited (nor the refund rate).
  An attempt whose mode is not known (written before revision 0025) counts as it always did;
- review_count / review_amount: decisions the policy sent to a person that still wait for one,
  with what the policy would give; review_approved / review_approved_amount: those a person
  approved, with the final amount (a change made on approval included); review_declined: those
  a person declined; sent_to_review: all of them, however they stand;
- kept: the value of the items the customer keeps in returns granted (``rows.granted_by``:
  approved by the policy or a person, and not declined by one since): where nothing is sent
  back, the final amount; where some items stay and others come back, the staying items'
  value, as the insights count it (``return_figures.kept``). A
  correction the shop made itself (an overpayment, a duplicate charge) returns no item, so it
  is never "kept": its money is counted once, under refunded.
- return_labels: the prepaid return labels bought for the period's decisions and what they cost
  (in the carrier's currency): a cost of returns, beside the money returned.
- exchanges ("sales kept"): approved exchanges that did not fall back to a refund or credit,
  nor failed (one waiting for a person kept no sale yet; counted again once taken up);
  exchange_retained: the revenue they kept, the returned items' value less any cheaper item's
  difference given back; exchange_charged: dearer items' differences paid (not one refunded
  because the exchange did not go ahead, by a refund attempt or by a person in Stripe: that
  refund is not in refunded either);
  exchange_original_due: what instant exchanges' originals that never came back left due from
  the customers (``exchange_dues``); exchange_original_paid: what of it they paid (and was not
  refunded when the original arrived after all). Such a refund gives back that payment, not the
  sale, so it is not in refunded. A difference or an original paid through a Checkout Session
  Stripe made in its test mode (its ``livemode`` false, revision 0030) took no real money: it
  is in neither, but apart, in test_mode_exchange_paid (differences and originals alike); one
  whose mode is not known counts as before.

Promise keeping lists each EU withdrawal received in the period with its legal deadline
(received + 14 days) and where its money stands (``finance/withdrawals.py``).

The promise clock of a return whose money waits for the parcel (``refund_on``) starts when the
parcel's trigger released it, not at the decision; one still waiting is neither kept nor missed.

Money is summed per currency in integer minor units; the refund rate is in basis points.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, exists, func, select

from refunds_plugin.domain.decision import Exchange
from refunds_plugin.domain.kinds import AttemptStatus, DecisionKind, paid_out
from refunds_plugin.finance.rows import DRYRUN_PROVIDER, granted_by, parse_when
from refunds_plugin.finance.withdrawals import WithdrawalRow, find_withdrawals
from refunds_plugin.ledger.attempt_reads import silent_attempts
from refunds_plugin.ledger.db import aware, iso_time
from refunds_plugin.ledger.exchange_dues import (
    DIFFERENCE,
    DIFFERENCE_BY_HAND,
    LABEL_FEE,
    SALE,
    refund_of,
)
from refunds_plugin.ledger.tables import (
    decisions,
    exchange_dues,
    exchanges,
    ledger_entries,
    orders,
    payments,
    refund_attempts,
    return_figures,
    return_shipments,
    reviews,
)

METRICS = ("sales", "refunded", "credited", "kept", "review_count", "review_amount", "decisions",
           "dry_run", "exchanges", "exchange_retained", "exchange_charged",
           "exchange_original_due", "exchange_original_paid", "sent_to_review",
           "review_approved", "review_approved_amount", "review_declined", "test_mode",
           "test_mode_sales", "test_mode_exchange_paid")


def percentile(values: list[int], pct: int) -> int | None:
    """Nearest-rank percentile of whole seconds; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-pct * len(ordered) // 100))  # ceil without floats
    return ordered[rank - 1]


@dataclass
class Totals:
    currency: str
    sales: int = 0
    refunded: int = 0
    credited: int = 0
    kept: int = 0
    review_count: int = 0  # sent to review and still waiting for a person
    review_amount: int = 0  # what those would give as the policy decided them
    sent_to_review: int = 0  # every decision the policy sent to a person, however it stands
    review_approved: int = 0  # approved by a person
    review_approved_amount: int = 0  # with the final amount (a person's change included)
    review_declined: int = 0  # declined by a person
    decisions: int = 0
    dry_run: int = 0  # what the dry-run provider "paid" (refund or credit): nothing moved
    exchanges: int = 0  # "sales kept": exchanges that went ahead (not fallen back)
    exchange_retained: int = 0  # the revenue they kept
    exchange_charged: int = 0  # dearer items' differences, paid
    exchange_original_due: int = 0  # instant exchanges' originals not returned: due
    exchange_original_paid: int = 0  # of which paid (and not refunded)
    test_mode: int = 0  # what Stripe "paid" in its test mode (a test key): no real money moved
    test_mode_sales: int = 0  # what Stripe captured in its test mode: no real money taken
    # exchange differences and originals paid in Stripe's test mode: no real money taken
    test_mode_exchange_paid: int = 0

    @property
    def refund_rate_bp(self) -> int | None:
        """Refunded as basis points of sales (1 bp = 0.01 %), rounded down."""
        return self.refunded * 10_000 // self.sales if self.sales else None

    def to_json(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in METRICS}
        return {"currency": self.currency, **data, "refund_rate_bp": self.refund_rate_bp}


@dataclass
class Summary:
    since: datetime | None
    until: datetime | None
    totals: dict[str, Totals] = field(default_factory=dict)
    days: dict[str, dict[str, Totals]] = field(default_factory=dict)  # day -> currency -> Totals
    returned_seconds: list[int] = field(default_factory=list)
    missed_promise: int = 0
    overdue: int = 0  # not returned yet and already past the promise
    dry_run_decisions: int = 0  # every attempt "paid" by the dry run: counted apart
    test_mode_decisions: int = 0  # every attempt paid, some in Stripe's test mode: apart too
    labels: dict[str, list[int]] = field(default_factory=dict)  # currency -> [count, cost]
    withdrawals: list[WithdrawalRow] = field(default_factory=list)  # EU, with their deadlines

    def _bucket(self, day: str, currency: str) -> tuple[Totals, Totals]:
        total = self.totals.setdefault(currency, Totals(currency))
        per_day = self.days.setdefault(day, {}).setdefault(currency, Totals(currency))
        return total, per_day

    def to_json(self) -> dict[str, Any]:
        return {
            "since": iso_time(self.since) if self.since else None,
            "until": iso_time(self.until) if self.until else None,
            "totals": [t.to_json() for _, t in sorted(self.totals.items())],
            "days": [
                {"day": day, "totals": [t.to_json() for _, t in sorted(per.items())]}
                for day, per in sorted(self.days.items())
            ],
            "promise": {
                "returned": len(self.returned_seconds),
                "median_seconds": percentile(self.returned_seconds, 50),
                "p95_seconds": percentile(self.returned_seconds, 95),
                "missed": self.missed_promise,
                "overdue": self.overdue,
                "dry_run": self.dry_run_decisions,
                "test_mode": self.test_mode_decisions,
            },
            # promise keeping's legal part: the EU withdrawals and their deadlines
            "withdrawals": {
                "received": len(self.withdrawals),
                "overdue": sum(1 for w in self.withdrawals if w.overdue),
                "items": [w.to_json() for w in self.withdrawals],
            },
            "return_labels": [{"currency": cur, "labels": n, "cost": cost}
                              for cur, (n, cost) in sorted(self.labels.items())],
        }


def _period(query: Any, column: Any, since: datetime | None, until: datetime | None) -> Any:
    if since is not None:
        query = query.where(column >= since)
    if until is not None:
        query = query.where(column < until)
    return query


def summarize(
    engine: Engine, since: datetime | None, until: datetime | None, now: datetime
) -> Summary:
    out = Summary(since, until)
    with engine.connect() as conn:
        # when the money was paid: the order's paid_at, else when the payment was recorded
        paid = func.coalesce(orders.c.paid_at, payments.c.created_at)
        for when, currency, captured, livemode in conn.execute(
            _period(
                select(paid, payments.c.currency, payments.c.captured, payments.c.livemode)
                .select_from(payments.outerjoin(orders, orders.c.order_id == payments.c.order_id))
                .where(payments.c.status != "failed"),
                paid,
                since,
                until,
            )
        ):
            day = aware(when) if isinstance(when, datetime) else aware(parse_when(str(when)))
            assert day is not None
            for t in out._bucket(day.astimezone(UTC).date().isoformat(), currency):
                if livemode is False:  # Stripe's test mode: no real money taken
                    t.test_mode_sales += int(captured)
                else:
                    t.sales += int(captured)
        money: dict[str, list[Any]] = {}
        attempt_query = select(
            refund_attempts.c.id,
            refund_attempts.c.decision_id,
            refund_attempts.c.kind,
            refund_attempts.c.provider,
            refund_attempts.c.status,
            refund_attempts.c.amount,
            refund_attempts.c.sent_amount,
            refund_attempts.c.bonus,
            refund_attempts.c.completed_at,
            refund_attempts.c.seq,
            refund_attempts.c.livemode,
        ).join(decisions, decisions.c.id == refund_attempts.c.decision_id)
        for att in conn.execute(_period(attempt_query, decisions.c.created_at, since, until)):
            money.setdefault(att.decision_id, []).append(att)
        _drop_replaced(conn, money)
        dec_query = select(
            decisions.c.id,
            decisions.c.created_at,
            decisions.c.currency,
            decisions.c.kind,
            decisions.c.outcome,
            decisions.c.amount,
            decisions.c.body,
            reviews.c.status.label("review_status"),
            reviews.c.adjusted_amount,
            return_figures.c.kept.label("kept_lines"),
        ).select_from(decisions.outerjoin(reviews, reviews.c.decision_id == decisions.c.id)
                      .outerjoin(return_figures, return_figures.c.decision_id == decisions.c.id))
        ships = {r.decision_id: r for r in conn.execute(_period(
            select(return_shipments.c.decision_id, return_shipments.c.released_at,
                   return_shipments.c.label_amount, return_shipments.c.label_currency)
            .join(decisions, decisions.c.id == return_shipments.c.decision_id),
            decisions.c.created_at, since, until))}
        for label in ships.values():
            if label.label_amount is not None and label.label_currency:
                bucket = out.labels.setdefault(label.label_currency, [0, 0])
                bucket[0] += 1
                bucket[1] += int(label.label_amount)
        swapped = {row.decision_id: row for row in conn.execute(_period(
            select(exchanges.c.decision_id, exchanges.c.status, exchanges.c.paid_at,
                   exchanges.c.livemode,
                   exchange_dues.c.amount.label("due_amount"),
                   exchange_dues.c.status.label("due_status"),
                   exchange_dues.c.paid_amount.label("due_paid"),
                   exchange_dues.c.livemode.label("due_livemode"),
                   exists().where(  # a paid difference a person refunded in Stripe
                       ledger_entries.c.entry_type == DIFFERENCE_BY_HAND,
                       ledger_entries.c.subject_id == exchanges.c.decision_id)
                   .label("refunded_by_hand"))
            .join(decisions, decisions.c.id == exchanges.c.decision_id)
            .outerjoin(exchange_dues, exchange_dues.c.decision_id == exchanges.c.decision_id),
            decisions.c.created_at, since, until))}
        for dec in conn.execute(_period(dec_query, decisions.c.created_at, since, until)):
            ship = ships.get(dec.id)
            # still waiting for the parcel (or expired before it came): no promise clock, but
            # what a person paid anyway (a late parcel accepted) was paid
            waiting = ship is not None and ship.released_at is None
            _add_decision(out, dec, money.get(dec.id, []), now,
                          aware(ship.released_at) if ship is not None and not waiting else None,
                          swapped.get(dec.id), waiting)
    out.withdrawals = find_withdrawals(engine, since, until, now)
    return out


def _drop_replaced(conn: Connection, money: dict[str, list[Any]]) -> None:
    """Leave out each failed attempt a later one replaced, and each replacement canceled
    because the attempt it replaced succeeded late, as ``rows.attempt_statuses`` does
    (``attempt_reads.silent_attempts``)."""
    gone = silent_attempts(conn, [a for atts in money.values() for a in atts])
    if gone:
        for decision_id, atts in money.items():
            money[decision_id] = [a for a in atts if a.id not in gone]


def _add_decision(out: Summary, dec: Any, attempts: list[Any], now: datetime,
                  clock_from: datetime | None = None, swapped: Any = None,
                  waiting: bool = False) -> None:
    """``clock_from``: when the promise clock started, if not at the decision (``refund_on``);
    ``swapped``: the decision's exchanges row, if it swapped lines; ``waiting``: its money
    waits for a parcel the trigger never released, so no promise clock runs."""
    body = json.loads(dec.body)
    created = aware(dec.created_at)
    assert created is not None
    total, per_day = out._bucket(created.date().isoformat(), dec.currency)
    # a person's approval may have changed the amount: the final one counts
    final = int(dec.adjusted_amount if dec.adjusted_amount is not None else dec.amount)
    granted = granted_by(dec.outcome, dec.review_status)
    # every item stays: the final amount; some stay, others come back: those items' value
    # as the insights count it (``return_figures.kept``, final after a person's change)
    kept = final if body.get("return_required", True) is False else int(dec.kept_lines or 0)
    # a paid original due or a paid difference given back (retries too) is no refund of the
    # sale: neither in refunded nor in the promise, which is about the sale's money
    sale = [a for a in attempts if refund_of(a.seq) == SALE]
    # and a label fee given back (retries too) is the sale's money: counted, not promised
    paid_back = [a for a in attempts if refund_of(a.seq) in (SALE, LABEL_FEE)]
    for t in (total, per_day):
        t.decisions += 1
        if dec.outcome == "review":
            t.sent_to_review += 1
            if dec.review_status == "approved":
                t.review_approved += 1
                t.review_approved_amount += final
            elif dec.review_status == "declined":
                t.review_declined += 1
            else:  # open: waiting for a person
                t.review_count += 1
                t.review_amount += int(dec.amount)
        if granted and dec.kind == DecisionKind.RETURN:
            t.kept += kept
        if swapped is not None and swapped.status != "fallen_back" and body.get("exchange"):
            ex = Exchange.from_dict(body["exchange"])
            if swapped.status != "failed":  # a person must look first: no sale kept (yet)
                t.exchanges += 1
                t.exchange_retained += ex.out_amount - ex.back
            # a difference or an original paid in Stripe's test mode: no real money taken;
            # a difference refunded (the exchange declined: ``DIFFERENCE``, retries too, or by
            # a person in Stripe: ``exchanges.by_hand``) was not kept
            given_back = any(refund_of(a.seq) == DIFFERENCE
                             and a.status == AttemptStatus.SUCCEEDED for a in attempts)
            if swapped.paid_at is None or given_back or swapped.refunded_by_hand:
                pass
            elif swapped.livemode is False:
                t.test_mode_exchange_paid += ex.charge
            else:
                t.exchange_charged += ex.charge
            t.exchange_original_due += int(swapped.due_amount or 0)
            if swapped.due_status == "paid" and swapped.due_livemode is False:
                t.test_mode_exchange_paid += int(swapped.due_paid or 0)
            elif swapped.due_status == "paid":
                t.exchange_original_paid += int(swapped.due_paid or 0)
        for att in paid_back:
            if att.status != AttemptStatus.SUCCEEDED:
                continue
            # a refund Saleor clamped gave less than the attempt's amount (``paid_out``)
            given = paid_out(att.kind, att.amount, att.sent_amount) + int(att.bonus or 0)
            if att.provider == DRYRUN_PROVIDER:
                t.dry_run += given
            elif att.livemode is False:  # Stripe's test mode: no real money moved
                t.test_mode += given
            elif att.kind == "refund":
                t.refunded += given
            else:
                t.credited += given
    if waiting:
        return
    promise = body.get("promise_hours")
    start = clock_from or created
    deadline = start + timedelta(hours=promise) if promise is not None else None
    paid = bool(sale) and all(a.status == AttemptStatus.SUCCEEDED for a in sale)
    if paid and any(a.provider == DRYRUN_PROVIDER for a in sale):
        out.dry_run_decisions += 1  # the dry run "paid": no money moved, no promise kept
    elif paid and any(a.livemode is False for a in sale):
        out.test_mode_decisions += 1  # Stripe's test mode: no real money returned
    elif paid:
        finished = max(aware(a.completed_at) or start for a in sale)
        out.returned_seconds.append(int((finished - start).total_seconds()))
        if deadline is not None and finished > deadline:
            out.missed_promise += 1
    elif (
        sale
        and deadline is not None
        and now > deadline
        and any(a.status not in (AttemptStatus.SUCCEEDED, AttemptStatus.CANCELED) for a in sale)
    ):
        out.overdue += 1
