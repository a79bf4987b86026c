"""Where a recorded return stands for its customer (``/returns/status`` and ``/returns/answer``):
the decision, where its money is, the parcel and any exchange, read in one transaction.

A stored JSON column that cannot be read (edited by hand, cut short by a partial restore) is
left out and named in ``unreadable``, never failing the page: the customer sees what can be
read and one sentence saying that the team was told; one error names the decision and the
columns, never what they hold.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from refunds_plugin.domain.decision import Decision, answered_at
from refunds_plugin.domain.kinds import AttemptStatus
from refunds_plugin.intake.returns_page import state_of
from refunds_plugin.language import written_in
from refunds_plugin.ledger import exchange_dues
from refunds_plugin.ledger.db import read_tx
from refunds_plugin.ledger.decisions import with_said
from refunds_plugin.ledger.exchange_dues import DueRow
from refunds_plugin.ledger.exchanges import ExchangeRow
from refunds_plugin.ledger.tables import (
    decisions,
    exchanges,
    ledger_entries,
    orders,
    refund_attempts,
    return_shipments,
    reviews,
)
from refunds_plugin.notify import stored
from refunds_plugin.notify.reads import line_names
from refunds_plugin.shipping.rows import ReturnRow, read

log = logging.getLogger("refunds.returns")

STAGES = {
    AttemptStatus.HELD: "waiting",  # for the parcel (``refund_on``)
    AttemptStatus.PENDING: "requested",
    AttemptStatus.IN_PROGRESS: "requested",
    AttemptStatus.SENT: "sent",
    AttemptStatus.UNKNOWN: "sent",  # the provider did not answer; a person checks if it paid
    AttemptStatus.SUCCEEDED: "received",
    AttemptStatus.FAILED: "failed",
    AttemptStatus.CANCELED: "failed",
    "review": "failed",
}


@dataclass(frozen=True)
class MoneyStatus:
    attempt_id: str
    kind: str  # refund | credit
    amount: int
    bonus: int
    stage: str  # waiting | requested | sent | received | failed | expired
    credit_code: str | None
    dry_run: bool = False  # the shop's test mode: no provider was asked, nothing moved
    provider: str = ""  # who pays it
    # what held money waits for: first_scan | delivered | inspected (``_waits``)
    waits_for: str = ""
    # the provider paid it in its test mode (Stripe answered ``livemode`` false): no card
    # statement shows it; NULL (recorded before revision 0025) reads as live
    test_mode: bool = False


@dataclass(frozen=True)
class DecisionStatus:
    decision_id: str
    order_id: str
    decision: Decision | None  # None: its stored body cannot be read (``unreadable``)
    created_at: datetime
    review: str | None  # open | approved | declined, when a person is involved
    money: tuple[MoneyStatus, ...]
    line_names: dict[str, str]
    customer_note: str | None = None  # what the reviewer wrote for the customer
    reviewed_at: datetime | None = None  # when a person decided the review
    # where and by when the items go back, the label and the parcel's status (None: nothing
    # to send back, or no return address configured)
    instructions: dict[str, Any] | None = None
    exchange: ExchangeRow | None = None  # where an exchange stands (and where to pay)
    # its mails' language (``language.written_in``): the one chosen when asking, else the
    # order's language tag, when the order gave one
    locale: str | None = None
    # an instant exchange's original that never came back: its value due (and where to pay)
    original_due: DueRow | None = None
    outcome: str = ""  # ``decisions.outcome``: approve | decline | review
    currency: str = ""  # ``decisions.currency``, for the money when the body cannot be read
    # the stored columns that cannot be read ("decisions.body"): the page says so in one line
    unreadable: tuple[str, ...] = ()
    send_by: datetime | None = None  # the moment the customer is told to send it by (rows.py)

    @property
    def decided_at(self) -> datetime | None:
        """When the answer was given: None while a person has yet to decide. An approval
        whose money a person is now looking at (a refused refund, an exchange that could not go
        ahead) was still given when it was recorded."""
        return answered_at(self.outcome, self.review, self.reviewed_at, self.created_at)

    @property
    def moved_on(self) -> bool:
        """Whether something happened since the answer was given that the answer does not say:
        a person decided its review (or took an approval up again), its parcel left or came
        back, or its exchange could not go ahead. Its page then shows where it stands now."""
        if self.review is not None and (self.outcome != "review" or self.review != "open"):
            return True
        parcel = (self.instructions or {}).get("status")
        if parcel is not None and parcel not in ("instructions", "label_pending",
                                                 "label_created"):
            return True
        return self.exchange is not None and self.exchange.status in ("fallen_back", "failed")

    @property
    def state(self) -> str:
        """One word for where the return stands: approved | checking | declined."""
        return state_of(self.outcome, self.review)


def decision_status(engine: Engine, decision_id: str) -> DecisionStatus | None:
    """The return of ``decision_id`` as its customer reads it; None: no such return."""
    with read_tx(engine) as conn:
        row = conn.execute(
            select(decisions.c.order_id, decisions.c.body, decisions.c.created_at,
                   decisions.c.kind, decisions.c.said, decisions.c.outcome, decisions.c.currency,
                   decisions.c.chosen_locale)
            .where(decisions.c.id == decision_id)
        ).first()
        if row is None or row.kind != "return":
            return None
        review_row = conn.execute(
            select(reviews.c.status, reviews.c.decided_at)
            .where(reviews.c.decision_id == decision_id)
        ).first()
        review, reviewed_at = tuple(review_row) if review_row is not None else (None, None)
        attempts = conn.execute(
            select(refund_attempts).where(refund_attempts.c.decision_id == decision_id)
            .order_by(refund_attempts.c.seq)
        ).all()
        entry = conn.execute(
            select(ledger_entries.c.body)
            .where(ledger_entries.c.subject_id == decision_id,
                   ledger_entries.c.entry_type == "review_decided")
            .order_by(ledger_entries.c.seq.desc()).limit(1)
        ).scalar_one_or_none()
        order_row = conn.execute(
            select(orders.c.lines, orders.c.locale).where(orders.c.order_id == row.order_id)
        ).first()
        lines_raw, locale = tuple(order_row) if order_row is not None else (None, None)
        unreadable: dict[str, str] = {}  # column → why
        shipped = _shipment(conn, decision_id, unreadable)
        swapped = _exchange(conn, decision_id, unreadable)
        due = exchange_dues.get(conn, decision_id) if swapped is not None else None
        waits = _waits(conn, decision_id, shipped) \
            if any(a.status == AttemptStatus.HELD for a in attempts) else {}
    names = line_names(row.order_id, lines_raw)
    money = tuple(
        MoneyStatus(a.id, a.kind, int(a.amount), int(a.bonus or 0),
                    "expired" if (a.last_error or "").startswith("return expired")
                    and a.status == AttemptStatus.CANCELED else STAGES.get(a.status, "requested"),
                    a.credit_code if a.status == AttemptStatus.SUCCEEDED and a.provider != "dryrun"
                    else None, a.provider == "dryrun", a.provider,
                    waits.get(a.kind, "inspected") if a.status == AttemptStatus.HELD else "",
                    a.livemode is False)
        for a in attempts
    )
    note = _read(lambda: json.loads(entry).get("customer_note") if entry else None,
                 "ledger_entries.body (review_decided)", unreadable)
    decision = _read(lambda: stored.decision(row.body), "decisions.body", unreadable)
    if decision is not None:
        decision = _said(decision, row.said, decision_id)
    if unreadable:
        parts = "; ".join(f"{column} ({why})" for column, why in unreadable.items())
        log.error("the return of decision %s, order %s: its stored %s cannot be read: its "
                  "customer's page shows what can be read until a person repairs the row",
                  decision_id, row.order_id, parts,
                  extra={"decision_id": decision_id, "order_id": row.order_id})
    return DecisionStatus(decision_id, row.order_id, decision,
                          row.created_at, review, money, names, note, reviewed_at,
                          shipped.instructions() if shipped is not None else None, swapped,
                          written_in(row.chosen_locale, locale), due, row.outcome,
                          row.currency, tuple(unreadable),
                          shipped.send_by if shipped is not None else None)


def _read(reading: Any, column: str, unreadable: dict[str, str]) -> Any:
    """``reading()``, or None with ``column`` noted in ``unreadable`` when it cannot be read."""
    try:
        return reading()
    except stored.UNREADABLE as exc:
        unreadable[column] = stored.why(exc)
        return None


def _shipment(conn: Connection, decision_id: str,
              unreadable: dict[str, str]) -> ReturnRow | None:
    found = conn.execute(select(return_shipments)
                         .where(return_shipments.c.decision_id == decision_id)).first()
    ret = read(found) if found is not None else None
    if ret is None or isinstance(ret, ReturnRow):
        return ret
    unreadable["return_shipments"] = ret.why
    return None


def _waits(conn: Connection, decision_id: str, shipped: ReturnRow | None) -> dict[str, str]:
    """What each kind of held money waits for (kind → first_scan | delivered | inspected): its
    return's ``refund_on``, or for an exchange's fallback decision its original's. A return
    without a bought label gets no carrier scan, so its first_scan money goes when the parcel
    reaches us. A kind not found here is told the latest trigger: never sooner than it goes."""
    if shipped is None:
        original = conn.execute(select(exchanges.c.decision_id).where(
            exchanges.c.fallback_decision_id == decision_id)).scalar()
        shipped = _shipment(conn, original, {}) if original is not None else None
    if shipped is None:
        return {}
    unscanned = shipped.status == "instructions"
    return {kind: "delivered" if on == "first_scan" and unscanned else on
            for kind, on in shipped.refund_on.items()}


def _exchange(conn: Connection, decision_id: str,
              unreadable: dict[str, str]) -> ExchangeRow | None:
    """The exchange, with no ``progress`` when that cannot be read (its status still shown)."""
    found = conn.execute(select(exchanges).where(exchanges.c.decision_id == decision_id)).first()
    if found is None:
        return None
    row = _read(lambda: _with_progress(found), "exchanges.progress", unreadable)
    return row or ExchangeRow.from_row(found, read_progress=False)


def _with_progress(found: Any) -> ExchangeRow:
    row = ExchangeRow.from_row(found)
    if not isinstance(row.progress, dict):
        raise TypeError(type(row.progress).__name__)
    return row


def _said(decision: Decision, said: str | None, decision_id: str) -> Decision:
    """The decision with its explanation's ids read back; when they cannot be read, its stored
    English explanation (a warning names the decision), as the mails do."""
    try:
        return with_said(decision, said)
    except stored.UNREADABLE as exc:
        log.warning("decision %s's stored explanation ids (decisions.said) cannot be read (%s): "
                    "its status page says the stored English explanation until a person "
                    "repairs the row", decision_id, stored.why(exc),
                    extra={"decision_id": decision_id})
        return decision
