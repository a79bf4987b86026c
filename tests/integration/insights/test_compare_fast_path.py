"""``policy compare`` decides without the explanation paragraph and reads the stored JSON with
orjson (``replay_each(explained=False)``); it must give exactly what the plain replay gives, the
one ``policy simulate`` makes. Here both run over a varied, seeded history (several currencies,
payments refunded, disputed or blocked, loyal and abusive customers, exchanges, late and
impossible requests, and rows that cannot be read or explained), for every pair of the presets
and an exchange policy: every field of every row, the report and the CSV are the same."""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, insert

import policies
from refunds_plugin.domain.decision import Decision, RuleResult
from refunds_plugin.domain.facts import (
    Customer,
    CustomerHistory,
    OrderFacts,
    OrderLine,
    PaymentFacts,
    ReturnLine,
    ReturnRequest,
    Variant,
)
from refunds_plugin.domain.kinds import Reason, ResolutionKind
from refunds_plugin.finance.simulation import _rebuilt, _rebuilt_light
from refunds_plugin.insights.compare import CSV_COLUMNS, Report, Row, compare, rows
from refunds_plugin.ledger.db import make_engine
from refunds_plugin.ledger.decisions import decision_body, facts_json, request_json
from refunds_plugin.ledger.journal import to_json
from refunds_plugin.ledger.tables import decisions, return_figures

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
EXCHANGES = policies.load_policy_text("""
name: exchanges-test
window: {days: 60}
resolution: {allow: [refund, credit, exchange], credit_bonus_percent: 5}
fees: {restocking_percent: 10}
exchange:
  scope: any_product
  price_difference: {lower: credit, higher: {waive_up_to: {USD: "5.00", EUR: "5.00"}}}
  fees: apply
""", "exchanges.yaml")
POLICIES = [*(policies.load_policy(f"preset:{name}") for name in policies.list_presets()),
            EXCHANGES]
CURRENCIES = [("USD", 1), ("EUR", 1), ("JPY", 1), ("KWD", 10)]


