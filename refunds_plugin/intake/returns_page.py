"""What the customer's returns page asks of the ledger: find my order, what can still go back
and until when, and where is my money.

The page itself (``webhooks/returns/views.py``) only renders these answers; decisions are made by
``Service.return_requested`` like every other return request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, or_, select

import policies
from policies import deadline
from refunds_plugin.domain.decision import Decision, RuleResult, swapped
from refunds_plugin.domain.facts import OrderFacts, ReturnLine, ReturnRequest, Variant
from refunds_plugin.domain.kinds import Reason, ResolutionKind
from refunds_plugin.language import written_in
from refunds_plugin.ledger.db import read_tx
from refunds_plugin.ledger.decisions import RecordedDecision, find_decision
from refunds_plugin.ledger.facts import load_facts
from refunds_plugin.ledger.tables import decisions, orders, reviews
from refunds_plugin.notify import stored
from refunds_plugin.notify.reads import line_names

# Compared against when the order is unknown or has no email, so every answer costs about the
# same; it never matches (an order without an email is not opened here).
_NO_EMAIL = hashlib.sha256(b"no order has this email").digest()
log = logging.getLogger("refunds.returns")


def normalize_order_number(raw: str) -> str:
    return raw.strip().lstrip("#").strip()


def _email_digest(email: str) -> bytes:
    return hashlib.sha256(_email_key(email).encode("utf-8")).digest()


def _email_key(email: str) -> str:
    """One spelling per address: composed (NFC), any case, its domain's ``xn--`` labels read
    back as letters. A browser sends ``ana@exämple.com`` typed in an email field as
    ``ana@xn--exmple-cua.com``, so the order's own spelling must compare equal to it."""
    local, at, domain = unicodedata.normalize("NFC", email.strip()).rpartition("@")
    if at:
        domain = unicodedata.normalize("NFC", ".".join(_label(part) for part in domain.split(".")))
    return f"{local}{at}{domain}".casefold()


def _label(label: str) -> str:
    if label[:4].lower() != "xn--":
        return label
    try:
        return label[4:].encode("ascii").decode("punycode")
    except UnicodeError:
        return label


def find_order(
    engine: Engine, order_number: str, email: str, now: datetime, window_days: int = 90
) -> OrderFacts | None:
    """The order's facts only when the email matches; None alike for unknown order and wrong
    email, so the page can never tell the two apart.

    The customer types either our order id or the number their shop showed them (a Saleor
    order's ``number``, not its global id); several shops' orders may share a number, so every
    candidate is compared and only the one whose email matches is opened.
    """
    number = normalize_order_number(order_number)
    given = _email_digest(email)
    with read_tx(engine) as conn:
        candidates = conn.execute(
            select(orders.c.order_id, orders.c.customer_email)
            .where(or_(orders.c.order_id == number, orders.c.order_number == number))
            .order_by(orders.c.order_id)
            .limit(20)
        ).all() if number else []
        pairs: list[tuple[str | None, str | None]] = [(r[0], r[1]) for r in candidates]
        found = None
        for order_id, stored in pairs or [(None, None)]:
            # an order recorded without an email is compared too, as long, but never opened:
            # typing the stand-in's own words must not open it (a security review found that)
            expected = _email_digest(stored) if stored else _NO_EMAIL
            same = hmac.compare_digest(given, expected)
            if same and stored and order_id is not None and found is None:
                found = order_id
        if found is None or not email.strip():
            return None
        return load_facts(conn, found, now, window_days)


@dataclass(frozen=True)
class LineOption:
    """One order line as the returns form offers it, with its true situation today.

    ``state``: ``open`` (until ``until``, or for life when None), ``closed`` (the window ended on
    ``until``; nothing comes back), ``late_credit`` / ``late_review`` (the window ended on
    ``until`` but the policy still takes it as store credit / sends it to a person),
    ``final_sale`` (returnable only for our mistakes, within the window), ``credit_only`` /
    ``review`` (the policy's own sentence in ``note``), ``no_date``, ``unpaid``, ``returned``.
    """

    line_id: str
    name: str
    unit_amount: int  # what one more unit returned is worth: its share of what the line was paid
    remaining: int  # units not yet returned
    state: str
    until: datetime | None  # the window's last open moment; None for life or no date known
    # last moment a refund (not credit) is available: ahead on an ``open`` line; passed on a
    # ``credit_only`` one whose refund period ended (None: no refund period)
    refund_until: datetime | None
    note: str  # the policy's own sentence when the line is not simply open
    exchange_to: tuple[Variant, ...] = ()  # other sizes/colours it may be exchanged for
    # what one unit of each costs the customer: its list price with the line's discount carried
    # over, never more than it sells for (``domain.decision.swapped``), as the decision prices
    # the swap
    exchange_prices: tuple[int, ...] = ()
    # the price the page shows: ``price_amount`` for ``price_units`` units. One unit's when every
    # unit left is worth the same; otherwise (a discount that does not split into whole minor
    # units: 10.00 for 3) all the units left together, so no "each" figure is rounded
    price_amount: int = 0
    price_units: int = 1


