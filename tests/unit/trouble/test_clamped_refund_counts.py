"""A refund Saleor clamped (staff refunded part of the transaction between our look and our
request, so Saleor refunded less than the attempt's amount): what looks for trouble and what an
ended exchange's mail says count what Saleor refunded (the attempt's ``sent_amount``), never the
amount asked, as finance and the order's facts do."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, insert, update

from refunds_plugin.bootstrap import Runtime, build
from refunds_plugin.config import load_config
from refunds_plugin.domain.decision import Decision, Resolution
from refunds_plugin.domain.facts import Customer, OrderFacts, OrderLine, PaymentFacts
from refunds_plugin.domain.kinds import DecisionKind, Outcome, ResolutionKind
from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.decisions import record_decision
from refunds_plugin.ledger.orders import OrderRecord, record_payment, report_refunded, upsert_order
from refunds_plugin.ledger.tables import exchanges, refund_attempts
from refunds_plugin.notify.reads import ended_exchange
from refunds_plugin.trouble.corrections import adopt_payment, correct
from refunds_plugin.trouble.detectors import plan

ANN = Customer(id="c-1", email="ann@example.com")
SA_1, SA_2, SA_3 = "VHJhbnNhY3Rpb246MQ==", "VHJhbnNhY3Rpb246Mg==", "VHJhbnNhY3Rpb246Mw=="


@pytest.fixture
def rt(sqlite_url: str, now: datetime) -> Iterator[Runtime]:
    config = load_config(env={}, overrides={"database_url": sqlite_url, "run_executor": False})
    runtime = build(config, clock=lambda: now, with_executor=False)
    yield runtime
    runtime.engine.dispose()


def _paid(conn: Connection, ref: str, amount: int, at: datetime, now: datetime) -> None:
    record_payment(
        conn,
        provider="saleor",
        reference=ref,
        order_id="o-1",
        currency="USD",
        captured=amount,
        customer=ANN,
        now=max(at, now),
        confirmed=True,
    )
    adopt_payment(conn, "saleor", ref, at, now)


def _return(conn: Connection, amount: int, now: datetime) -> str:
    """A return approved for ``amount`` from SA_1 through Saleor: its decision id."""
    facts = OrderFacts(
        "o-1",
        "USD",
        (OrderLine("l1", "MUG-1", "Mug", 2, 2500),),
        0,
        5000,
        customer=ANN,
        payments=(PaymentFacts("saleor", SA_1, 5000, 0),),
    )
    decision = Decision(
        outcome=Outcome.APPROVE,
        reason_code="approved",
        explanation="Approved.",
        currency="USD",
        policy_name="p",
        policy_hash="h",
        kind=DecisionKind.RETURN,
        resolutions=(Resolution(ResolutionKind.REFUND, amount, payment_reference=SA_1),),
    )
    return record_decision(
        conn,
        decision=decision,
        facts=facts,
        request={"order_id": "o-1"},
        request_key="r-1",
        route={SA_1: "saleor"},
        now=now,
    ).id


def _clamped(conn: Connection, decision_id: str, sent: int) -> None:
    """Saleor refunded ``sent`` of the attempt's amount, and said it succeeded."""
    conn.execute(
        update(refund_attempts)
        .where(refund_attempts.c.decision_id == decision_id)
        .values(status="succeeded", sent_amount=sent)
    )


def _found(rt: Runtime) -> list[tuple[Any, ...]]:
    with rt.engine.connect() as conn:
        return [(f.kind, f.payment_reference, f.amount) for f in plan(conn, rt.policy, "o-1")]


def test_a_clamped_return_refund_leaves_the_staff_refund_counted_as_given_back(
    rt: Runtime, now: datetime
) -> None:
    """Paid 50.00 for a 50.00 order; a return asked 30.00 back, but staff had refunded 40.00
    in the Dashboard, so Saleor refunded 10.00 of ours (50.00 refunded in all). The customer
    then paid 50.00 again: 50.00 came back for an order worth 50.00 of the 100.00 paid, and of
    the return only 10.00, so 10.00 of the second payment is still theirs: not 30.00."""
    with write_tx(rt.engine) as conn:
        upsert_order(conn, OrderRecord("o-1", "saleor", "USD", (), 0, 5000, ANN), now)
        _paid(conn, SA_1, 5000, now, now)
        _clamped(conn, _return(conn, 3000, now), 1000)
        report_refunded(conn, "saleor", SA_1, 5000, now)
        _paid(conn, SA_2, 5000, now + timedelta(minutes=1), now)

    assert _found(rt) == [(DecisionKind.DUPLICATE_CHARGE, SA_2, 1000)]


