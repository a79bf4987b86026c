"""The EU withdrawal function (Consumer Rights Directive, Article 11a): who is offered it, its
period, the statement recorded once with its receipt, and the return it then becomes.

A confirmed statement is one transaction: the ``withdrawals`` row (its id derived from the order
and the form's nonce, so a form confirmed twice inserts once: a unique key, not a look first),
a ``withdrawal_received`` journal entry with the time of receipt to the second, and the outbox's
``withdrawal_receipt`` email and ``withdrawal.received`` event. It is separate from any returns
decision: the statement stands whatever the return's decision says.

It then becomes a return through ``Service.return_requested`` under the statutory terms
(``statutory``): the shop's policy, never below what the law gives. Every withdrawn unit is
refunded in full to the original payment, no restocking or return fees, the standard delivery
cost with the order's last item (Article 13), the money held at most until the parcel's first
scan or its receipt (``refund_on: first_scan``), whatever the policy says. A statement received
after its period is recorded all the same, flagged, and its return goes to a person.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, select, update

import policies
from policies import deadline
from policies.context import start_date
from policies.policy import Action, Anchor, ExchangeRules, FeeRules, RefundOn
from refunds_plugin.config import Config
from refunds_plugin.domain.facts import OrderFacts, ReturnLine, ReturnRequest
from refunds_plugin.domain.kinds import Reason, ResolutionKind
from refunds_plugin.errors import NotFound, RefundsError
from refunds_plugin.intake.answers import Answer
from refunds_plugin.language import normalise
from refunds_plugin.ledger.db import aware, lock_order, read_tx, write_tx
from refunds_plugin.ledger.facts import load_facts, order_extra
from refunds_plugin.ledger.journal import append_entry, insert_ignore, to_json
from refunds_plugin.ledger.tables import withdrawals
from refunds_plugin.notify import causes, stored

log = logging.getLogger("refunds.withdrawals")
WITHDRAWAL_DAYS = 14  # Article 9: the withdrawal period; Article 13: the refund's deadline
NAMESPACE = uuid.UUID("6f1c2a4e-3b7d-4e8a-9c05-1d2e3f405a6b")
TERMS_MARK = " (EU withdrawal)"  # the statutory terms' policy name ends with it
SOURCE = "withdrawal"  # the inbox source of the return a withdrawal becomes
_w = withdrawals.c


# --- who is offered it, and until when -------------------------------------------------------


def delivery_country(extra: Mapping[str, Any]) -> str | None:
    """The order's delivery country: ``order.paid``'s ``shipping_address.country`` or Saleor's
    shipping address, both kept in the order's ``extra``."""
    ship_to = extra.get("shipping_address")
    country = ship_to.get("country") if isinstance(ship_to, dict) else None
    return country.strip().upper() if isinstance(country, str) and country.strip() else None


def offered(config: Config, engine: Engine, order_id: str) -> bool:
    """Whether the order's page offers the withdrawal function: the shop enabled it and the
    order was delivered to one of ``[withdrawal] countries`` (an order without a known
    delivery country is not offered it)."""
    if not config.withdrawal_enabled:
        return False
    with read_tx(engine) as conn:
        country = delivery_country(order_extra(conn, order_id))
    return country is not None and country in config.withdrawal_countries


@dataclass(frozen=True)
class Period:
    """The withdrawal period: 14 days from delivery (else fulfilment, else payment), or the
    policy's window when it is longer. Counted as the policy engine counts a window (whole days
    since the start), so the page, the flag and the return's decision agree."""

    starts: datetime | None  # None: no date known (taken as open; the return's review checks)
    days: int | None  # None: the policy's window has no end

    @property
    def ends(self) -> datetime | None:
        """The first moment after the period (None: it does not end, or no date is known)."""
        if self.starts is None or self.days is None:
            return None
        return self.starts + timedelta(days=self.days + 1)

    @property
    def last_day(self) -> date | None:
        """The period's last day as the customer is told it: the day of its last open moment
        (UTC), so "until 19 November" is never a day earlier than ``open_at`` allows."""
        if self.starts is None or self.days is None:
            return None
        return deadline.last_day(self.starts, self.days)

    @property
    def last_moment(self) -> datetime | None:
        """The period's last open moment, as the customer is told it (its day, and its time in
        UTC when it ends partway through a day)."""
        if self.starts is None or self.days is None:
            return None
        return deadline.last_moment(self.starts, self.days)

    def open_at(self, when: datetime) -> bool:
        ends = self.ends
        return ends is None or when < ends


