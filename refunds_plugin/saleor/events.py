"""What Saleor's order webhooks tell the ledger, after re-querying the order.

Saleor builds order payloads late and sends at-least-once with no delivery id, and one change
fires several events (ORDER_REFUNDED + ORDER_UPDATED ...). All four order events are handled
the same way — store the re-queried order, reconcile our attempts with the granted refunds — so
the inbox key is the order and a hash of its relevant state: the same state is applied once,
whichever event or redelivery brings it.

``SaleorEvents.read`` re-queries the order before any transaction; ``apply`` and
``after_saleor_order`` then run inside the one ``intake.service`` opens with the inbox row.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, select

import policies
from refunds_plugin.domain.kinds import AttemptStatus
from refunds_plugin.errors import NotFound
from refunds_plugin.ledger.attempt_reads import find_by_provider_reference, unknown_unreferenced
from refunds_plugin.ledger.attempts import get_attempt, settle_from_provider
from refunds_plugin.ledger.db import aware
from refunds_plugin.ledger.late_outcomes import succeeded_after_failure
from refunds_plugin.ledger.orders import (
    OrderRecord,
    forget_fulfilled,
    record_payment,
    report_refunded,
    set_order_number,
    upsert_order,
)
from refunds_plugin.ledger.provider_refunds import upsert_provider_refund
from refunds_plugin.ledger.tables import orders
from refunds_plugin.money import Money
from refunds_plugin.routing import Route
from refunds_plugin.saleor import graphql, request_outcomes
from refunds_plugin.saleor.client import SaleorClient
from refunds_plugin.saleor.egress import GuardedSession
from refunds_plugin.saleor.graphql import attempt_in_reason
from refunds_plugin.saleor.installs import get_install
from refunds_plugin.saleor.order import SaleorOrder, SaleorPayment, order_from_saleor
from refunds_plugin.saleor.tags import FINAL_SALE_KEY
from refunds_plugin.trouble.corrections import Woken, adopt_payment, correct, woken
from refunds_plugin.trouble.follow_ups import clear_follow_ups

log = logging.getLogger("refunds.saleor")

HANDLED = frozenset(e.lower() for e in graphql.ORDER_EVENTS)
GRANT_STATUS = {
    "SUCCESS": "succeeded",
    "FAILURE": "failed",
    "PENDING": "pending",
    "NONE": "granted",
}
ATTEMPT_TARGET = {
    "SUCCESS": AttemptStatus.SUCCEEDED,
    "FAILURE": AttemptStatus.FAILED,
    "PENDING": AttemptStatus.SENT,
}
# a REFUND_FAILURE without a reference that may be our request's or another's (``undecided``)
UNCLEAR = ("Saleor gave up on a {} refund request on this transaction without saying which: "
           "this one, or another of the same amount still waiting. Check the transaction's "
           "events in the Saleor Dashboard; the amount stays held until Saleor's answer tells")
# what a transaction refund request of ours became, by the event that settled it
REQUEST_OUTCOME = {
    "REFUND_SUCCESS": AttemptStatus.SUCCEEDED,
    "REFUND_FAILURE": AttemptStatus.FAILED,
}


def _first_shipped(conn: Connection, so: SaleorOrder) -> tuple[OrderRecord, bool]:
    """The order with the earliest shipping date the ledger has seen for it, and whether the
    stored date is to be cleared. A return that empties a FULFILLED fulfillment makes Saleor
    delete it (its ``created`` gone from every later read, which finds another parcel or the
    RETURNED one, made at the return): the stored date stays, or the return window of what is
    left would start again. A stored date that is a fulfillment's whose goods never left (staff
    canceled it, or it waits for approval: ``order.LEFT``) is given up: the next parcel's date
    is the shipping date, and with none the order has no shipping date."""
    rec = so.record
    was = aware(conn.execute(_FULFILLED_AT, {"order_id": rec.order_id}).scalar())
    if was is None or (rec.fulfilled_at is not None and aware(rec.fulfilled_at) <= was):
        return rec, False
    if was in so.unsent:
        return rec, rec.fulfilled_at is None
    return replace(rec, fulfilled_at=was), False


def store_order(conn: Connection, so: SaleorOrder, now: datetime) -> None:
    rec, unshipped = _first_shipped(conn, so)
    upsert_order(conn, rec, now)
    if unshipped:
        forget_fulfilled(conn, rec.order_id, now)
    number = ((rec.extra or {}).get("saleor") or {}).get("order_number")
    if number:  # what the customer types on /returns
        set_order_number(conn, rec.order_id, str(number))
    for pay in so.payments:
        if pay.captured <= 0:
            continue
        record_payment(
            conn,
            provider="saleor",
            reference=pay.reference,
            order_id=rec.order_id,
            currency=rec.currency,
            captured=pay.captured,
            customer=rec.customer,
            now=now,
            confirmed=True,  # read from Saleor itself, not from what a webhook claimed
        )
        report_refunded(conn, "saleor", pay.reference, pay.refunded, now)
    if so.fully_paid:
        clear_follow_ups(conn, rec.order_id, now)


def reconcile(conn: Connection, so: SaleorOrder, now: datetime, by: str = "") -> list[str]:
    """Bring our attempts in line with the status of the granted refunds they created.

    ``by`` names what re-queried the order (a webhook's event, the poller, a decision's
    refresh): the journal says who saw each outcome."""
    seen = f" (seen by {by})" if by else ""
    notes = []
    for grant in so.granted_refunds:
        attempt = find_by_provider_reference(conn, "saleor", grant.id)
        if attempt is None and (aid := attempt_in_reason(grant.reason)):
            attempt = get_attempt(conn, aid)
        upsert_provider_refund(
            conn,
            provider="saleor",
            refund_id=grant.id,
            payment_reference=grant.transaction_id,
            order_id=so.record.order_id,
            attempt_id=attempt.id if attempt else None,
            currency=so.record.currency,
            amount=grant.amount,
            status=GRANT_STATUS.get(grant.status, grant.status.lower()),
            now=now,
        )
        target = ATTEMPT_TARGET.get(grant.status)
        if attempt is not None and target == AttemptStatus.SUCCEEDED \
                and attempt.status == AttemptStatus.FAILED:  # re-requested in the Dashboard
            notes += succeeded_after_failure(
                conn, attempt, grant.id, now, f"saleor granted refund SUCCESS{seen}")
            continue
        if attempt is None or target is None:
            continue
        if settle_from_provider(
            conn,
            attempt,
            target,
            now,
            provider_reference=grant.id,
            error="Saleor reports the granted refund FAILURE"
            if target == AttemptStatus.FAILED else None,
            note=f"saleor granted refund {grant.status}{seen}",
        ):
            notes.append(f"attempt {attempt.id} {target}")
    for pay in so.payments:
        notes += _reconcile_requests(conn, so, pay, now, seen)
    return notes


def _reconcile_requests(
    conn: Connection, so: SaleorOrder, pay: SaleorPayment, now: datetime, seen: str
) -> list[str]:
    """Our ``transactionRequestAction`` refunds (duplicate charges, overpayments): each
    REFUND_REQUEST event we caused is settled by its REFUND_SUCCESS or REFUND_FAILURE on that
    transaction, paired by the payment app's reference (``request_outcomes``)."""
    notes = []
    events = sorted(pay.events, key=lambda e: (e.created or now, e.id))
    granted = {ev for grant in so.granted_refunds for ev in grant.events}
    # a granted refund's request and outcome are settled by the grant's status
    outcomes = request_outcomes.pair(events, skip=granted)
    unclear = request_outcomes.undecided(events, outcomes, skip=granted)
    for req in events:
        if req.type != "REFUND_REQUEST" or req.id in granted:
            continue
        # or the attempt that gave up not knowing if its request reached Saleor: ``req`` is its
        # if new since it asked, of its amount and no granted refund's (as the provider's own
        # retry decides)
        attempt = find_by_provider_reference(conn, "saleor", req.id) or next(
            (a for a in unknown_unreferenced(conn, "saleor", pay.reference, req.amount)
             if a.progress.get("action") == "requested"
             and req.id not in a.progress.get("requests_before", [])
             and req.id not in granted),
            None,
        )
        outcome = outcomes.get(req.id)
        if attempt is None:
            continue  # a staff refund: the transaction's refundedAmount already counts it
        status = REQUEST_OUTCOME.get(outcome.type if outcome else "", AttemptStatus.PENDING)
        upsert_provider_refund(
            conn,
            provider="saleor",
            refund_id=req.id,
            payment_reference=pay.reference,
            order_id=so.record.order_id,
            attempt_id=attempt.id,
            currency=so.record.currency,
            amount=req.amount,
            status=status,
            now=now,
        )
        # a request still pending is news only to an attempt that did not know it reached Saleor
        unknown = attempt.status == AttemptStatus.UNKNOWN
        target = AttemptStatus.SENT if status == AttemptStatus.PENDING and unknown else status
        if status == AttemptStatus.PENDING and req.id in unclear:  # a person looks
            target = AttemptStatus.UNKNOWN
        if target == AttemptStatus.PENDING:
            continue
        error = {AttemptStatus.FAILED: "Saleor reports the refund request REFUND_FAILURE",
                 AttemptStatus.UNKNOWN: UNCLEAR.format(Money(req.amount, so.record.currency))}
        if settle_from_provider(
            conn,
            attempt,
            target,
            now,
            provider_reference=req.id,
            error=error.get(target),
            note=f"saleor transaction refund {outcome.type if outcome else 'REFUND_REQUEST'}"
            + seen,
        ):
            notes.append(f"attempt {attempt.id} {target}")
    return notes


