"""The service layer: one database transaction per incoming event.

Record the event in the inbox (duplicates stop there), gather the facts, ask the policy, and
store the decision with its refund attempts, all before the sender gets its 2xx. Money moves
later, in the executor, under the attempt's deterministic idempotency key.

Storefront, Stripe and Saleor events share one skeleton (``Service._event``): inbox row, the
provider's ``apply``, the trouble it wakes, the row's note, a nudge to the executor, a log line.
``stripe.events`` and ``saleor.events`` only say what an event means inside that transaction.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any

import requests
from sqlalchemy import Connection, Engine

import policies
from refunds_plugin import routing
from refunds_plugin.config import Config
from refunds_plugin.domain.facts import OrderFacts, ReturnRequest, Variant
from refunds_plugin.domain.kinds import ResolutionKind
from refunds_plugin.errors import Conflict, NotFound, RefundsError
from refunds_plugin.exchanges import choices, fallback
from refunds_plugin.exchanges.shipping import exchange_approved
from refunds_plugin.exchanges.worker import ExchangeWorker
from refunds_plugin.intake import physical, request_check, storefront
from refunds_plugin.intake.answers import Ack, Answer
from refunds_plugin.intake.before_lock import before_lock, prepare
from refunds_plugin.intake.physical import Lines
from refunds_plugin.intake.storefront import PaymentRecord
from refunds_plugin.ledger import facts as facts_mod
from refunds_plugin.ledger.attempt_reads import decision_attempts
from refunds_plugin.ledger.attempts import AttemptRow
from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.decisions import find_decision, record_decision
from refunds_plugin.ledger.exchanges import ExchangeRow, get_exchange
from refunds_plugin.ledger.journal import mark_event, record_event, refuse_reuse
from refunds_plugin.ledger.orders import OrderRecord
from refunds_plugin.saleor import events as saleor_events
from refunds_plugin.shipping import tracking
from refunds_plugin.shipping.receiving import Receipt
from refunds_plugin.stripe import events as stripe_events
from refunds_plugin.trouble.corrections import Woken, after_order_paid

log = logging.getLogger("refunds.service")
Clock = Callable[[], datetime]
Nudge = Callable[[tuple[str, ...]], None]  # the executor: these attempts are due
# the executor: wait up to a timeout for the attempts a reader returns to settle, then read them
WaitSettled = Callable[[Callable[[], tuple[AttemptRow, ...]], float], tuple[AttemptRow, ...]]
Apply = Callable[[Connection, datetime], str | None]  # an event's own effect; its note
Wake = Callable[[Connection, datetime], Woken]  # the trouble it wakes
CHECKED = frozenset({"storefront"})  # senders whose event id promises one content (else 409)

utcnow = partial(datetime.now, UTC)  # the service's clock unless one is given (tests)


@dataclass(frozen=True)
class Inbound:
    """One incoming event for the skeleton: its inbox key, and how it is answered and logged."""

    source: str
    event_id: str
    type: str
    payload: str
    logged: Callable[[str | None], None]  # the sender's log line, given the event's note
    lock: str | None = None  # the order whose lock the inbox row takes (``lock_order``)
    first: tuple[str, ...] = ()  # a lock's key parts, taken before the order's (``db.lock_key``)
    seen: Mapping[str, Any] = field(default_factory=dict)  # a duplicate's answer detail
    tail: str = ""  # said after the whole note (Saleor: the event was this app's own)
    detail: Mapping[str, Any] = field(default_factory=dict)  # more answer detail


class Service:
    def __init__(
        self,
        engine: Engine,
        policy: policies.Policy,
        config: Config,
        clock: Clock = utcnow,
        *,
        saleor: saleor_events.SaleorEvents | None = None,
        nudge: Nudge | None = None,
        wait_settled: WaitSettled | None = None,
        answer_wait_s: float = 3.0,
        restock: Callable[[], int] | None = None,
        exchanges: ExchangeWorker | None = None,
    ) -> None:
        self.engine, self.policy, self.config, self.clock = engine, policy, config, clock
        self.route: routing.Route = routing.router(config)
        # re-queries Saleor orders (webhooks, and before a return is decided); None: no Saleor
        self.saleor = saleor
        self._nudge = nudge  # None: the executor runs elsewhere and polls
        self._wait_settled = wait_settled
        self.answer_wait_s = answer_wait_s
        self._restock = restock  # the shipping desk's restock round, run after a receipt
        # an exchange's Checkout Session and replacement order (None: exchanges not wired)
        self.exchanges = exchanges

    def nudge(self, attempt_ids: tuple[str, ...]) -> None:
        """Tell the in-process executor that these attempts are due."""
        if attempt_ids and self._nudge is not None:
            self._nudge(attempt_ids)

    # --- the one event skeleton ---------------------------------------------------------------
    def _event(self, inbound: Inbound, apply: Apply, wake: Wake) -> Ack:
        """Inbox row (a duplicate stops there), ``apply``, the trouble it wakes, the row's note,
        all in one transaction; then the executor's nudge and the log line."""
        now = self.clock()
        with write_tx(self.engine) as conn:
            # recorded final at once: nobody outside this transaction sees the row before commit
            row = record_event(conn, inbound.source, inbound.event_id, inbound.type,
                               inbound.payload, now, "processed", lock=inbound.lock,
                               first=inbound.first)
            if row is None:
                if inbound.source in CHECKED:
                    refuse_reuse(conn, inbound.source, inbound.event_id, inbound.payload)
                return Ack(duplicate=True, detail=dict(inbound.seen))
            said = apply(conn, now)
            woke = wake(conn, now)
            note = "; ".join(n for n in (said, woke.note) if n) or None
            if note is not None:
                note += inbound.tail
                mark_event(conn, row, "processed", note)
        self.nudge(woke.attempt_ids)
        inbound.logged(note)
        detail = {"note": note, **inbound.detail} if note is not None else dict(inbound.detail)
        return Ack(duplicate=False, event_row=row, detail=detail)

    # --- storefront events --------------------------------------------------------------------
    def order_paid(self, source: str, event_id: str, type_: str, payload: str,
                   order: OrderRecord, payment: PaymentRecord | None) -> Ack:
        """Record an order and the payment the storefront names. A known order sent again with
        other content is an update: journalled with what changed (``order_updates``), answered
        with it (``detail["changed"]``), and the corrections it leads to wait for a person
        unless the policy allows them (``trouble.corrections``)."""
        storefront.refuse_future(order, self.clock())  # before the inbox: nothing recorded
        changed: dict[str, Any] = {}

        def apply(conn: Connection, now: datetime) -> str | None:
            note, found = storefront.apply_order_paid(conn, order, payment, event_id, now)
            changed.update(found)
            return note

        def logged(_note: str | None) -> None:
            log.info("order recorded", extra={"event_id": event_id, "order_id": order.order_id})

        ack = self._event(
            Inbound(source, event_id, type_, payload, logged, lock=order.order_id,
                    first=storefront.payment_lock(payment)),
            apply,
            lambda conn, now: after_order_paid(conn, self.policy, self.route, order.order_id, now),
        )
        if changed:
            ack.detail["changed"] = changed
        if self.saleor is not None and order.source != "saleor":
            self.saleor.not_saleor(order.order_id)  # its returns need no Saleor re-query
        return ack

    # --- provider events ----------------------------------------------------------------------
    def stripe_event(self, event_id: str, type_: str, payload: str, obj: dict[str, Any]) -> Ack:
        """A verified Stripe event of a handled type (``obj`` is its ``data.object``)."""
        return self._event(
            Inbound("stripe", event_id, type_, payload,
                    partial(stripe_events.log_event, type_, event_id)),
            lambda conn, now: stripe_events.apply(conn, type_, obj, payload, now,
                                                  event_id=event_id),
            lambda conn, now: stripe_events.after_event(conn, self.policy, self.route, type_,
                                                        obj, now),
        )

    def saleor_event(
        self, api_url: str, event: str, body: str, payload: dict[str, Any], app_id: str | None
    ) -> Ack:
        """A verified Saleor order event: the order is re-queried first, outside the
        transaction; the inbox key is the order and its state (``OrderEvent.key``)."""
        if self.saleor is None:
            raise NotFound("this service has no Saleor app", code="unknown_saleor")
        found = self.saleor.read(api_url, payload, app_id)
        if found.order is None:
            return Ack(duplicate=False, detail={"ignored": found.ignored})
        return self._saleor_state(found, event, body)

    def saleor_requery(self, order_id: str, by: str = "saleor_poll") -> Ack | None:
        """Re-query a Saleor order no webhook announced (the poller: a declined refund changes
        only the grant's status, and Saleor sends no order webhook for that; and before a
        return is decided, ``by`` ``saleor_refresh``). Same skeleton and inbox key as a
        webhook: whichever sees a state first applies it, once. None: not a Saleor order."""
        so = self.saleor.fetch_known(order_id) if self.saleor is not None else None
        if so is None:
            return None
        body = json.dumps({"order": {"id": order_id}, "requeried": by})
        return self._saleor_state(saleor_events.OrderEvent(so), by, body)

    def _refresh_before_deciding(self, order_id: str) -> None:
        """Decide a Saleor order on Saleor's facts as of now; the ledger's stand in if Saleor
        cannot be asked (the decision is not held back by an outage)."""
        try:
            self.saleor_requery(order_id, by="saleor_refresh")
        except (RefundsError, requests.RequestException) as exc:
            log.warning("could not re-query Saleor order %s before deciding: %s", order_id, exc)

    def _saleor_state(self, found: saleor_events.OrderEvent, event: str, body: str) -> Ack:
        so = found.order
        assert so is not None
        return self._event(
            Inbound(
                "saleor", found.key, event, body,
                partial(saleor_events.log_event, event, so.record.order_id),
                lock=so.record.order_id,
                seen={"note": "this order state was seen before"},
                tail=" (event caused by this app)" if found.ours else "",
                detail={"self": found.ours},
            ),
            lambda conn, now: saleor_events.apply(conn, so, now, by=event.lower()),
            lambda conn, now: saleor_events.after_order(conn, self.policy, self.route, so, now),
        )

    def return_requested(
        self, source: str, event_id: str, type_: str, payload: str, request: ReturnRequest,
        *, policy: policies.Policy | None = None, locale: str | None = None,
    ) -> Answer:
        """Decide a return request once, however often and however concurrently it arrives.
        ``policy``: other terms than the shop's for this request (an EU withdrawal's statutory
        floor, ``intake/withdrawals.py``); ``locale``: the language the customer asked in (the
        returns pages', a storefront return's), their mails' (``record_decision``)."""
        storefront.refuse_future_request(request, self.clock())  # before the inbox, as orders
        terms = policy or self.policy
        if self.saleor is not None:
            self._refresh_before_deciding(request.order_id)
        # a Saleor line's sizes and colours, read from Saleor outside the transaction: what the
        # ``same_product`` scope checks an ``exchange_for`` against
        offered = choices.for_request(self.engine, self.policy, self.saleor, request,
                                     self.clock())
        now = self.clock()
        request_key = f"return:{request.request_id}"
        pre = before_lock(self.engine, self, request, terms, offered, now)  # SQLite: see there
        with write_tx(self.engine) as conn:
            # this order's lock (its money checks, to commit), taken by the inbox row's statement
            row = record_event(conn, source, event_id, type_, payload, now, "processed",
                               lock=request.order_id)
            if row is None and source in CHECKED:
                refuse_reuse(conn, source, event_id, payload)
            found = facts_mod.read_order(conn, request.order_id, now, terms.abuse_window_days,
                                         before=pre.read if pre is not None else None)
            if found is None:
                raise NotFound(f"order {request.order_id} is unknown: send order.paid first",
                               code="unknown_order")
            seen = found[1]
            made = (pre.made_for(found[0]) if pre is not None else None) \
                or prepare(self, found[0], offered)
            order_facts, dry_run = made.facts, made.dry_run
            if row is None:  # a redelivery: answer with what was decided
                existing = find_decision(conn, request.order_id, request_key)
                if existing is None:
                    # the event was recorded before but its decision is not there: it was not
                    # for this request (an id reused by the sender); refuse rather than guess
                    raise Conflict(f"event {event_id} was already recorded for something else",
                                   code="event_id_reused")
                recorded, duplicate = existing, True
            else:
                try:
                    request_check.check(order_facts, request)
                except request_check.InvalidLine:
                    # malformed: refused whole (the rollback takes the inbox row too), unless
                    # this request was decided before, whose units the facts count as returned
                    if find_decision(conn, request.order_id, request_key) is None:
                        raise
                when = request.requested_at or now
                decision = made.decision if made.decision is not None \
                    else policies.evaluate(terms, order_facts, request, when)
                # unique per (order, request): a request decided before under another event id
                # comes back as that decision, and this one is not stored
                recorded = record_decision(
                    conn, decision=decision, facts=order_facts, request=request,
                    request_key=request_key, route=self.route(order_facts), now=now,
                    event_row=row, held=physical.held_kinds(terms, self.config, decision),
                    approved=partial(physical.open_for, facts=order_facts, policy=terms,
                                     config=self.config, now=now, seen=seen),
                    seen=seen, test_mode=dry_run, locale=locale,
                    connected=routing.connected(self.config, order_facts),
                )
                duplicate = not recorded.created
                if duplicate:
                    mark_event(conn, row, "processed", "request decided before")
                elif recorded.decision.exchange is not None:
                    exchange_approved(conn, recorded.id, now)
        log.info(
            "return decided",
            extra={
                "event_id": event_id,
                "decision_id": recorded.id,
                "outcome": recorded.decision.outcome.value,
            },
        )
        if not duplicate:
            self.nudge(recorded.attempt_ids)
        # the rows this transaction wrote, its return among them: no need to read them back
        ret = (recorded.opened.instructions() if recorded.opened is not None else None) \
            if recorded.created else physical.instructions(self.engine, recorded.id)
        swapped = self.exchange_of(recorded.id, advance=recorded.created) \
            if recorded.decision.exchange is not None else None
        attempts = tuple(map(AttemptRow.written, recorded.written)) if recorded.created \
            else self.attempts_of(recorded.id)
        return Answer(recorded, duplicate, dry_run, attempts, ret, swapped, locale=seen.locale)

    # --- the physical return ------------------------------------------------------------------
    def receive(self, decision_id: str, lines: Lines, by: str) -> Receipt:
        """The warehouse's receipt (``intake.physical``); the money it releases goes to the
        executor, and what goes back on a Saleor shelf is restocked at once."""
        receipt = physical.receive(self.engine, self.config, decision_id, lines, by,
                                   self.clock(), self._restock)
        self.nudge(receipt.released)
        return receipt

    def easypost_event(self, event_id: str, payload: str, event: dict[str, Any]) -> Ack:
        """A verified EasyPost ``tracker.updated``: a tracking code we know moves its return
        (and releases what waits for it); an unknown one changes nothing (not even the inbox)."""
        found, ignored = physical.known_update(self.engine, event_id, event)
        if found is None:
            return Ack(duplicate=False, detail={"ignored": ignored})
        released: list[str] = []

        def apply(conn: Connection, now: datetime) -> str | None:
            note, ids = tracking.apply(conn, found, event_id, now)
            released.extend(ids)
            return note

        return self._event(
            Inbound("easypost", event_id, "tracker.updated", payload,
                    partial(tracking.log_event, event_id, found.code)),
            apply, lambda conn, now: Woken(attempt_ids=tuple(released)))

    def exchange_out_of_stock(self, event_id: str, payload: str, decision_id: str,
                              skus: list[str]) -> Ack:
        """The storefront cannot ship an exchange's new item (``exchange.out_of_stock``): the
        exchange falls back to the policy's refund or credit, once; unknown ones record nothing."""
        with self.engine.connect() as conn:
            row, why = fallback.sold_out(conn, decision_id, skus)
        woke: list[str] = []

        def apply(conn: Connection, now: datetime) -> str | None:
            fresh = get_exchange(conn, decision_id) or row
            note, ids = fallback.out_of_stock(conn, self.policy, self.route, fresh, why, now)
            woke.extend(ids)
            return note

        return self._event(
            Inbound("storefront", event_id, "exchange.out_of_stock", payload,
                    partial(fallback.log_event, event_id, decision_id), lock=row.order_id),
            apply, lambda conn, now: Woken(attempt_ids=tuple(woke)))

    def exchange_choices(self, facts: OrderFacts) -> dict[str, tuple[Variant, ...]]:
        """What each line may be exchanged for (``exchanges/choices.py``)."""
        return choices.for_order(self.engine, self.policy, self.saleor, facts)

    def exchange_of(self, decision_id: str, *, advance: bool = False) -> ExchangeRow | None:
        """The decision's exchange as it stands; ``advance``: first take its next steps now
        (the Checkout Session whose URL the answer carries; an instant exchange shipped)."""
        if advance and self.exchanges is not None:
            try:
                self.exchanges.advance(decision_id)
            except (RefundsError, requests.RequestException) as exc:  # the loop retries
                log.warning("exchange %s: next step failed: %s", decision_id, exc)
        with self.engine.connect() as conn:
            return get_exchange(conn, decision_id)

    def dry_run_for(self, order_facts: OrderFacts) -> bool:
        """Whether this order's money would not really move: the dry run is its provider, or
        Stripe called with a test key (``Config.stripe_test``); customers are told test mode."""
        return routing.test_mode(self.config, self.route(order_facts).values())

    def decided_on(self, order_facts: OrderFacts, dry_run: bool | None = None) -> OrderFacts:
        """The facts as this service acts on them: no charge in a dry run (the policy offers the
        refund or credit instead), no label fee without a label (``physical.labelled``)."""
        moves = not (self.dry_run_for(order_facts) if dry_run is None else dry_run)
        facts = order_facts if moves else replace(order_facts, can_charge=False)
        return physical.labelled(facts, self.config)

    def attempts_of(self, decision_id: str) -> tuple[AttemptRow, ...]:
        with self.engine.connect() as conn:
            return decision_attempts(conn, decision_id)

    def answer_with_code(self, answer: Answer) -> Answer:
        """A store-credit answer is worth a short wait (``answer_wait_s``) for the in-process
        executor: the customer wants the code now. Any other answer is returned as it is."""
        credit = any(r.kind is ResolutionKind.CREDIT for r in answer.recorded.decision.resolutions)
        if not credit or self._wait_settled is None:
            return answer
        attempts = self._wait_settled(partial(self.attempts_of, answer.recorded.id),
                                      self.answer_wait_s)
        return replace(answer, attempts=attempts)