def period(policy: policies.Policy, facts: OrderFacts) -> Period:
    _anchor, starts = start_date(Anchor.DELIVERY, facts)
    days = policy.window.days
    return Period(starts, None if days is None else max(days, WITHDRAWAL_DAYS))


def statutory(policy: policies.Policy) -> policies.Policy:
    """The shop's policy, raised to the law's floor for a withdrawal: the window at least the
    withdrawal period from delivery (late: a person looks, never a decline), final sale to a
    person (the law's exceptions are for a person to weigh), any reason, no abuse signals, a
    refund to the original payment only (no store credit, no exchange), no restocking or return
    fees, the customer's label paid by the shop, the delivery cost back with the last item, and
    money held at most until the parcel's first scan."""
    w = policy.window
    floor = WITHDRAWAL_DAYS
    held = any(on is not RefundOn.APPROVAL for _, on in policy.refund_on)
    on = RefundOn.FIRST_SCAN if held else RefundOn.APPROVAL
    return replace(
        policy,
        name=policy.name + TERMS_MARK,
        window=replace(w, days=None if w.days is None else max(w.days, floor),
                       start=Anchor.DELIVERY, outside=Action.REVIEW,
                       overrides=tuple(replace(o, days=None if o.days is None
                                               else max(o.days, floor)) for o in w.overrides)),
        final_sale=replace(policy.final_sale, action=Action.REVIEW),
        reasons=tuple((r, Action.ACCEPT) for r in Reason),
        abuse=replace(policy.abuse, enabled=False),
        resolution=replace(policy.resolution, default=ResolutionKind.REFUND,
                           allow=(ResolutionKind.REFUND,), refund_within_days=None),
        fees=FeeRules(),
        return_shipping=replace(policy.return_shipping, paid_by="merchant", fee=None),
        shipping=replace(policy.shipping, refund_with_last_item=True),
        refund_on=((ResolutionKind.REFUND, on), (ResolutionKind.CREDIT, on)),
        exchange=ExchangeRules(),
    )


def is_withdrawal(policy_name: str) -> bool:
    """Whether a stored decision was made under the statutory terms (a withdrawal's return)."""
    return policy_name.endswith(TERMS_MARK)


def terms_for(policy: policies.Policy, policy_name: str) -> policies.Policy:
    """The terms a stored decision was made under: the statutory ones for a withdrawal's."""
    return statutory(policy) if is_withdrawal(policy_name) else policy


# --- the statement --------------------------------------------------------------------------


@dataclass(frozen=True)
class Chosen:
    line_id: str
    name: str
    quantity: int


@dataclass(frozen=True)
class Statement:
    """What the customer confirmed: their name, the lines, where the receipt goes."""

    order_id: str
    form_key: str  # the form's nonce
    name: str
    email: str
    lines: tuple[Chosen, ...]
    whole_order: bool
    text: str  # the statement in the customer's language ("I hereby withdraw …")
    locale: str | None = None  # the page's language: the receipt's
    chosen: str | None = None  # the one chosen on the returns pages: the return's mails'


@dataclass(frozen=True)
class Withdrawal:
    id: str
    order_id: str
    name: str
    email: str
    lines: tuple[Chosen, ...]
    whole_order: bool
    received_at: datetime
    period_ends: datetime | None
    in_period: bool
    legal_deadline: datetime
    decision_id: str | None
    created: bool = False  # this call recorded it (False: a form confirmed before)
    chosen: str | None = None  # the language chosen on the returns pages (``Statement``)

    @classmethod
    def from_row(cls, row: Any, created: bool = False) -> Withdrawal:
        lines = tuple(Chosen(ln["line_id"], ln["name"], int(ln["quantity"]))
                      for ln in json.loads(row.lines))
        received = aware(row.received_at)
        deadline = aware(row.legal_deadline)
        assert received is not None and deadline is not None
        return cls(row.id, row.order_id, row.name, row.email, lines, bool(row.whole_order),
                   received, aware(row.period_ends), bool(row.in_period), deadline,
                   row.decision_id, created, row.chosen_locale)


