"""The shipping desk: the outbound effects of a return, run by the executor's loop (and by
``refunds worker --once``) like any attempt — recorded first, claimed under a lease, retried
with backoff, exactly once.

* A label due (``label_pending``) is bought under our reference; a crash after the purchase and
  before the record is healed by the carrier's look-up by reference (``carriers/easypost``).
* A label of an expired return (``void_pending``) is voided through the carrier.
* A restock due (``pending``, or ``in_progress`` past its lease: a try that died) increases the
  Saleor variant's stock in the configured warehouse, once (``restock.py``).
* A return not scanned ``remind_days_before`` its return-by date: the customer is reminded,
  once (``notify/causes.return_reminder``, unique per return and date).
* A label given up on (never to be bought): a label fee deducted for it goes back, once, in the
  same transaction (``label_fee.py``).
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from refunds_plugin.config import Config, Parcel
from refunds_plugin.errors import ProviderError
from refunds_plugin.execution.executor import backoff
from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.tables import decisions, orders, return_shipments
from refunds_plugin.money import Money
from refunds_plugin.notify import stored
from refunds_plugin.shipping import label_fee, receiving, returns
from refunds_plugin.shipping.carriers import Carrier, LabelRequest, NoLabel
from refunds_plugin.shipping.restock import Planned
from refunds_plugin.trouble.follow_ups import note_return_trouble

log = logging.getLogger("refunds.shipping")
rs = return_shipments.c
LEASE = timedelta(minutes=5)
# (api_url, variant id, warehouse id, units, an earlier try's plan, save a plan) → the Saleor
# call (``restock.restock``), what it did; None: no Saleor restock
Restocker = Callable[[str, str, str, int, Planned | None, Callable[[Planned], None]], str]


def _fee_said(back: label_fee.FeeBack | None) -> str:
    """What the ``label_failed`` follow-up says of the label fee given back ("" if none)."""
    if back is None:
        return ""
    fee = f" The {Money(back.amount, back.currency)} label fee deducted from their refund"
    if back.held:
        return (f"{fee} will be given back with it: the refund waits for the parcel, and both go "
                "when it is released.")
    way = ("as store credit like their refund" if back.kind == "credit" else
           "to the payment their refund went to")
    return f"{fee} is being given back to them, {way}: nothing to do for it."


def _no_label_told(conn: Connection, ret: returns.ReturnRow | Any, currency: str, why: str,
                   now: datetime, first: str = "") -> None:
    """The customer was promised a label "on its way" and will get none: a person is told
    (``label_failed``), and a label fee deducted for it is given back (``label_fee``). ``ret``:
    the return, or its stored row as read (one that cannot be read: its plain columns, and
    ``first``, what the person must do before the rest; its fee is left to that person, who
    repairs the row and sees the fee there)."""
    if first:
        fee = (f" The {Money(int(ret.label_fee), currency)} label fee was deducted from their "
               "refund for a label they did not get: give it back to them."
               if ret.label_fee else "")
    else:
        fee = _fee_said(label_fee.give_back(conn, ret.decision_id, ret.label_fee, now))
    note_return_trouble(
        conn, kind="label_failed", order_id=ret.order_id, decision_id=ret.decision_id, now=now,
        detail=(f"Return {ret.decision_id} of order {ret.order_id}: no prepaid label {why}. The "
                "customer was told a label was on its way and now has the return address and "
                f"return-by date only; {first}send them a label or tell them to post it "
                "themselves." + fee))


class ShippingDesk:
    def __init__(self, engine: Engine, carrier: Carrier, config: Config,
                 clock: Callable[[], datetime], restocker: Restocker | None = None,
                 carriers: tuple[str, ...] = (), services: tuple[str, ...] = (),
                 remind_days: int = 5) -> None:
        self.engine = engine
        self.remind_days = remind_days  # the policy's return_shipping.remind_days_before
        self.allowed = (carriers, services)  # the policy's allowed carriers and services
        self.carrier = carrier
        self.config = config
        self.clock = clock
        self.restocker = restocker
        self._rng = random.Random()

    def run_once(self) -> int:
        """One round: labels due, returns past their deadline, labels to void, restocks due,
        return-by reminders due. Returns how many were done."""
        return self.buy_due() + len(self.expire_due()) + self.void_due() + self.restock_due() \
            + self.remind_due()

    # --- the reminder -------------------------------------------------------------------------
    def remind_due(self) -> int:
        """Returns not scanned a few days before their return-by date: the customer is reminded
        (an outbox row unique per return and date, so a second round or worker adds nothing).
        Each in its own transaction."""
        now = self.clock()
        unreadable: dict[str, tuple[str, str]] = {}
        with self.engine.connect() as conn:
            due = returns.due_for_reminder(conn, now, self.remind_days, unreadable)
        self._unreadable_returns(unreadable, now)
        done = 0
        for ret in due:
            with write_tx(self.engine) as conn:
                fresh = returns.get_return(conn, ret.decision_id)
                done += fresh is not None and returns.remind(conn, fresh, now)
        return done

    # --- the deadline -------------------------------------------------------------------------
    def expire_due(self, apply: bool = True) -> list[returns.ReturnRow]:
        """Returns not scanned by their return-by date plus grace: expired (``apply``), or
        only listed. Each in its own transaction; the expired labels are voided next."""
        now = self.clock()
        unreadable: dict[str, tuple[str, str]] = {}
        with self.engine.connect() as conn:
            due = returns.due_to_expire(conn, now, unreadable)
        if not apply:
            return due
        self._unreadable_returns(unreadable, now)
        done = []
        for ret in due:
            with write_tx(self.engine) as conn:
                fresh = returns.get_return(conn, ret.decision_id)
                if fresh is not None and fresh.status in returns.WAITING:
                    returns.expire(conn, fresh, now)
                    done.append(fresh)
        return done

    def _unreadable_returns(self, found: dict[str, tuple[str, str]], now: datetime) -> None:
        """Returns due for a reminder or expiry whose stored row cannot be read: left as they
        are (held money stays held: nothing is paid or canceled on a guess) and skipped by the
        sweep, which goes on with the others; why is written to the row's ``last_error`` and
        an error names the decision and order once (when it is first written), never what
        the row holds. A person repairs the row; the next round takes it up then."""
        for decision_id, (order_id, why) in found.items():
            said = (f"its stored return (return_shipments) cannot be read ({why}): not reminded "
                    "nor expired until a person repairs the row")
            with write_tx(self.engine) as conn:
                changed = conn.execute(update(return_shipments).where(
                    rs.decision_id == decision_id,
                    rs.last_error.is_(None) | (rs.last_error != said))
                    .values(last_error=said, updated_at=now)).rowcount
            if changed:
                log.error("the return of decision %s, order %s: %s", decision_id, order_id,
                          said, extra={"decision_id": decision_id, "order_id": order_id})

    # --- labels -------------------------------------------------------------------------------
    def _claim(self, decision_id: str, now: datetime, label_status: str = "pending") -> bool:
        """The label step (a purchase ``pending``, a void ``void_pending``) of one return,
        for this round only: under a lease, so no other worker asks the carrier meanwhile."""
        with write_tx(self.engine) as conn:
            return bool(conn.execute(update(return_shipments).where(
                rs.decision_id == decision_id, rs.label_status == label_status,
                rs.next_try_at <= now).values(next_try_at=now + LEASE)).rowcount == 1)

    def buy_due(self) -> int:
        now = self.clock()
        with self.engine.connect() as conn:
            due = list(conn.execute(select(rs.decision_id).where(
                rs.label_status == "pending", rs.next_try_at <= now)
                .order_by(rs.next_try_at, rs.decision_id).limit(20)).scalars())
        return sum(self.buy(decision_id) for decision_id in due)

    def buy(self, decision_id: str) -> bool:
        """Buy one due label (claimed under a lease); record what came of it."""
        now = self.clock()
        if not self._claim(decision_id, now):
            return False
        read = self._request(decision_id, now)
        if read is None:
            return False
        ret, request = read
        try:
            got = self.carrier.buy_return_label(request)
        except ProviderError as exc:
            tries = ret.tries + 1
            with write_tx(self.engine) as conn:
                if exc.retryable and tries < self.config.executor_max_tries:
                    wait = backoff(tries, self.config.executor_backoff_base_s,
                                   self.config.executor_backoff_cap_s, self._rng)
                    returns.label_retry(conn, decision_id, tries,
                                        now + timedelta(seconds=wait), str(exc), now)
                elif returns.record_no_label(conn, decision_id, str(exc), now):
                    _no_label_told(conn, ret, request.currency, f"after every try ({exc})", now)
            return False
        with write_tx(self.engine) as conn:
            if isinstance(got, NoLabel):
                done = returns.record_no_label(conn, decision_id, got, now)
                if done and got.code != "address_rejected":  # that one has its own follow-up
                    _no_label_told(conn, ret, request.currency, f"({got.message})", now)
                elif done:  # no label either: its fee goes back all the same
                    label_fee.give_back(conn, decision_id, ret.label_fee, now)
                return done
            return returns.record_label(conn, decision_id, got, now)

    def _request(self, decision_id: str,
                 now: datetime) -> tuple[returns.ReturnRow, LabelRequest] | None:
        """The claimed return and what the carrier is asked for it, from the stored rows. A
        row that cannot be read (edited by hand, cut short by a partial restore, a shape we no
        longer read) can never give a label: the return is recorded without one (``failed``,
        code ``unreadable``, why in its ``last_error``), an error names the decision and order
        once, never what the row holds, a ``label_failed`` follow-up tells a person (the row to
        repair, and the label fee to give back), and the round goes on with the others; the
        customer keeps the address and return-by date."""
        with self.engine.connect() as conn:
            row = conn.execute(select(return_shipments).where(
                rs.decision_id == decision_id)).one()
            body, currency = conn.execute(select(decisions.c.body, decisions.c.currency).where(
                decisions.c.id == decision_id)).one()
        what = "return (return_shipments)"
        try:
            ret = returns.ReturnRow.from_row(row)
            if not isinstance(ret.address, dict) or not isinstance(ret.from_address,
                                                                   dict | None):
                raise TypeError("an address that is not an object")
            parcel = Parcel(**ret.parcel) if ret.parcel else self.config.return_parcel
            what = "decision (decisions.body)"
            decision = stored.decision(body)
            return ret, LabelRequest(
                reference=ret.reference, to_address=ret.address, from_address=ret.from_address,
                parcel=parcel, carriers=self.allowed[0], services=self.allowed[1],
                max_amount=sum(ln.amount for ln in decision.lines if ln.return_required),
                currency=decision.currency)
        except stored.UNREADABLE as exc:
            cause = f"its stored {what} cannot be read ({stored.why(exc)})"
            why = f"no label bought: {cause}; a person must repair the row and send the " \
                "customer a label"
        with write_tx(self.engine) as conn:
            recorded = returns.record_no_label(conn, decision_id, why, now, code="unreadable")
            if recorded:  # a person is told, as for a label not bought after every try
                _no_label_told(conn, row, currency, f"({cause})", now,
                               first="repair the row, then ")
        if recorded:
            log.error("the return label of decision %s, order %s, cannot be bought: %s",
                      decision_id, row.order_id, why,
                      extra={"decision_id": decision_id, "order_id": row.order_id})
        return None

    def void_due(self) -> int:
        """Labels of expired returns, voided through the carrier; a carrier that cannot answer
        is asked again with backoff, one that refuses is recorded (``void_refused``)."""
        now = self.clock()
        with self.engine.connect() as conn:
            due = list(conn.execute(select(rs.decision_id, rs.shipment_id, rs.tries).where(
                rs.label_status == "void_pending", rs.next_try_at <= now)).all())
        done = 0
        for decision_id, shipment_id, tries in due:
            if not self._claim(decision_id, now, "void_pending"):
                continue  # another worker's round is voiding it
            try:
                status = self.carrier.void(shipment_id)
            except ProviderError as exc:
                log.warning("could not void the label of decision %s: %s", decision_id, exc)
                with write_tx(self.engine) as conn:
                    if exc.retryable and tries + 1 < self.config.executor_max_tries:
                        wait = backoff(tries + 1, self.config.executor_backoff_base_s,
                                       self.config.executor_backoff_cap_s, self._rng)
                        returns.void_retry(conn, decision_id, tries + 1,
                                           now + timedelta(seconds=wait), str(exc), now)
                    else:
                        returns.record_void(conn, decision_id, "refused", now, str(exc))
                continue
            with write_tx(self.engine) as conn:
                done += returns.record_void(conn, decision_id, status, self.clock())
        return done

    # --- restock ------------------------------------------------------------------------------
    def restock_due(self) -> int:
        """Saleor restocks due: each claimed under a lease, its plan saved before the call, a
        retryable error tried again with backoff, a try that died taken up once its lease
        ran out (``restock.py`` says how that stays exactly once)."""
        warehouse = self.config.saleor_restock_warehouse
        if self.restocker is None or not warehouse:
            return 0
        with self.engine.connect() as conn:
            due = receiving.pending_restocks(conn, self.clock())
        return sum(self._restock(decision_id, line_id, warehouse)
                   for decision_id, line_id, _ in due)

    def _restock(self, decision_id: str, line_id: str, warehouse: str) -> int:
        assert self.restocker is not None
        now = self.clock()
        with write_tx(self.engine) as conn:
            claim = receiving.claim_restock(conn, decision_id, line_id, now, LEASE)
            if claim is None:
                return 0
            extra = conn.execute(select(orders.c.extra).join(
                decisions, decisions.c.order_id == orders.c.order_id).where(
                decisions.c.id == decision_id)).scalar()
        variant = api_url = None
        try:
            saleor = json.loads(extra or "{}")
            variant = (saleor.get("variants") or {}).get(line_id)
            api_url = (saleor.get("saleor") or {}).get("api_url")
            why = None if variant and api_url else "not a Saleor line with a variant"
        except stored.UNREADABLE as exc:  # never tried again: no try can read it
            why = (f"not restocked: its order's stored extra (orders.extra) cannot be read "
                   f"({stored.why(exc)}); a person must repair the row and restock by hand"
                   + ("; an earlier try may have set the stock, check it" if claim.planned
                      else ""))
            log.error("the restock of line %s of decision %s: %s", line_id, decision_id, why,
                      extra={"decision_id": decision_id, "line_id": line_id})
        if why is not None or not variant or not api_url:
            with write_tx(self.engine) as conn:
                receiving.finish_restock(conn, decision_id, line_id, "failed", self.clock(),
                                         why or "")
            return 0

        def plan(planned: Planned) -> None:
            with write_tx(self.engine) as conn:
                receiving.plan_restock(conn, decision_id, line_id, planned)

        try:
            note = self.restocker(api_url, variant, warehouse, claim.quantity, claim.planned,
                                  plan)
        except ProviderError as exc:
            now = self.clock()
            again = exc.retryable and claim.tries < self.config.executor_max_tries
            wait = backoff(claim.tries, self.config.executor_backoff_base_s,
                           self.config.executor_backoff_cap_s, self._rng)
            with write_tx(self.engine) as conn:
                receiving.finish_restock(conn, decision_id, line_id,
                                         "pending" if again else "failed", now, str(exc),
                                         retry_at=now + timedelta(seconds=wait) if again
                                         else None)
            return 0
        with write_tx(self.engine) as conn:
            receiving.finish_restock(conn, decision_id, line_id, "done", self.clock(), note)
        return 1
