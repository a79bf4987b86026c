"""An exchange that cannot go ahead becomes what the policy offered instead: the exchanged lines
decided again as a plain return (a refund, or store credit with its bonus), once per exchange
(``request_key`` ``exchange-fallback:<decision>``), its money through the usual attempts.

* ``fall_back``: the difference was never paid (the Checkout Session expired).
* ``out_of_stock``: the new item went out of stock between the request and the shipping (Saleor
  refused to complete the replacement for stock, or the storefront said so), or while the
  customer had still to pay a dearer item's difference (its open Checkout Session is then
  expired by the worker, and a payment that comes in all the same is refunded:
  ``exchanges/difference.py``). The replacement is never completed, its
  ``exchange_unshipped`` follow-up (a person asked to send it) is cleared, and the customer is
  told (``exchange_unavailable``) what comes instead.
  A dearer item's difference the customer paid is refunded with it (``difference.refund``).
  Where the customer got money back for a cheaper item, that part is not undone
  automatically: a person is told, with the amount (the exchange ``failed``, never shipped
  unless that person approves it again).
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import datetime

from sqlalchemy import Connection, select

import policies
from refunds_plugin.domain.decision import Decision
from refunds_plugin.domain.facts import ReturnLine, ReturnRequest
from refunds_plugin.domain.kinds import WAITING, AttemptStatus, Reason, ResolutionKind
from refunds_plugin.errors import InputError, NotFound
from refunds_plugin.exchanges import difference
from refunds_plugin.exchanges.by_hand import shipped_by_hand
from refunds_plugin.exchanges.shipping import tell_a_person
from refunds_plugin.ledger import exchanges
from refunds_plugin.ledger import facts as facts_mod
from refunds_plugin.ledger.db import aware
from refunds_plugin.ledger.decisions import RecordedDecision, record_decision
from refunds_plugin.ledger.exchanges import ExchangeRow
from refunds_plugin.ledger.facts import FALLBACK_KEY
from refunds_plugin.ledger.paid_out import PAID_OUT
from refunds_plugin.ledger.tables import decisions, refund_attempts
from refunds_plugin.money import Money
from refunds_plugin.notify import causes
from refunds_plugin.routing import Route
from refunds_plugin.shipping import returns
from refunds_plugin.shipping.rows import get_return
from refunds_plugin.trouble.follow_ups import clear_unshipped

log = logging.getLogger("refunds.exchanges")


def _waits(conn: Connection, policy: policies.Policy, decision_id: str
           ) -> tuple[frozenset[ResolutionKind], dict[str, str]]:
    """What of the money instead waits for the exchange's return, and for which of its
    triggers (kind: trigger), as the policy says for the original (an instant exchange's until
    it is back): the kinds whose trigger its return has not reached; none without a return."""
    stored = conn.execute(select(decisions.c.body, decisions.c.facts).where(
        decisions.c.id == decision_id)).one()
    original = Decision.from_dict(json.loads(stored.body))
    ret = get_return(conn, decision_id)
    if original.exchange is None or ret is None:
        return frozenset(), {}
    # its return could get a label (a carrier scan) only where its decision's facts say so
    labelled = json.loads(stored.facts or "{}").get("can_label", True) is not False
    done = returns.reached_triggers(ret)
    waits = {k: policy.refund_on_for(k, instant_exchange=original.exchange.instant,
                                     can_label=labelled).value for k in ResolutionKind}
    held = frozenset(k for k, on in waits.items() if on not in done)
    return held, {k.value: waits[k] for k in held}


def _decide_instead(conn: Connection, policy: policies.Policy, route: Route, row: ExchangeRow,
                    now: datetime, channel: str,
                    held: frozenset[ResolutionKind] = frozenset()) -> RecordedDecision | str:
    """The exchanged lines decided as a return; or why not, as a note."""
    found = conn.execute(select(decisions.c.body, decisions.c.request, decisions.c.created_at,
                                decisions.c.facts, decisions.c.chosen_locale)
                         .where(decisions.c.id == row.decision_id)).first()
    if found is None:
        return f"exchange {row.decision_id}: nothing to fall back from"
    original = Decision.from_dict(json.loads(found.body))
    asked = json.loads(found.request)
    assert original.exchange is not None
    reasons = {ln.line_id: ln.reason for ln in original.lines}
    swapped = {ln.line_id: ln.quantity for ln in original.exchange.lines}
    prefer = asked.get("preferred_resolution")
    request = ReturnRequest(
        request_id=f"{FALLBACK_KEY}{row.decision_id}", order_id=row.order_id,
        lines=tuple(ReturnLine(lid, q, Reason(reasons[lid])) for lid, q in swapped.items()),
        preferred_resolution=ResolutionKind(prefer) if prefer else None,
        channel=channel)
    facts = facts_mod.load_facts(conn, row.order_id, now, policy.abuse_window_days)
    if facts is None:
        return f"exchange {row.decision_id}: order {row.order_id} unknown"
    # the exchanged units were counted as returned by the exchange itself: decide them afresh
    left = tuple((lid, q - swapped.get(lid, 0)) for lid, q in facts.returned_quantities)
    # a label fee, and money waiting for a parcel, only where its decision's facts said so
    stored = json.loads(found.facts or "{}")
    facts = replace(facts, returned_quantities=tuple((lid, q) for lid, q in left if q > 0),
                    can_label=stored.get("can_label", True) is not False,
                    return_opened=stored.get("return_opened", True) is not False)
    # judged as of the original request (its window), not as of now
    decision = policies.evaluate(policy, facts, request, aware(found.created_at))
    return record_decision(conn, decision=decision, facts=facts, request=request,
                           request_key=request.request_id, route=route(facts), now=now,
                           held=held, locale=found.chosen_locale)  # its mails: as the first's


def fall_back(conn: Connection, policy: policies.Policy, route: Route, row: ExchangeRow,
              now: datetime) -> tuple[str, tuple[str, ...]]:
    """Decide the exchanged lines of an unpaid exchange as a return; (note, attempts to nudge)."""
    if row.status != "awaiting_payment":
        return f"exchange {row.decision_id}: nothing to fall back from", ()
    held, waits = _waits(conn, policy, row.decision_id)
    recorded = _decide_instead(conn, policy, route, row, now, "exchange_fallback", held)
    if isinstance(recorded, str):
        return recorded, ()
    if held:
        returns.wait_also(conn, row.decision_id, waits, now)
    exchanges.fall_back(conn, row, recorded.id, now)
    return (f"exchange {row.decision_id} not paid: decided as "
            f"{recorded.decision.resolution_summary} instead ({recorded.id})",
            recorded.attempt_ids)


def out_of_stock(conn: Connection, policy: policies.Policy, route: Route, row: ExchangeRow,
                 why: str, now: datetime) -> tuple[str, tuple[str, ...]]:
    """The new item cannot ship for stock: the exchanged lines are decided as the refund or
    credit the policy offers, the exchange ends unshipped, the customer is told; once.
    Returns (note, attempts to nudge)."""
    fresh = exchanges.get_exchange(conn, row.decision_id) or row
    if not exchanges.stock_may_fall_back(fresh):
        return (f"exchange {row.decision_id} is {fresh.status}: nothing falls back for stock",
                ())
    sent = shipped_by_hand(fresh)  # the new items left the shop: too late to refund instead
    if sent is not None:
        return (f"exchange {row.decision_id} was sent by hand ({sent.by}: {sent.words()}): "
                "nothing falls back for stock", ())
    if fresh.back_amount:  # money goes back for the cheaper item: a person decides
        _to_a_person(conn, fresh, f"out of stock ({why}), and {_back(conn, fresh)}: decide the "
                     "refund or credit by hand", now)
        return f"exchange {row.decision_id}: out of stock, sent to a person", ()
    original = Decision.from_dict(json.loads(conn.execute(select(decisions.c.body).where(
        decisions.c.id == row.decision_id)).scalar_one()))
    assert original.exchange is not None
    ret = get_return(conn, row.decision_id)
    if ret is not None and ret.status in ("expired", "reopened"):
        _to_a_person(conn, fresh, f"out of stock ({why}), and the original was not sent back "
                     "in time: decide by hand", now)
        return f"exchange {row.decision_id}: out of stock after the return expired", ()
    held, waits = _waits(conn, policy, row.decision_id)
    recorded = _decide_instead(conn, policy, route, fresh, now, "exchange_out_of_stock", held)
    if isinstance(recorded, str):
        return recorded, ()
    if held:
        returns.wait_also(conn, row.decision_id, waits, now)
    if not exchanges.out_of_stock(conn, fresh, recorded.id, why, now):
        return f"exchange {row.decision_id}: fell back already", ()
    clear_unshipped(conn, row.decision_id, now)  # nobody is to send what is refunded instead
    # a difference the customer paid goes back too, to the card that paid it (without its
    # PaymentIntent recorded, a follow-up names it for a person); still awaiting it, its open
    # link is expired by the worker (``difference``)
    ended = exchanges.get_exchange(conn, row.decision_id) or fresh
    refunding = difference.refund(conn, ended, f"out of stock ({why})", now)
    paid = ended.charge_amount if ended.paid_at is not None else 0
    link = ended.checkout_session_id if ended.checkout_status == "expiring" else None
    said = {"difference_refunding" if refunding else "difference_paid": paid,
            "link_closed": link is not None}
    causes.exchange_unavailable(conn, decision_id=row.decision_id,
                                fallback_decision_id=recorded.id,
                                unavailable=[ln.name for ln in original.exchange.lines], now=now,
                                said=said)
    note = (f"exchange {row.decision_id} out of stock: decided as "
            f"{recorded.decision.resolution_summary} instead ({recorded.id})")
    if link:
        note += f"; its unpaid payment link ({link}) will be expired"
    if refunding:
        note += f"; the {Money(paid, fresh.currency)} paid for the difference is refunded"
    return note, recorded.attempt_ids + ((refunding,) if refunding else ())


def _back(conn: Connection, row: ExchangeRow) -> str:
    """What became of a cheaper item's difference, as its attempts say: paid back, held for
    the original (a decline of the review cancels it, an approval pays it now: ``decide``),
    on its way, or not paid."""
    said = {AttemptStatus.SUCCEEDED: "{} was already paid back for the cheaper item",
            AttemptStatus.HELD: "{} for the cheaper item waits for the original to arrive "
                                "(held: approving pays it now, declining cancels it)",
            AttemptStatus.UNKNOWN: "{} for the cheaper item may have been paid back (its "
                                   "outcome is unknown)"}
    # what each refund gives (``PAID_OUT``: one Saleor clamped gives less than asked)
    rows = conn.execute(select(refund_attempts.c.status, PAID_OUT.label("amount")).where(
        refund_attempts.c.decision_id == row.decision_id)).all()
    parts: list[str] = []
    for status in (AttemptStatus.SUCCEEDED, AttemptStatus.HELD, AttemptStatus.UNKNOWN):
        amount = sum(int(a.amount) for a in rows if a.status == status)
        if amount:
            parts.append(said[status].format(Money(amount, row.currency)))
    going = sum(int(a.amount) for a in rows if a.status in WAITING + (AttemptStatus.SENT,))
    if going:
        parts.append(f"{Money(going, row.currency)} for the cheaper item is being paid back")
    unpaid = f"{Money(row.back_amount, row.currency)} for the cheaper item was not paid back"
    return ", ".join(parts) or unpaid


def _to_a_person(conn: Connection, row: ExchangeRow, why: str, now: datetime) -> None:
    """Out of stock, and what instead is for a person to decide: the exchange is ``failed``
    (``out_of_stock: …``), so no worker ships it once stock is back, the customer's page no
    longer says it is ready, and nobody is asked to send it; its review reopened; once."""
    if exchanges.note_failure(conn, row, f"{exchanges.OUT_OF_STOCK}{why}"[:2000], now,
                              give_up=True):
        clear_unshipped(conn, row.decision_id, now)
        tell_a_person(conn, row, why, now, "exchange_out_of_stock")


def sold_out(conn: Connection, decision_id: str, skus: list[str]) -> tuple[ExchangeRow, str]:
    """The exchange a storefront says it cannot ship, checked before anything is recorded: it
    exists and ``skus`` are among its new items. (The exchange, why in words.)"""
    row = exchanges.get_exchange(conn, decision_id)
    if row is None:
        raise NotFound(f"no exchange was decided as {decision_id}", code="unknown_exchange")
    original = Decision.from_dict(json.loads(conn.execute(select(decisions.c.body).where(
        decisions.c.id == decision_id)).scalar_one()))
    offered = {ln.sku for ln in original.exchange.lines} if original.exchange else set()
    unknown = [sku for sku in skus if sku not in offered]
    if unknown:
        raise InputError(f"{', '.join(unknown)} is not a new item of exchange {decision_id} "
                         f"(it sends {', '.join(sorted(offered))})", code="invalid_sku")
    said = ", ".join(skus or sorted(offered))
    return row, f"the storefront has no {said} left to ship"


def log_event(event_id: str, decision_id: str, note: str | None) -> None:
    log.info("exchange out of stock: %s", note,
             extra={"event_id": event_id, "decision_id": decision_id})