def test_a_clamped_correction_counts_what_it_gave_and_the_staff_refund_once(
    rt: Runtime, now: datetime
) -> None:
    """Paid 50.00 twice for a 50.00 order; the duplicate's 50.00 correction was clamped to
    20.00 (staff refunded 30.00 of it meanwhile). A third payment of 25.00 is all surplus:
    25.00 goes back, counting neither the staff's 30.00 twice nor the 30.00 not refunded."""
    with write_tx(rt.engine) as conn:
        upsert_order(conn, OrderRecord("o-1", "saleor", "USD", (), 0, 5000, ANN), now)
        _paid(conn, SA_1, 5000, now, now)
        _paid(conn, SA_2, 5000, now + timedelta(minutes=1), now)
        [made] = correct(conn, rt.policy, rt.service.route, "o-1", now, "test")
        assert (made.finding.payment_reference, made.finding.amount) == (SA_2, 5000)
        _clamped(conn, made.decision_id, 2000)
        report_refunded(conn, "saleor", SA_2, 5000, now)
        _paid(conn, SA_3, 2500, now + timedelta(hours=80), now)

    assert _found(rt) == [(DecisionKind.OVERPAYMENT, SA_3, 2500)]


def _cheaper_exchange_clamped(conn: Connection, now: datetime, status: str, ship_on: str) -> str:
    """An exchange whose cheaper item's 30.00 difference was asked back of a paid 50.00 Saleor
    order and Saleor refunded 10.00 of it; its decision's id."""
    upsert_order(conn, OrderRecord("o-1", "saleor", "USD", (), 0, 5000, ANN), now)
    _paid(conn, SA_1, 5000, now, now)
    decision_id = _return(conn, 3000, now)
    _clamped(conn, decision_id, 1000)
    conn.execute(insert(exchanges).values(
        decision_id=decision_id, order_id="o-1", currency="USD", status=status, ship_on=ship_on,
        difference=-3000, charge_amount=0, waived_amount=0, back_amount=3000, created_at=now,
        updated_at=now))
    return decision_id


def test_an_ended_exchange_says_what_saleor_refunded_not_what_was_asked(
    rt: Runtime, now: datetime
) -> None:
    """An exchange's cheaper item's 30.00 difference was asked back and Saleor refunded 10.00;
    the exchange then failed: the decline's mail says 10.00 stays the customer's."""
    with write_tx(rt.engine) as conn:
        decision_id = _cheaper_exchange_clamped(conn, now, "failed", "approval")

    with rt.engine.connect() as conn:
        assert ended_exchange(conn, decision_id) == {
            "exchange_ended": True,
            "exchange_kept": 1000,
            "exchange_paid": 0,
        }


def test_a_sold_out_exchange_tells_a_person_what_saleor_refunded_for_the_cheaper_item(
    rt: Runtime, now: datetime
) -> None:
    """The cheaper item's 30.00 was asked back and Saleor refunded 10.00; the new item then
    sold out: the person deciding is told 10.00 went back, not 30.00."""
    from refunds_plugin.exchanges.fallback import out_of_stock
    from refunds_plugin.ledger.exchanges import get_exchange

    with write_tx(rt.engine) as conn:
        decision_id = _cheaper_exchange_clamped(conn, now, "ready", "delivered")
        row = get_exchange(conn, decision_id)
        assert row is not None
        out_of_stock(conn, rt.policy, rt.service.route, row, "no SHIRT-S left", now)
        failed = get_exchange(conn, decision_id)

    assert failed is not None and failed.last_error == (
        "out_of_stock: out of stock (no SHIRT-S left), and 10.00 USD was already paid back for "
        "the cheaper item: decide the refund or credit by hand"
    )


def test_a_clamped_refund_whose_outcome_turns_unknown_says_so_in_its_review(
    rt: Runtime, now: datetime
) -> None:
    """The review said Saleor refunded 10.00 of the 25.00 asked; then the 10.00's outcome turned
    unknown: the review says whether it went through is not known, and 15.00 was not refunded."""
    from refunds_plugin.ledger.attempts import get_attempt, transition
    from refunds_plugin.ledger.reviews import note_short_refund
    from refunds_plugin.ledger.tables import reviews

    with write_tx(rt.engine) as conn:
        upsert_order(conn, OrderRecord("o-1", "saleor", "USD", (), 0, 5000, ANN), now)
        _paid(conn, SA_1, 5000, now, now)
        decision_id = _return(conn, 2500, now)
        conn.execute(
            update(refund_attempts)
            .where(refund_attempts.c.decision_id == decision_id)
            .values(status="sent", sent_amount=1000)
        )
        [attempt_id] = conn.execute(
            refund_attempts.select().where(refund_attempts.c.decision_id == decision_id)
        ).all()[0][:1]
        attempt = get_attempt(conn, attempt_id)
        assert attempt is not None and note_short_refund(
            conn,
            attempt,
            1000,
            now,
            [("attempt", attempt_id, {"status": "sent", "sent_amount": 1000})],
        )
        assert transition(conn, attempt_id, "unknown", now, expect=("sent",), error="no answer")
        reason = conn.execute(reviews.select()).one().reason

    assert reason == (
        "attempt_unknown: no answer. Saleor had cut the refund to 10.00 USD of the 25.00 USD "
        "asked; whether that went through is not known, and 15.00 USD was not refunded."
    )
