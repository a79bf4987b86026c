"""Exchanges in the insights, on a hand-made history: an exchanged line is no money returned,
a return ends as "exchange" once its exchange goes ahead and as the refund or credit decided in
its place once it falls back, costs count exchanges and their differences, and a dry run says
that no money moved. Every answer equal with and without the rollups, folded or not."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

import pytest
from sqlalchemy import Engine, func, insert, select

from refunds_plugin.domain.decision import Exchange, ExchangeLine
from refunds_plugin.domain.facts import OrderLine
from refunds_plugin.domain.kinds import DecisionKind
from refunds_plugin.insights import costs, feedback, reasons, retention
from refunds_plugin.insights.period import Period
from refunds_plugin.ledger import exchanges, fold
from refunds_plugin.ledger.db import make_engine, write_tx
from refunds_plugin.ledger.line_index import index_order, index_return
from refunds_plugin.ledger.tables import decisions, insight_marks, refund_attempts
from refunds_plugin.ledger.tables import feedback as feedback_table

MAY = Period(datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC))
NOW = datetime(2026, 9, 1, tzinfo=UTC)
ANN = "ann@example.com"


@pytest.fixture
def engine(any_db_url: str) -> Iterator[Engine]:
    eng = make_engine(any_db_url)
    yield eng
    eng.dispose()


def decide(engine: Engine, did: str, resolution: str, lines: dict[str, int],
           swapped: Exchange | None, when: datetime) -> None:
    """An approved return of o-1's ``lines`` (id -> value), ``swapped`` exchanged."""
    body: dict[str, Any] = {
        "currency": "USD", "fees": [], "resolutions": [{"kind": resolution, "bonus": 0}],
        "lines": [{"line_id": lid, "amount": v, "return_required": True}
                  for lid, v in lines.items()]}
    if swapped is not None:
        body["exchange"] = {"lines": [{"line_id": ln.line_id} for ln in swapped.lines]}
    request = {"lines": [{"line_id": lid, "quantity": 1, "reason": "too_small"}
                         for lid in lines]}
    with write_tx(engine) as conn:
        conn.execute(insert(decisions).values(
            id=did, order_id="o-1", request_key=f"return:{did}", kind="return",
            outcome="approve", resolution=resolution, currency="USD",
            amount=sum(lines.values()), refund_amount=0, credit_amount=0, reason_code="test",
            policy_name="test", policy_hash="0" * 64, explanation="", body=json.dumps(body),
            facts="{}", request=json.dumps(request), created_at=when))
        index_return(conn, decision_id=did,
                     decision=cast(Any, SimpleNamespace(kind=DecisionKind.RETURN)),
                     body=body, request=request, order_id="o-1", customer=ANN, now=when)
        if swapped is not None:
            exchanges.open_exchange(conn, did, "o-1", "USD", swapped, when)


def answers(engine: Engine) -> dict[str, Any]:
    """Every answer, the same with the rollups as from the indexed rows alone."""
    got = {}
    for use in (True, False):
        got[use] = {
            "reasons": reasons.reasons(engine, MAY, "sku", use_rollups=use).to_json(),
            "costs": costs.costs(engine, MAY, use_rollups=use).to_json(),
            "retention": retention.retention(engine, MAY, NOW, use_rollups=use).to_json()}
    assert got[True] == got[False]
    return got[True]


def marks(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(insight_marks)).scalar_one())


def group(doc: dict[str, Any], ending: str) -> tuple[Any, ...]:
    g = next(g for g in doc["groups"] if g["ending"] == ending)
    w = g["windows"][0]
    return g["words"], g["customers"], w["came_back"], w["n"], w["share_bp"], w["spent"]


def terms(doc: dict[str, Any]) -> dict[str, int]:
    return {r["term"]: r["amount"] for r in doc["rows"] if r["term"].startswith("exchange")}