def apply(conn: Connection, so: SaleorOrder, now: datetime, by: str = "") -> str:
    """Store the re-queried order and reconcile our attempts, in the caller's transaction."""
    store_order(conn, so, now)
    return "; ".join(["order stored", *reconcile(conn, so, now, by)])


def after_saleor_order(
    conn: Connection,
    policy: policies.Policy,
    route: Route,
    order_id: str,
    *,
    charge_status: str | None,
    total_balance: int | None,
    transactions: Mapping[str, datetime | None],
    now: datetime,
) -> Woken:
    """After ``apply``, in its transaction, once the re-queried order and its transactions
    (provider ``saleor``, reference = transaction id) are stored.

    ``transactions`` maps each transaction id to its ``createdAt``, which orders the payments
    (Saleor's own time, not ours). Saleor flags an overcharge with ``chargeStatus`` OVERCHARGED
    or a positive ``totalBalance`` (minor units); only then do the detectors run, and the
    correction never exceeds Saleor's own balance when it gives one.
    """
    for reference, created in sorted(transactions.items()):
        adopt_payment(conn, "saleor", reference, created, now)
    overcharged = charge_status == "OVERCHARGED" or (total_balance or 0) > 0
    if not overcharged:
        return Woken()
    cap = total_balance if total_balance is not None and total_balance > 0 else None
    return woken(correct(conn, policy, route, order_id, now, "saleor:overcharged", cap))


