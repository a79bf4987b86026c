"""The physical return in the service layer: which money waits for the parcel, the return opened
in its decision's transaction, and the warehouse's receipt — one transaction that records it line
by line and releases (or sends to a person) the money waiting for it (``shipping/``)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

import policies
from refunds_plugin.config import Config
from refunds_plugin.domain.decision import Decision
from refunds_plugin.domain.facts import OrderFacts
from refunds_plugin.domain.kinds import ResolutionKind
from refunds_plugin.errors import NotFound, UnreadableRecord
from refunds_plugin.ledger import facts as facts_mod
from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.tables import decisions, orders, return_shipments
from refunds_plugin.notify import stored
from refunds_plugin.shipping import receiving, returns, tracking
from refunds_plugin.shipping.receiving import Receipt, Received
from refunds_plugin.shipping.rows import ReturnRow, Unreadable, read

log = logging.getLogger("refunds.shipping")
# line id → (condition, units or None for all the return takes back, restock)
Lines = Mapping[str, tuple[str, int | None, bool]]


def held_kinds(policy: policies.Policy, config: Config,
               decision: Decision | None = None) -> frozenset[ResolutionKind]:
    """The kinds of money that wait for the parcel (``refund_on``, and every kind of an instant
    exchange's: the original's value stays reserved until it is back); none without a return
    address, since nothing could then release them."""
    if not config.return_addresses:
        return frozenset()
    instant = _instant(decision)
    return frozenset(k for k in ResolutionKind
                     if policy.refund_on_for(k, instant_exchange=instant).value != "approval")


def labelled(facts: OrderFacts, config: Config) -> OrderFacts:
    """``facts`` as the policy must see them: ``can_label`` False where no prepaid label can be
    bought (``Config.can_label``: no carrier or no return address), so no label fee is taken;
    ``return_opened`` False without a return address (``open_for`` opens no return), so
    nothing waits for a parcel: the money moves and an exchange's new item ships at approval."""
    if not config.return_addresses and facts.return_opened:
        facts = replace(facts, return_opened=False)
    return facts if config.can_label or not facts.can_label else replace(facts, can_label=False)


def _instant(decision: Decision | None) -> bool:
    return decision is not None and decision.exchange is not None and decision.exchange.instant


def open_for(conn: Connection, decision_id: str, d: Decision, facts: OrderFacts,
             policy: policies.Policy, config: Config, now: datetime,
             seen: facts_mod.OrderSeen | None = None) -> ReturnRow | None:
    """An approved decision (by the policy, or by a person) whose items come back gets its
    return, in the transaction that approves it; returns it (None: nothing comes back, or no
    return address). ``seen``: the order row as this transaction read it already."""
    if not d.return_required:
        return None
    kinds = {r.kind for r in d.resolutions if r.total > 0}
    can_label = config.can_label and facts.can_label  # no label: no scan, so first_scan waits
    refund_on = {k: policy.refund_on_for(k, instant_exchange=_instant(d),
                                         can_label=can_label).value for k in kinds}
    extra = seen.extra_dict() if seen is not None else facts_mod.order_extra(conn, facts.order_id)
    return returns.open_return(conn, decision_id, d, facts, extra, config,
                               policy.return_shipping, refund_on, now)


def known_update(engine: Engine, event_id: str,
                 event: dict[str, Any]) -> tuple[tracking.TrackerUpdate | None, str]:
    """The event's tracker update, if it is about a tracking code we bought; else None, why it
    is ignored, and a log line."""
    found = tracking.parse(event)
    with engine.connect() as conn:
        known = found is not None and returns.tracked(conn, found.code,
                                                               found.shipment_id) is not None
    if not known:
        tracking.log_ignored(event_id, found)
        return None, "unknown tracking code" if found else "not a tracker update"
    return found, ""


def instructions(engine: Engine, decision_id: str) -> dict[str, Any] | None:
    """Where and by when the items go back, and the label (None: nothing to send back)."""
    with engine.connect() as conn:
        ret = returns.get_return(conn, decision_id)
    return ret.instructions() if ret is not None else None


def receive(engine: Engine, config: Config, decision_id: str, lines: Lines, by: str,
            now: datetime, restock: Callable[[], int] | None = None) -> Receipt:
    """Record what arrived for the return of ``decision_id``, idempotent for the same lines;
    then ``restock`` (the shipping desk's Saleor round) puts what goes back on the shelf."""
    receipt = _record(engine, config, decision_id, lines, by, now)
    if restock is None or receipt.duplicate:
        return receipt
    restock()
    with engine.connect() as conn:
        return replace(receipt, restock=tuple(receiving.restock_lines(conn, decision_id)))


def _record(engine: Engine, config: Config, decision_id: str, lines: Lines, by: str,
            now: datetime) -> Receipt:
    with write_tx(engine) as conn:
        row = conn.execute(select(return_shipments)
                           .where(return_shipments.c.decision_id == decision_id)).first()
        if row is None:
            raise NotFound(f"no return is waiting for decision {decision_id}",
                           code="unknown_return")
        ret = read(row)
        if isinstance(ret, Unreadable):
            raise _unreadable(ret.decision_id, ret.order_id, "return (return_shipments)", ret.why)
        found = conn.execute(select(decisions.c.body, orders.c.source).join(
            orders, orders.c.order_id == decisions.c.order_id).where(
            decisions.c.id == decision_id)).one()
        try:
            decision = Decision.from_dict(json.loads(found.body))
        except stored.UNREADABLE as exc:
            raise _unreadable(decision_id, ret.order_id, "decision (decisions.body)",
                              stored.why(exc)) from None
        wanted = {ln.line_id: ln.quantity for ln in decision.lines}
        got = [Received(line_id, wanted.get(line_id, 0) if units is None else units, condition,
                        restock)
               for line_id, (condition, units, restock) in lines.items()]
        saleor = found.source == "saleor" and bool(config.saleor_restock_warehouse)
        return receiving.mark_received(conn, ret, decision, got, by, now, saleor)


def _unreadable(decision_id: str, order_id: str, what: str, why: str) -> UnreadableRecord:
    """Why a return whose stored record cannot be read is not received: nothing is recorded
    and no money is released on a guess (one error names it)."""
    said = (f"the return of decision {decision_id}, order {order_id} cannot be received: its "
            f"stored {what} cannot be read ({why}); a person must repair the row first, "
            "nothing was recorded")
    log.error(said, extra={"decision_id": decision_id, "order_id": order_id})
    return UnreadableRecord(said)