def test_an_exchange_is_no_money_returned_and_ends_as_exchange_or_as_its_fallback(
        engine: Engine) -> None:
    with write_tx(engine) as conn:
        index_order(conn, order_id="o-1", currency="USD", total=5800, customer=ANN,
                    lines=[OrderLine("l1", "SHIRT", "Shirt", 1, 5000),
                           OrderLine("l2", "SOCK", "Sock", 1, 800)],
                    paid_at=datetime(2026, 5, 2, tzinfo=UTC), now=NOW)
        index_order(conn, order_id="o-2", currency="USD", total=3000, customer=ANN,
                    lines=[OrderLine("l1", "MUG", "Mug", 1, 3000)],
                    paid_at=datetime(2026, 5, 20, tzinfo=UTC), now=NOW)
    # the shirt swapped for a dearer one: 5.00 to pay, 2.00 waived; the sock refunded
    swapped = Exchange(lines=(ExchangeLine("l1", 1, 5000, "SHIRT-L", "Shirt L", 5700),),
                       difference=700, charge=500, waived=200)
    decide(engine, "d-1", "refund", {"l1": 5000, "l2": 800}, swapped,
           datetime(2026, 5, 3, tzinfo=UTC))
    doc = answers(engine)
    assert [(r["key"], r["units_returned"], r["money_returned"]) for r in doc["reasons"]["rows"]
            ] == [("SHIRT", 1, 0), ("SOCK", 1, 800), ("MUG", 0, 0)]
    # the difference not paid yet: how the return ends is not known, so it is in no group
    assert group(doc["retention"], "exchange") == ("exchanged", 0, 0, 0, None, [])
    assert group(doc["retention"], "refund")[1] == 0
    assert terms(doc["costs"]) == {"exchanged": 5000, "exchange_charged": 0,
                                   "exchange_waived": 200}
    assert doc["costs"]["exchanges"] == [{"currency": "USD", "exchanges": 1, "fallen_back": 0}]

    while fold.fold(engine):
        pass
    with write_tx(engine) as conn:
        row = exchanges.get_exchange(conn, "d-1")
        assert row is not None
        assert exchanges.settle_payment(conn, row, 500, "USD", NOW) == \
            "exchange d-1 paid: waiting"
    assert marks(engine) == 1  # the move changed how the return ended: marked, not folded
    doc = answers(engine)
    assert group(doc["retention"], "exchange") == (
        "exchanged", 1, 1, 1, 10000, [{"currency": "USD", "amount": 3000}])
    assert terms(doc["costs"]) == {"exchanged": 5000, "exchange_charged": 500,
                                   "exchange_waived": 200}

    # out of stock: the shirt decided again as store credit, in June
    decide(engine, "d-2", "credit", {"l1": 5000}, None, datetime(2026, 6, 5, tzinfo=UTC))
    while fold.fold(engine):
        pass
    with write_tx(engine) as conn:
        row = exchanges.get_exchange(conn, "d-1")
        assert row is not None
        assert exchanges.out_of_stock(conn, row, "d-2", "sold out", NOW)
    assert marks(engine) == 1
    doc = answers(engine)
    assert group(doc["retention"], "exchange")[1] == 0
    assert group(doc["retention"], "credit") == (
        "store credit", 1, 1, 1, 10000, [{"currency": "USD", "amount": 3000}])
    assert terms(doc["costs"]) == {"exchanged": 0, "exchange_charged": 0, "exchange_waived": 0}
    assert doc["costs"]["exchanges"] == [{"currency": "USD", "exchanges": 0, "fallen_back": 1}]
    # the June credit is its own return, outside May; the shirt's value is never money
    # returned by the exchange itself
    assert doc["reasons"]["rows"][0]["money_returned"] == 0
    assert doc["reasons"]["dry_run"] is False


def test_a_dry_run_says_no_money_moved(engine: Engine) -> None:
    with write_tx(engine) as conn:
        index_order(conn, order_id="o-1", currency="USD", total=800, customer=ANN,
                    lines=[OrderLine("l2", "SOCK", "Sock", 1, 800)],
                    paid_at=datetime(2026, 5, 2, tzinfo=UTC), now=NOW)
    decide(engine, "d-1", "refund", {"l2": 800}, None, datetime(2026, 5, 3, tzinfo=UTC))
    when = datetime(2026, 5, 3, 1, tzinfo=UTC)
    with write_tx(engine) as conn:
        conn.execute(insert(refund_attempts).values(
            id="a-1", decision_id="d-1", order_id="o-1", seq=0, provider="dryrun",
            kind="refund", currency="USD", amount=800, bonus=0, idempotency_key="k-1",
            status="succeeded", next_try_at=when, created_at=when, updated_at=when,
            completed_at=when))
        conn.execute(insert(feedback_table).values(decision_id="d-1", rating=4,
                                                   answered_at=when, changes=0))
    doc = answers(engine)
    said = {(g["dimension"], g["value"]) for g in feedback.summary(engine, MAY).groups()}
    assert ("time_to_money", "dry run (no money moved)") in said
    assert not any(v.startswith("within") for _, v in said)
    assert doc["reasons"]["dry_run"] is True
    assert doc["reasons"]["money_words"] == "money returned: dry run (no money moved)"
    assert doc["costs"]["dry_run"] is True
    assert {r["term"]: r["amount"] for r in doc["costs"]["rows"]}["refunded"] == 0
    assert group(doc["retention"], "refund")[:2] == (
        "refund decided: dry run (no money moved)", 1)
    assert reasons.reasons(engine, Period(MAY.since - timedelta(days=60), MAY.since)
                           ).dry_run is False