def after_order(
    conn: Connection, policy: policies.Policy, route: Route, so: SaleorOrder, now: datetime
) -> Woken:
    """``after_saleor_order`` for a re-queried order."""
    return after_saleor_order(
        conn,
        policy,
        route,
        so.record.order_id,
        charge_status=so.charge_status,
        total_balance=so.total_balance,
        transactions={p.reference: p.created for p in so.payments if p.captured > 0},
        now=now,
    )


def log_event(event: str, order_id: str, note: str | None) -> None:
    log.info("saleor %s: %s", event, note, extra={"order_id": order_id})


@dataclass(frozen=True)
class OrderEvent:
    """An order webhook after the re-query: the order as Saleor has it now, or why not."""

    order: SaleorOrder | None
    ours: bool = False  # caused by this app (its own refund or return)
    ignored: str | None = None

    @property
    def key(self) -> str:
        """The inbox key: the order and its state, so one state is applied once."""
        assert self.order is not None
        return f"{self.order.record.order_id}@{self.order.state_hash}"


def order_reference(payload: Any) -> tuple[str | None, tuple[Any, Any]]:
    """The order id a webhook names and who caused it (``__typename``, ``id``); the payload is
    untrusted JSON, so any part may be missing or of another type."""
    order = payload.get("order") if isinstance(payload, dict) else None
    order_id = order.get("id") if isinstance(order, dict) else None
    if not isinstance(order_id, str | int) or isinstance(order_id, bool) or order_id == "":
        order_id = None
    principal = payload.get("issuingPrincipal") if isinstance(payload, dict) else None
    if not isinstance(principal, dict):
        principal = {}
    return (None if order_id is None else str(order_id),
            (principal.get("__typename"), principal.get("id")))