@dataclass(frozen=True)
class Choices:
    """Refund or store credit, as the policy allows, with any bonus for credit."""

    allow: tuple[ResolutionKind, ...]
    default: ResolutionKind
    credit_bonus_percent: str  # "10" or "0"

    @property
    def has_choice(self) -> bool:
        return len(self.allow) > 1


def choices(policy: policies.Policy) -> Choices:
    res = policy.resolution
    pct = res.credit_bonus_percent.normalize()
    return Choices(tuple(res.allow), res.default, f"{pct:f}")


def _rule(decision: Decision, name: str) -> RuleResult | None:
    return next((r for r in decision.trace if r.rule == name), None)


def _anchor(facts: OrderFacts, name: object) -> datetime | None:
    return {"delivery": facts.delivered_at, "fulfilment": facts.fulfilled_at,
            "payment": facts.paid_at}.get(str(name))


def line_options(policy: policies.Policy, facts: OrderFacts, now: datetime,
                 variants: Mapping[str, tuple[Variant, ...]] | None = None) -> list[LineOption]:
    """For each line, what can still be returned and until when, asked of the policy itself by
    evaluating a one-unit request for it (a change of mind: the customer's own reason).

    The window's verdict, not a date comparison, says whether it has passed, so the page and the
    decision never disagree; the deadline shown is the window's last open moment either way.
    """
    out = []
    for line in facts.lines:
        remaining = line.quantity - facts.returned(line.id)
        if remaining <= 0:
            amount, units = _price(line.amount, line.quantity, line.units_amount(1))
            out.append(LineOption(line.id, line.name, line.amount // line.quantity, 0,
                                  "returned", None, None, "", price_amount=amount,
                                  price_units=units))
            continue
        probe = ReturnRequest("preview", facts.order_id,
                              (ReturnLine(line.id, 1, Reason.CHANGED_MIND),))
        decision = policies.evaluate(policy, facts, probe, now)
        state, until, refund_until, note = _situation(facts, decision)
        swaps = tuple(v for v in (variants or {}).get(line.id, ()) if v.sku != line.sku) \
            if policy.exchange.allowed and state == "open" else ()
        # the price paid, not the list price: a discount spread over the line is not refunded
        paid = line.units_amount(1, line.quantity - remaining)
        amount, units = _price(line.units_amount(remaining, line.quantity - remaining),
                               remaining, paid)
        out.append(LineOption(line.id, line.name, paid, remaining, state, until,
                              refund_until, note, swaps,
                              tuple(swapped(v.unit_amount, v.list_amount, paid,
                                            line.unit_amount)
                                    for v in swaps), amount, units))
    return out


def _price(total: int, units: int, first: int) -> tuple[int, int]:
    """``LineOption``'s shown price for ``units`` worth ``total`` together, the first of them
    ``first``: one unit's when they are all worth the same, else all of them together."""
    return (first, 1) if units <= 1 or first * units == total else (total, units)


_LATE = {"decline": "closed", "adjust": "late_credit", "review": "late_review"}


def _situation(facts: OrderFacts,
               decision: Decision) -> tuple[str, datetime | None, datetime | None, str]:
    paid = _rule(decision, "payment")
    if paid is not None and paid.verdict == "decline":
        return "unpaid", None, None, paid.message
    window = _rule(decision, "window")
    final = _rule(decision, "final_sale")
    period = _rule(decision, "refund_period")
    start = _anchor(facts, window.saw.get("from")) if window is not None else None
    until: datetime | None = None
    if window is not None and start is not None and isinstance(window.saw.get("days"), int):
        until = deadline.last_moment(start, int(window.saw["days"]))
    if window is not None and window.code == "no_start_date":
        return "no_date", None, None, ""
    if window is not None and window.verdict != "pass":  # the window has passed
        return _LATE.get(window.verdict, "closed"), until, None, ""
    if final is not None and final.verdict != "pass":
        state = {"decline": "final_sale", "review": "review"}.get(final.verdict, "credit_only")
        return state, until, None, "" if state == "final_sale" else final.message
    refund_until: datetime | None = None
    if period is not None and isinstance(period.saw.get("refund_within_days"), int) and start:
        refund_until = deadline.last_moment(start, int(period.saw["refund_within_days"]))
        if period.verdict == "adjust":  # the refund period ended at ``refund_until``
            return "credit_only", until, refund_until, period.message
    return "open", until, refund_until, ""


# the states of a line that a customer's own reason may still get refunded (now or once a
# person approves); every other line is credit, declined or already asked back
_REFUNDABLE = frozenset({"open", "review", "late_review", "no_date"})


def refund_for_faults_only(options: list[LineOption]) -> bool:
    """Whether a refund to the original payment is left only for a fault of ours (damaged,
    wrong, never arrived: ``resolution`` refunds those whatever the line): every line left is
    store credit for the customer's own reasons (the refund period ended, the window passed into
    credit, final sale) or cannot come back, so the form does not offer it as a plain choice."""
    return any(o.state in ("credit_only", "late_credit") for o in options) \
        and not any(o.state in _REFUNDABLE for o in options)