def withdrawal_id(order_id: str, form_key: str) -> str:
    """The same for the same order and form, in any process."""
    return str(uuid.uuid5(NAMESPACE, f"{order_id}\n{form_key}"))


def remaining(facts: OrderFacts) -> list[tuple[str, str, int]]:
    """(line id, name, units not yet returned) of each line something of which is left."""
    return [(ln.id, ln.name, left) for ln in facts.lines
            if (left := ln.quantity - facts.returned(ln.id)) > 0]


def record(engine: Engine, policy: policies.Policy, statement: Statement,
           now: datetime, dry_run: Callable[[OrderFacts], bool] | None = None) -> Withdrawal:
    """Record a confirmed statement once, with its journal entry, receipt and event.
    ``dry_run``: whether an order's money would go to the dry run (the receipt then says the
    shop is in test mode)."""
    wid = withdrawal_id(statement.order_id, statement.form_key)
    received = now.replace(microsecond=0)
    with write_tx(engine) as conn:
        lock_order(conn, statement.order_id)
        facts = load_facts(conn, statement.order_id, now, policy.abuse_window_days)
        if facts is None:
            raise NotFound(f"order {statement.order_id} is unknown", code="unknown_order")
        span = period(policy, facts)
        lines = [{"line_id": c.line_id, "name": c.name, "quantity": c.quantity}
                 for c in statement.lines]
        row = {
            "id": wid, "order_id": statement.order_id, "form_key": statement.form_key[:64],
            "name": statement.name, "email": statement.email, "lines": to_json(lines),
            "whole_order": statement.whole_order, "received_at": received,
            "period_ends": span.ends, "in_period": span.open_at(received),
            "legal_deadline": received + timedelta(days=WITHDRAWAL_DAYS),
            "locale": statement.locale, "chosen_locale": normalise(statement.chosen),
            "decision_id": None, "created_at": now,
        }
        created = insert_ignore(conn, withdrawals, row)
        if created:
            _announce(conn, wid, row, lines, statement, now,
                      dry_run is not None and dry_run(facts))
        found = conn.execute(select(withdrawals).where(_w.id == wid)).one()
    return Withdrawal.from_row(found, created)


def _announce(conn: Connection, wid: str, row: dict[str, Any], lines: list[dict[str, Any]],
              statement: Statement, now: datetime, dry_run: bool) -> None:
    """The journal entry and the outbox's receipt and event, in the statement's transaction."""
    received: datetime = row["received_at"]
    ends: datetime | None = row["period_ends"]
    append_entry(conn, "withdrawal_received", wid, {
        "withdrawal_id": wid, "order_id": statement.order_id, "name": statement.name,
        "email": statement.email, "lines": lines, "whole_order": statement.whole_order,
        "statement": statement.text, "received_at": received.isoformat(timespec="seconds"),
        "period_ends": ends.isoformat() if ends else None, "in_period": row["in_period"],
        "legal_deadline": row["legal_deadline"].isoformat(timespec="seconds"),
    }, now)
    causes.withdrawal_received(
        conn, withdrawal_id=wid, name=statement.name, email=statement.email,
        order_id=statement.order_id,
        lines=[{"name": ln["name"], "quantity": ln["quantity"]} for ln in lines],
        statement=statement.text, received_at=received, now=now, locale=statement.locale,
        dry_run=dry_run)


# --- the return it becomes ------------------------------------------------------------------


class ReturnService(Protocol):
    """What becoming a return needs of the service (``intake/service.Service``)."""

    engine: Engine
    policy: policies.Policy

    def return_requested(self, source: str, event_id: str, type_: str, payload: str,
                         request: ReturnRequest, *,
                         policy: policies.Policy | None = None,
                         locale: str | None = None) -> Answer: ...

    def dry_run_for(self, order_facts: OrderFacts) -> bool: ...


