"""Decisions in the ledger: each stored once per request, with its journal entry and then its
attempts (an approval) or its review (a person decides).

``guard_refundable`` is the recording transaction's own check that an approval fits what the
payments still hold. The policy already caps every refund at the refundable remainder; this is
the second line of defence, run on the facts read inside the same transaction.
``guard_currency`` is another: a refund in a currency other than its payment's (a provider
would read its amount in the payment's currency) goes to a person, and ``foreign_payments``
lets a person's approval refuse it too.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Connection, bindparam, select

from policies.explanation import without_promise
from refunds_plugin.domain.decision import Decision, RuleResult
from refunds_plugin.domain.facts import OrderFacts, ReturnRequest
from refunds_plugin.domain.kinds import DecisionKind, Outcome, ResolutionKind
from refunds_plugin.language import normalise
from refunds_plugin.language.said import Joined, rebuild, said, structure, structured
from refunds_plugin.ledger import saleor_returns
from refunds_plugin.ledger.attempts import write_attempts
from refunds_plugin.ledger.exchanges import open_exchange
from refunds_plugin.ledger.facts import OrderSeen
from refunds_plugin.ledger.inserts import AlreadyThere, first_then
from refunds_plugin.ledger.journal import append_entry, insert_ignore, plain, to_json
from refunds_plugin.ledger.line_index import customer_key, index_return
from refunds_plugin.ledger.reviews import open_review, review_why
from refunds_plugin.ledger.tables import decisions, payments, refund_attempts
from refunds_plugin.money import written
from refunds_plugin.notify.causes import Seen, decision_recorded


@dataclass(frozen=True)
class RecordedDecision:
    id: str
    decision: Decision
    attempt_ids: tuple[str, ...]
    created: bool  # False when this request had been decided before
    # the attempt rows as this transaction wrote them (empty when found, not created)
    written: tuple[dict[str, Any], ...] = ()
    # the return this transaction opened (``shipping.rows.ReturnRow``; None: none, or found)
    opened: Any = None


def find_decision(conn: Connection, order_id: str, request_key: str) -> RecordedDecision | None:
    row = conn.execute(
        select(decisions.c.id, decisions.c.body, decisions.c.said).where(
            decisions.c.order_id == order_id, decisions.c.request_key == request_key
        )
    ).first()
    if row is None:
        return None
    attempt_ids = (
        conn.execute(
            select(refund_attempts.c.id)
            .where(refund_attempts.c.decision_id == row.id)
            .order_by(refund_attempts.c.seq)
        )
        .scalars()
        .all()
    )
    return RecordedDecision(
        row.id, with_said(Decision.from_dict(json.loads(row.body)), row.said),
        tuple(attempt_ids), created=False,
    )


def with_said(decision: Decision, stored: str | None) -> Decision:
    """The decision with its explanation's structure read back (``decisions.said``), so it can
    be said in a reader's language; a decision recorded before that column keeps its text."""
    if not stored:
        return decision
    text = rebuild(json.loads(stored))
    if str(text) != decision.explanation:  # never say something other than what was recorded
        return decision
    return replace(decision, explanation=text)


def decision_body(decision: Decision) -> dict[str, Any]:
    """``Decision.to_dict()`` as JSON sees it (same keys and values), built with ``plain``."""
    return {**plain(decision), "amount": decision.amount, "resolution": decision.resolution_summary}


def facts_json(facts: OrderFacts) -> dict[str, Any]:
    return dict(plain(facts))


def request_json(request: ReturnRequest | dict[str, Any]) -> dict[str, Any]:
    return request if isinstance(request, dict) else dict(plain(request))


def guard_refundable(decision: Decision, facts: OrderFacts) -> Decision:
    """Second line of defence, in the recording transaction: an approval that would send more
    back to a payment than it still holds goes to a person instead of to the provider."""
    if decision.outcome is not Outcome.APPROVE:
        return decision
    left = {p.reference: p.refundable for p in facts.payments}
    wanted: dict[str, int] = {}
    for res in decision.resolutions:
        if res.kind is ResolutionKind.REFUND:
            ref = res.payment_reference or ""
            wanted[ref] = wanted.get(ref, 0) + res.amount
    over = {ref: amount for ref, amount in wanted.items() if amount > left.get(ref, 0)}
    if not over:
        return decision
    saw = {ref: {"wanted": amount, "refundable": left.get(ref, 0)} for ref, amount in over.items()}
    guard = RuleResult("ledger_guard", "review", "exceeds_refundable",
                       said("The refund would be more than the payment still holds, so a person "
                            "will check it before any money moves."), saw)
    # no promise of when money leaves that a person has yet to let go
    return replace(decision, outcome=Outcome.REVIEW, reason_code="exceeds_refundable",
                   trace=(*decision.trace, guard),
                   explanation=Joined([without_promise(decision.explanation), guard.message]))