_FULFILLED_AT = select(orders.c.fulfilled_at).where(orders.c.order_id == bindparam("order_id"))
_ORDER_SOURCE = select(orders.c.source, orders.c.extra).where(
    orders.c.order_id == bindparam("order_id")
)


OTHERS_KEPT = 100_000


@dataclass
class SaleorEvents:
    """Order re-queries for every installed Saleor: for a webhook, and before a decision."""

    engine: Engine
    clock: Callable[[], datetime]
    session: GuardedSession  # allow-listed shops only (saleor.egress)
    timeout: float = 15.0
    final_sale_key: str = FINAL_SALE_KEY  # the metadata key that marks a product final sale
    # orders the ledger holds from another source: an order's source never changes, so every
    # storefront return need not ask the database again (bounded: emptied when full)
    others: set[str] = field(default_factory=set, compare=False, repr=False)

    def client(self, api_url: str) -> SaleorClient:
        with self.engine.connect() as conn:
            install = get_install(conn, api_url)
        if install is None:
            raise NotFound(f"no Saleor app installed for {api_url}", code="unknown_saleor")
        return SaleorClient(api_url, install.token, session=self.session, timeout=self.timeout)

    def fetch_order(self, api_url: str, order_id: str) -> SaleorOrder | None:
        data = self.client(api_url).execute(graphql.ORDER, {"id": order_id})
        order = data.get("order")
        if not isinstance(order, dict):
            return None
        return order_from_saleor(order, api_url, self.final_sale_key)

    def read(self, api_url: str, payload: dict[str, Any], app_id: str | None) -> OrderEvent:
        """Re-query the order a webhook names (before any transaction: Saleor is slow)."""
        order_id, by = order_reference(payload)
        if not order_id:
            return OrderEvent(None, ignored="payload names no order")
        ours = bool(app_id) and by == ("App", app_id)
        so = self.fetch_order(api_url, str(order_id))
        if so is None:
            return OrderEvent(None, ignored="the order is not visible to the app")
        return OrderEvent(so, ours)

    def not_saleor(self, order_id: str) -> None:
        """The ledger holds ``order_id`` from another source (this process just recorded it)."""
        if len(self.others) >= OTHERS_KEPT:
            self.others.clear()
        self.others.add(order_id)

    def fetch_known(self, order_id: str) -> SaleorOrder | None:
        """Re-query an order the ledger knows as a Saleor one; None if it is not one."""
        if order_id in self.others:
            return None
        with self.engine.connect() as conn:  # every storefront return asks: built once
            row = conn.execute(_ORDER_SOURCE, {"order_id": order_id}).first()
        if row is not None and row.source != "saleor":
            self.not_saleor(order_id)
        if row is None or row.source != "saleor" or not row.extra:
            return None
        api_url = (json.loads(row.extra).get("saleor") or {}).get("api_url")
        return self.fetch_order(api_url, order_id) if api_url else None