def become_return(service: ReturnService, w: Withdrawal) -> Answer | None:
    """The withdrawn lines as a return request under the statutory terms, decided once (the
    request and the inbox event are keyed by the withdrawal); the decision's id is kept on the
    withdrawal. None: it could not be decided now (logged; confirming the form again, or
    ``refunds`` support, retries it: the key makes a retry safe)."""
    request = ReturnRequest(
        f"withdrawal-{w.id}", w.order_id,
        tuple(ReturnLine(c.line_id, c.quantity, Reason.CHANGED_MIND) for c in w.lines),
        ResolutionKind.REFUND, comment="EU withdrawal", requested_at=w.received_at,
        channel=SOURCE)
    payload = to_json({"withdrawal_id": w.id, "order_id": w.order_id,
                       "lines": [c.__dict__ for c in w.lines],
                       "received_at": w.received_at.isoformat()})
    try:
        answer = service.return_requested(SOURCE, w.id, "withdrawal.received", payload, request,
                                          policy=statutory(service.policy), locale=w.chosen)
    except RefundsError as exc:
        log.warning("withdrawal %s: its return could not be decided: %s", w.id, exc)
        return None
    with write_tx(service.engine) as conn:
        conn.execute(update(withdrawals).where(_w.id == w.id, _w.decision_id.is_(None))
                     .values(decision_id=answer.recorded.id))
    return answer


# a statement younger than this is left to the request that recorded it (it decides at once)
SWEEP_AFTER = timedelta(seconds=30)
# withdrawals whose stored lines this process could not read: named once, passed over by the
# sweep (which reads that many more rows, so they never hold back the others)
_UNREADABLE: set[str] = set()


def decide_pending(service: ReturnService, now: datetime, limit: int = 10) -> int:
    """Decide the returns of recorded withdrawals that have none: the process that recorded
    one may have stopped between its two transactions. Run each round of the executor's loop;
    safe to race (the request and its inbox event are keyed by the withdrawal)."""
    with read_tx(service.engine) as conn:
        rows = conn.execute(
            select(withdrawals).where(_w.decision_id.is_(None), _w.created_at < now - SWEEP_AFTER)
            .order_by(_w.created_at, _w.id).limit(limit + len(_UNREADABLE))).all()
    decided = 0
    for row in rows:
        try:
            w = Withdrawal.from_row(row)
        except stored.UNREADABLE as exc:  # skipped, never guessed at: a person repairs it
            if row.id not in _UNREADABLE:
                _UNREADABLE.add(row.id)
                log.error("withdrawal %s of order %s: its return is not decided: its stored "
                          "lines (withdrawals.lines) cannot be read (%s); a person must repair "
                          "the row (the legal deadline is %s)", row.id, row.order_id,
                          stored.why(exc), aware(row.legal_deadline).date().isoformat(),
                          extra={"withdrawal_id": row.id, "order_id": row.order_id})
            continue
        if become_return(service, w) is not None:
            decided += 1
            log.info("withdrawal %s: its return was decided by the sweep", row.id)
    return decided


def withdraw(service: ReturnService, statement: Statement,
             now: datetime) -> tuple[Withdrawal, Answer | None]:
    """Record the statement (once), then the return it becomes (once)."""
    w = record(service.engine, service.policy, statement, now, service.dry_run_for)
    answer = become_return(service, w)
    if answer is not None and w.decision_id is None:
        w = replace(w, decision_id=answer.recorded.id)
    return w, answer


# --- reading them back ----------------------------------------------------------------------


def find(engine: Engine, wid: str) -> Withdrawal | None:
    with read_tx(engine) as conn:
        row = conn.execute(select(withdrawals).where(_w.id == wid)).first()
    return Withdrawal.from_row(row) if row is not None else None


def order_withdrawals(engine: Engine, order_id: str) -> list[Withdrawal]:
    with read_tx(engine) as conn:
        rows = conn.execute(select(withdrawals).where(_w.order_id == order_id)
                            .order_by(_w.received_at, _w.id)).all()
    return [Withdrawal.from_row(r) for r in rows]