def guard_connected(decision: Decision, route: dict[str, str],
                    connected: frozenset[str]) -> Decision:
    """An approval whose money ``route`` sends to a provider this service cannot call (a
    payment through a provider it is not connected to) goes to a person, promising nothing:
    no provider could be asked, so nobody may be told one refused or will pay."""
    if decision.outcome is not Outcome.APPROVE:
        return decision
    names = sorted({name for res in decision.resolutions if res.total > 0
                    if (name := route.get(res.payment_reference or "", "")
                        if res.kind is ResolutionKind.REFUND else route.get("credit", ""))
                    and name not in connected})
    if not names:
        return decision
    guard = RuleResult("ledger_guard", "review", "provider_not_connected",
                       said("This order was paid through {provider}, which this shop has not "
                            "connected for refunds, so a person will settle it by hand; no "
                            "money has moved yet.", provider=", ".join(names)),
                       {"providers": names})
    return replace(decision, outcome=Outcome.REVIEW, reason_code="provider_not_connected",
                   trace=(*decision.trace, guard),
                   explanation=Joined([without_promise(decision.explanation), guard.message]))


_CURRENCIES = select(payments.c.reference, payments.c.currency).where(
    payments.c.order_id == bindparam("oid"), payments.c.reference.in_(bindparam("refs",
                                                                             expanding=True)))


def foreign_payments(conn: Connection, order_id: str, decision: Decision,
                     known: Mapping[str, str] | None = None) -> dict[str, str]:
    """The decision's refunds whose payment was taken in another currency than the decision's,
    as ``{reference: "payment pi_… was taken in USD; this refund is 10000 JPY"}``. ``known``:
    the currencies of the order's payments as this transaction read them (``OrderSeen``); a
    reference not among them is read from the table."""
    wanted: dict[str, int] = {}
    for res in decision.resolutions:
        if res.kind is ResolutionKind.REFUND and res.amount > 0 and res.payment_reference:
            wanted[res.payment_reference] = wanted.get(res.payment_reference, 0) + res.amount
    if not wanted:
        return {}
    cur = decision.currency
    taken_in = dict(known or {})
    if not wanted.keys() <= taken_in.keys():
        taken_in = dict(conn.execute(_CURRENCIES, {"oid": order_id, "refs": list(wanted)}).all())
    return {ref: f"payment {ref} was taken in {taken}; this refund is {written(wanted[ref], cur)}"
            for ref in wanted if (taken := taken_in.get(ref)) is not None and taken != cur}


def guard_currency(conn: Connection, decision: Decision, facts: OrderFacts,
                   seen: OrderSeen | None = None) -> Decision:
    """Defence in depth, in the recording transaction: an approval that would refund a payment
    in another currency than it was taken in goes to a person, never to the provider. ``seen``:
    the payments' currencies as read with the facts, in this transaction (no second read)."""
    if decision.outcome is not Outcome.APPROVE:
        return decision
    found = foreign_payments(conn, facts.order_id, decision,
                             seen.currencies if seen is not None else None)
    if not found:
        return decision
    guard = RuleResult("ledger_guard", "review", "currency_mismatch",
                       said("The payment was taken in another currency than this refund, so a "
                            "person will check it before any money moves."),
                       {"findings": found})
    return replace(decision, outcome=Outcome.REVIEW, reason_code="currency_mismatch",
                   trace=(*decision.trace, guard),
                   explanation=Joined([decision.explanation, guard.message]))


def record_decision(
    conn: Connection,
    *,
    decision: Decision,
    facts: OrderFacts,
    request: ReturnRequest | dict[str, Any],
    request_key: str,
    route: dict[str, str],
    now: datetime,
    event_row: int | None = None,
    held: frozenset[ResolutionKind] = frozenset(),
    approved: Callable[[Connection, str, Decision], Any] | None = None,
    seen: OrderSeen | None = None,
    test_mode: bool = False,
    connected: frozenset[str] | None = None,
    locale: str | None = None,
) -> RecordedDecision:
    """Store a decision once per ``(order, request_key)``, its attempts and its journal entry.

    ``route`` maps a payment reference (or ``"credit"``) to the provider that executes it.
    Attempts are created only for an approved decision; a review opens a review row instead.
    ``held``: the kinds of money that wait for the parcel (``policy.refund_on``).
    ``approved``: what else a new approval records in this transaction (the physical return,
    ``intake/physical.open_for``, which returns it or None), before the decision's messages,
    which carry it. ``seen``: the rest of the order row the facts were read from, so the
    messages need not read it again. ``test_mode``: its money would not really move (a Stripe
    test key), so its messages say test mode as a dry run's do. ``connected``: the providers
    that can be called (``routing.connected``; None: not checked): an approval routed to
    another goes to a person (``guard_connected``). ``locale``: the language the customer
    asked in (on the returns pages, or a storefront return's); its mails are written in it (one
    not shipped is not kept: ``language.written_in``).
    """
    decision = guard_currency(conn, guard_refundable(decision, facts), facts, seen)
    if connected is not None:
        decision = guard_connected(decision, route, connected)
    decision_id = str(uuid.uuid4())
    chosen = normalise(locale)
    asked = request_json(request)
    body = decision_body(decision)
    # how the explanation was said, to say it again in a reader's language; beside the
    # decision, not in its journal entry, so a translation fix changes no hash
    said_json = to_json(structure(decision.explanation)) \
        if structured(decision.explanation) else None
    row = {
        "id": decision_id,
        "order_id": facts.order_id,
        "request_key": request_key,
        "kind": decision.kind.value,
        "outcome": decision.outcome.value,
        "resolution": decision.resolution_summary,
        "currency": decision.currency,
        "amount": decision.amount,
        "refund_amount": decision.refund_amount,
        "credit_amount": decision.credit_amount,
        "reason_code": decision.reason_code,
        "policy_name": decision.policy_name,
        "policy_hash": decision.policy_hash,
        "explanation": decision.explanation,
        "said": said_json,
        "chosen_locale": chosen,
        "body": to_json(body),
        "facts": to_json(facts_json(facts)),
        "request": to_json(asked),
        "customer_id": facts.customer.id,
        "customer_email": facts.customer.email,
        "event_id": event_row,
        "created_at": now,
    }
    rest = partial(_write_rest, conn, decision_id, decision, facts, body, asked, request_key,
                   route, now, held, approved, seen, said_json, test_mode, chosen)
    if conn.dialect.name == "postgresql":
        # its row, return lines, attempts, journal entries and messages: one statement, and
        # none of them if a decision for this request is there already (``first_then``)
        try:
            with first_then(conn, decisions, row) as first:
                written, opened = rest()
        except AlreadyThere:
            pass
        inserted = first.inserted
    else:
        inserted = insert_ignore(conn, decisions, row)
        if inserted:
            written, opened = rest()
    if not inserted:
        existing = find_decision(conn, facts.order_id, request_key)
        assert existing is not None  # the unique constraint said it exists
        return existing
    ids = tuple(w["id"] for w in written)
    return RecordedDecision(decision_id, decision, ids, created=True, written=tuple(written),
                            opened=opened)