def _case(rng: random.Random, n: int) -> tuple[OrderFacts, ReturnRequest]:
    currency, step = rng.choice(CURRENCIES)
    lines = []
    for k in range(rng.randint(1, 3)):
        qty = rng.choice((1, 1, 2, 3))
        unit = rng.choice((95, 900, 2500, 4999, 12900, 35000))
        lines.append(OrderLine(
            f"l{k}", f"SKU-{k}", rng.choice(("Cup", "Linen shirt", "Wool sock")) + f" {k}",
            qty, unit, tags=rng.choice(((), ("final-sale",), ("sale",))),
            collections=rng.choice(((), ("apparel",))), product_id=f"P-{k}",
            total_amount=unit * qty - rng.choice((0, 0, 1, qty)) if qty > 1 else None,
            variants=(Variant(f"SKU-{k}b", "Other size", unit + rng.choice((-300, 0, 300)),
                              rng.choice((True, None, False)), f"v{k}"),)))
    total = sum(ln.amount for ln in lines) + (ship := rng.choice((0, 0, 499)))
    split = rng.choice((total, total, total // 2))
    payments = [PaymentFacts("stripe", f"pi_{n}", split,
                             refunded=rng.choice((0, 0, 0, split // 3)),
                             pending=rng.choice((0, 0, 100)),
                             disputed=rng.random() < 0.05)]
    if split < total:
        payments.append(PaymentFacts("saleor", f"tr_{n}", total - split, blocked=rng.choice(
            (None, "This payment was recorded by staff"))))
    paid = NOW - timedelta(days=rng.choice((1, 5, 12, 29, 31, 45, 75, 120, 400)),
                           hours=rng.randint(0, 23))
    delivered = rng.choice((None, paid + timedelta(days=2)))
    facts = OrderFacts(
        order_id=f"o{n}", currency=currency, lines=tuple(lines), shipping_amount=ship,
        total_amount=total, customer=Customer(f"c{n % 7}", f"c{n % 7}@example.com"),
        paid_at=paid, fulfilled_at=paid + timedelta(days=1), delivered_at=delivered,
        payments=tuple(payments), refund_increment=step,
        returned_quantities=(("l0", 1),) if rng.random() < 0.1 else (),
        shipping_refunded=rng.choice((0, 0, ship)),
        history=CustomerHistory(
            total_paid=total * rng.choice((1, 4, 20)), order_count=rng.choice((1, 3, 12)),
            first_order_at=paid - timedelta(days=rng.choice((0, 200, 900))),
            total_refunded=rng.choice((0, 5000)), refunds_recent_count=rng.choice((0, 0, 2, 7)),
            refunds_recent_amount=rng.choice((0, 20000)),
            not_received_claims=rng.choice((0, 0, 3)), credits_recent_count=rng.choice((0, 4))),
        source=rng.choice(("storefront", "saleor")), channel=rng.choice((None, "web")))
    asked = []
    for ln in rng.sample(lines, rng.randint(1, len(lines))):
        swap = Variant("SKU-X", "Another item", ln.unit_amount + rng.choice((-500, 0, 400)),
                       True) if rng.random() < 0.3 else None
        asked.append(ReturnLine(ln.id, rng.choice((1, 1, ln.quantity, ln.quantity + 1)),
                                rng.choice(list(Reason)), swap))
    if rng.random() < 0.05:
        asked.append(asked[0])  # named twice: declined
    request = ReturnRequest(
        f"r{n}", facts.order_id if rng.random() > 0.03 else "elsewhere", tuple(asked),
        preferred_resolution=rng.choice((None, ResolutionKind.REFUND, ResolutionKind.CREDIT)),
        comment=rng.choice(("", "Too big")), requested_at=rng.choice((None, NOW)))
    return facts, request


def _broken(facts: dict[str, Any], n: int) -> str:
    """Stored facts that read, or fail, differently: each must give the plain path's answer
    (an unknown currency or an item without a name fails only in the explanation; NaN and an
    integer past 64 bits are refused by orjson and read again by ``json``)."""
    kind = n % 7
    if kind == 0:
        facts["currency"] = "ZZZ"
    elif kind == 1:
        facts["lines"][0]["name"] = None
    elif kind == 2:
        facts["shipping_amount"] = float("nan")
    elif kind == 3:
        facts["total_amount"] = 2**70
    elif kind == 4:
        del facts["lines"]
    elif kind == 5:
        facts["customer"]["nickname"] = "x"
    else:
        return "{not json"
    return json.dumps(facts, sort_keys=True, default=str)


def _history(engine: Engine, count: int) -> None:
    rng = random.Random(17)
    stored = POLICIES[1]  # preset:default decided them
    with engine.begin() as conn:
        for n in range(count):
            facts, request = _case(rng, n)
            decision = policies.evaluate(stored, facts, request, request.requested_at or NOW)
            facts_text = to_json(facts_json(facts))
            if n % 4 == 3:
                facts_text = _broken(json.loads(facts_text), n // 4)
            did = f"d-{n:04d}"
            conn.execute(insert(decisions).values(
                id=did, order_id=facts.order_id, request_key=f"return:{request.request_id}",
                kind="return", outcome=decision.outcome.value,
                resolution=decision.resolution_summary, currency=facts.currency,
                amount=decision.amount, refund_amount=decision.refund_amount,
                credit_amount=decision.credit_amount,
                reason_code="exceeds_refundable" if n % 13 == 0 else decision.reason_code,
                policy_name=stored.name, policy_hash=stored.content_hash,
                explanation=decision.explanation, body=to_json(decision_body(decision)),
                facts=facts_text, request=to_json(request_json(request)),
                customer_id=facts.customer.id, customer_email=facts.customer.email,
                created_at=NOW - timedelta(minutes=count - n)))
            if n % 3:
                conn.execute(insert(return_figures).values(
                    decision_id=did, customer=facts.customer.email, currency=facts.currency,
                    fees=sum(f.amount for f in decision.fees),
                    bonus=sum(r.bonus for r in decision.resolutions), kept=0,
                    at=int(NOW.timestamp())))


def _csv(got: list[Row]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    writer.writerows(r.to_csv() for r in got if r.differs)
    return out.getvalue()


def _report(got: list[Row]) -> dict[str, Any]:
    report = Report("current", "candidate")
    for row in got:
        report.add(row)
    return report.to_json()


def test_the_fast_compare_gives_every_row_the_plain_replay_gives(any_db_url: str) -> None:
    engine = make_engine(any_db_url)
    try:
        _history(engine, 160)
        _same_rows_for_every_pair(engine)
    finally:
        engine.dispose()


def _same_rows_for_every_pair(engine: Engine) -> None:
    seen: set[str] = set()
    for current in POLICIES:
        for candidate in POLICIES:
            plain = list(rows(engine, current, candidate, explained=True))
            fast = list(rows(engine, current, candidate))
            assert [r.comparison.decision_id for r in fast] == [
                r.comparison.decision_id for r in plain]
            assert len(fast) == 160
            for a, b in zip(plain, fast, strict=True):
                # the only difference allowed: an explanation paragraph left empty
                new = b.comparison.new
                if new is not None:
                    assert a.comparison.new is not None
                    assert new.explanation in ("", a.comparison.new.explanation)
                    seen.add("unexplained" if new.explanation == "" else "explained")
                    a = replace(a, comparison=replace(a.comparison, new=replace(
                        a.comparison.new, explanation=new.explanation)))
                assert b == a
                assert b.to_csv() == a.to_csv() and b.worse == a.worse
                seen.update(x for x in (a.comparison.error or "").split(":")[:1] if x)
                seen.update({"reused"} if a.current is not None and a.comparison.reused else ())
                seen.update({"exchange"} if new is not None and new.exchange else ())
            assert _report(fast) == _report(plain)
            assert _csv(fast) == _csv(plain)
    # the history reached what it is for: errors of each kind, reuse, exchanges, both texts
    assert {"KeyError", "TypeError", "ValueError", "CurrencyError", "JSONDecodeError",
            "reused", "exchange", "explained", "unexplained"} <= seen, seen


@pytest.mark.parametrize("name", policies.list_presets())
def test_evaluate_without_explanation_differs_only_by_its_paragraph(name: str) -> None:
    pol = policies.load_policy(f"preset:{name}")
    rng = random.Random(name)
    for n in range(300):
        facts, request = _case(rng, n)
        at = request.requested_at or NOW
        full = policies.evaluate(pol, facts, request, at)
        quiet = policies.evaluate(pol, facts, request, at, explained=False)
        assert quiet == replace(full, explanation=quiet.explanation)
        assert quiet.explanation == (full.explanation if full.outcome.value == "decline"
                                     else "")


# --- without words (``policy compare`` itself: ``worded=False``) ---------------------------------


def _unworded(d: Decision) -> Decision:
    """A decision as an unworded evaluation may leave it: each rule's name, verdict and code,
    without its sentence or what it saw; fees without their description; no paragraph."""
    return replace(d, explanation="", fees=tuple(replace(f, description="") for f in d.fees),
                   trace=tuple(RuleResult(r.rule, r.verdict, r.code, "") for r in d.trace))


def test_the_unworded_compare_gives_every_answer_the_plain_replay_gives(any_db_url: str) -> None:
    engine = make_engine(any_db_url)
    try:
        _history(engine, 160)
        _same_answers_for_every_pair(engine)
    finally:
        engine.dispose()


def _same_answers_for_every_pair(engine: Engine) -> None:
    seen: set[str] = set()
    for current in POLICIES:
        for candidate in POLICIES:
            plain = list(rows(engine, current, candidate, explained=True))
            bare = list(rows(engine, current, candidate, worded=False))
            assert len(bare) == len(plain) == 160
            for a, b in zip(plain, bare, strict=True):
                new = b.comparison.new
                if new is not None:  # no words, and else the very decision
                    assert a.comparison.new is not None
                    assert new.explanation == "" and {r.message for r in new.trace} <= {""}
                    assert _unworded(new) == _unworded(a.comparison.new)
                    a = replace(a, comparison=replace(a.comparison, new=new))
                    seen.add("review" if new.outcome.value == "review" else "other")
                assert b == a
                assert b.to_csv() == a.to_csv() and b.worse == a.worse
                seen.update(x for x in (a.comparison.error or "").split(":")[:1] if x)
            assert _report(bare) == _report(plain)
            assert _csv(bare) == _csv(plain)
            # and ``compare`` itself, with every row it shows
            got: list[dict[str, Any]] = []
            want: list[dict[str, Any]] = []
            report = compare(engine, current, candidate, each=_into(got)).to_json()
            assert report == compare(engine, current, candidate, each=_into(want),
                                     explained=True).to_json()
            assert got == want == [r.to_csv() for r in plain]
    assert {"KeyError", "TypeError", "ValueError", "CurrencyError", "JSONDecodeError",
            "review", "other"} <= seen, seen


def _into(out: list[dict[str, Any]]) -> Callable[[Row], None]:
    return lambda row: out.append(row.to_csv())


@pytest.mark.parametrize("policy", [*policies.list_presets(), "exchanges"])
def test_evaluate_without_words_decides_as_with_them(policy: str) -> None:
    pol = EXCHANGES if policy == "exchanges" else policies.load_policy(f"preset:{policy}")
    rng = random.Random(f"{policy} unworded")
    codes: set[str] = set()
    for n in range(300):
        facts, request = _case(rng, n)
        at = request.requested_at or NOW
        full = policies.evaluate(pol, facts, request, at)
        bare = policies.evaluate(pol, facts, request, at, explained=False, worded=False)
        assert bare.explanation == "" and {r.message for r in bare.trace} <= {""}
        assert _unworded(bare) == _unworded(full)
        codes.add(full.reason_code)
    assert len(codes) > 3, codes  # declines, reviews and approvals of several kinds


def _fields(value: Any) -> Any:
    """A fact as its class's name and slots, all the way down (a light twin reads as its kind)."""
    slots = getattr(type(value), "__slots__", None)
    if slots and type(value).__module__ == "refunds_plugin.domain.facts" or (
            slots and type(value).__name__.endswith("Light")):
        return (type(value).__name__.removesuffix("Light"),
                {name: _fields(getattr(value, name)) for name in slots})
    if isinstance(value, tuple):
        return tuple(_fields(v) for v in value)
    return value


def test_the_light_read_of_stored_facts_holds_what_the_plain_read_holds() -> None:
    rng = random.Random("light")
    for n in range(300):
        facts, request = _case(rng, n)
        facts_text, request_text = to_json(facts_json(facts)), to_json(request_json(request))
        light = _rebuilt_light(facts_text, request_text)
        plain = _rebuilt(facts_text, request_text)
        assert type(light[0]).__name__ == "OrderFactsLight"  # read the light way, not again
        assert _fields(light) == _fields(plain) == _fields((facts, request))