@dataclass(frozen=True)
class EarlierReturn:
    decision_id: str
    created_at: datetime  # when the customer asked: the storefront's requested_at, else decided
    state: str  # approved | checking | declined
    asked: tuple[tuple[int, str], ...] = ()  # (quantity, item name) per line the customer asked
    readable: bool = True  # False: its stored request cannot be read (the page says so)


def earlier_returns(engine: Engine, order_id: str) -> list[EarlierReturn]:
    """The order's return decisions, oldest first, each with what the customer asked to return
    and where it stands for them."""
    with read_tx(engine) as conn:
        rows = conn.execute(
            select(decisions.c.id, decisions.c.created_at, decisions.c.outcome, reviews.c.status,
                   decisions.c.request)
            .select_from(decisions.outerjoin(reviews, reviews.c.decision_id == decisions.c.id))
            .where(decisions.c.order_id == order_id, decisions.c.kind == "return")
            .order_by(decisions.c.created_at, decisions.c.id)
        ).all()
        lines = conn.execute(select(orders.c.lines).where(orders.c.order_id == order_id)).scalar()
    names = line_names(order_id, lines)
    out = []
    for r in rows:
        try:
            out.append(EarlierReturn(r[0], _asked_at(r[4], r[1]), state_of(r[2], r[3]),
                                     _asked(r[4], names)))
        except stored.UNREADABLE as exc:  # listed as such; the order's other returns as usual
            log.error("the return of decision %s, order %s: its stored request "
                      "(decisions.request) cannot be read (%s): the customer's page lists it "
                      "without its items until a person repairs the row", r[0], order_id,
                      stored.why(exc), extra={"decision_id": r[0], "order_id": order_id})
            out.append(EarlierReturn(r[0], r[1], state_of(r[2], r[3]), readable=False))
    return out


def _asked_at(request: str, decided: datetime) -> datetime:
    """When the customer asked: the storefront's ``requested_at`` (a request it queued and sent
    later), in UTC as ``decided`` is kept; else when it was decided."""
    sent = json.loads(request).get("requested_at")
    if not sent:
        return decided
    at = datetime.fromisoformat(str(sent)).astimezone(UTC)
    return at if decided.tzinfo else at.replace(tzinfo=None)


def _asked(request: str, names: dict[str, str]) -> tuple[tuple[int, str], ...]:
    """What the customer asked back, from ``decisions.request``; raises one of
    ``stored.UNREADABLE``."""
    lines = json.loads(request).get("lines") or []
    return tuple((int(ln.get("quantity") or 0), names.get(ln.get("line_id"), ln.get("line_id")))
                 for ln in lines)


def state_of(outcome: str, review: str | None) -> str:
    """One word for where a return stands for its customer: approved | checking | declined."""
    if review == "declined" or outcome == "decline":
        return "declined"
    if outcome == "review" and review != "approved":
        return "checking"
    return "approved"


def earlier_decision(engine: Engine, order_id: str, request_id: str) -> RecordedDecision | None:
    """The decision already made for this form (``Service.return_requested`` keys a request as
    ``return:<request id>``), so a second submit shows it instead of asking again."""
    with read_tx(engine) as conn:
        return find_decision(conn, order_id, f"return:{request_id}")


def load_order(engine: Engine, order_id: str, now: datetime,
               window_days: int = 90) -> OrderFacts | None:
    """An order already matched to its customer (the page keeps the match in its session)."""
    with read_tx(engine) as conn:
        return load_facts(conn, order_id, now, window_days)


def order_locale(engine: Engine, order_id: str) -> str | None:
    """The language the order was placed in (``order.paid``'s ``locale``, Saleor's
    ``languageCodeEnum``), if it said."""
    with read_tx(engine) as conn:
        return conn.execute(
            select(orders.c.locale).where(orders.c.order_id == order_id)
        ).scalar_one_or_none()


def decision_locale(engine: Engine, decision_id: str) -> str | None:
    """The language of a decision's mails (``language.written_in``: the one chosen when asking,
    else its order's), for the pages that know the decision before the order (the "How did we
    do?" link in those mails)."""
    with read_tx(engine) as conn:
        row = conn.execute(
            select(decisions.c.chosen_locale, orders.c.locale)
            .select_from(decisions.outerjoin(orders, orders.c.order_id == decisions.c.order_id))
            .where(decisions.c.id == decision_id)
        ).first()
    return written_in(*row) if row is not None else None


def order_name(engine: Engine, order_id: str) -> str:
    """What the customer calls the order: the number their shop showed them (a Saleor order's
    ``number``, which they typed to find it) rather than our id, when the ledger has one."""
    with read_tx(engine) as conn:
        number = conn.execute(
            select(orders.c.order_number).where(orders.c.order_id == order_id)
        ).scalar_one_or_none()
    return str(number) if number else order_id