def _write_rest(conn: Connection, decision_id: str, decision: Decision, facts: OrderFacts,
                body: dict[str, Any], asked: dict[str, Any], request_key: str,
                route: dict[str, str], now: datetime, held: frozenset[ResolutionKind],
                approved: Callable[[Connection, str, Decision], Any] | None,
                seen: OrderSeen | None, said_json: str | None,
                test_mode: bool, chosen: str | None) -> tuple[list[dict[str, Any]], Any]:
    """``record_decision`` after its row: what a new decision writes beside it."""
    index_return(conn, decision_id=decision_id, decision=decision, body=body,
                 request=asked,
                 order_id=facts.order_id, now=now,
                 customer=customer_key(facts.customer.email, facts.customer.id))
    # the decision's journal entry, written with its attempts' entries in one statement
    entry = ("decision", decision_id, decision_entry(body, facts, request_key, now))
    written: list[dict[str, Any]] = []
    opened = None
    if decision.outcome is Outcome.APPROVE:
        written = write_attempts(conn, decision_id, decision, facts, route, now,
                                 held if decision.return_required else frozenset(),
                                 first=entry)
        # no attempt to record the return in Saleor (a free order's): a row of its own does
        saleor_returns.open_for(conn, decision_id, decision, facts, request_key, written, now)
        if decision.exchange is not None:
            open_exchange(conn, decision_id, facts.order_id, decision.currency,
                          decision.exchange, now)
        if approved is not None:
            opened = approved(conn, decision_id, decision)
    else:
        append_entry(conn, *entry, now)
        if decision.outcome is Outcome.REVIEW:
            open_review(conn, decision_id, review_reason(decision, body["trace"]), now)
    decision_recorded(conn, decision_id=decision_id, decision=decision, order_id=facts.order_id,
                      customer_email=facts.customer.email, now=now,
                      seen=None if seen is None else Seen(seen, said_json, opened, chosen),
                      # its attempts say; with none (a review, a decline) the order's route
                      dry_run=test_mode or (any(row["provider"] == "dryrun" for row in written)
                                            if written else "dryrun" in route.values()),
                      request_lines=list(asked.get("lines") or ()))
    return written, opened


def decision_entry(body: dict[str, Any], facts: OrderFacts, request_key: str,
                   now: datetime) -> dict[str, Any]:
    """The ``decision`` entry's body: the decision, and what its row says about it that money
    depends on (whose order and customer, when), so ``ledger verify`` holds the row to it.
    Entries written before ``customer_id``, ``customer_email`` and ``created_at`` were added
    lack them; verify compares what an entry has."""
    return {"decision": body, "order_id": facts.order_id, "request_key": request_key,
            "customer_id": facts.customer.id, "customer_email": facts.customer.email,
            "created_at": now.isoformat()}


def review_reason(decision: Decision, trace: list[dict[str, Any]]) -> str:
    """Why a person must look. A return: the reason code, with an abuse signal's figures
    (``review_why``). A correction nobody asked for: the code and the rule's sentence (which
    payments, what was not confirmed), since finance has no request to read it from."""
    code = decision.reason_code
    if decision.kind is DecisionKind.RETURN:
        return review_why(trace) or code
    told = next((t.message for t in reversed(decision.trace) if t.code == code), None)
    return code if told is None else f"{code}: {told}"
