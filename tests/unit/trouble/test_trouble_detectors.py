"""The detectors on ledger rows alone: which payment gives back how much, whatever the source."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection

from refunds_plugin.bootstrap import Runtime, build
from refunds_plugin.config import load_config
from refunds_plugin.domain.facts import Customer
from refunds_plugin.domain.kinds import DecisionKind
from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.orders import OrderRecord, record_payment, upsert_order
from refunds_plugin.ledger.tables import decisions, refund_attempts
from refunds_plugin.saleor.events import after_saleor_order
from refunds_plugin.trouble.corrections import adopt_payment, correct
from refunds_plugin.trouble.detectors import plan

ANN = Customer(id="c-1", email="ann@example.com")


@pytest.fixture
def rt(sqlite_url: str, now: datetime) -> Iterator[Runtime]:
    config = load_config(env={}, overrides={"database_url": sqlite_url, "run_executor": False})
    runtime = build(config, clock=lambda: now, with_executor=False)
    yield runtime
    runtime.engine.dispose()


def order(conn: Connection, total: int, now: datetime, order_id: str = "o-1") -> None:
    upsert_order(conn, OrderRecord(order_id, "storefront", "USD", (), 0, total, ANN), now)


def payment(conn: Connection, ref: str, amount: int, at: datetime, now: datetime,
            provider: str = "stripe", order_id: str = "o-1") -> None:
    """Received at ``max(at, now)``, created by the provider at ``at``, which confirmed it."""
    record_payment(conn, provider=provider, reference=ref, order_id=order_id, currency="USD",
                   captured=amount, customer=ANN, now=max(at, now), confirmed=True)
    adopt_payment(conn, provider, ref, at, now)


def found(rt: Runtime, order_id: str = "o-1") -> list[tuple[Any, ...]]:
    with rt.engine.connect() as conn:
        return [(f.kind, f.payment_reference, f.amount) for f in plan(conn, rt.policy, order_id)]


Setup = Callable[[Connection], None]


def given(rt: Runtime, setup: Setup) -> None:
    with write_tx(rt.engine) as conn:
        setup(conn)


def test_one_payment_above_the_total_gives_back_only_its_surplus(rt: Runtime,
                                                                  now: datetime) -> None:
    given(rt, lambda c: (order(c, 10000, now), payment(c, "pi_1", 12000, now, now)))

    assert found(rt) == [(DecisionKind.OVERPAYMENT, "pi_1", 2000)]


def test_two_equal_payments_that_together_make_the_total_are_a_split_not_a_duplicate(
    rt: Runtime, now: datetime
) -> None:
    given(rt, lambda c: (order(c, 20000, now), payment(c, "pi_1", 10000, now, now),
                         payment(c, "pi_2", 10000, now + timedelta(minutes=1), now)))

    assert found(rt) == []


def test_the_same_amount_again_outside_the_window_is_an_overpayment_not_a_duplicate(
    rt: Runtime, now: datetime
) -> None:
    later = now + timedelta(hours=73)  # the default policy's window is 72 hours
    given(rt, lambda c: (order(c, 10000, now), payment(c, "pi_1", 10000, now, now),
                         payment(c, "pi_2", 10000, later, now)))

    assert found(rt) == [(DecisionKind.OVERPAYMENT, "pi_2", 10000)]


def test_three_identical_charges_give_back_the_two_later_ones(rt: Runtime, now: datetime) -> None:
    given(rt, lambda c: [payment(c, f"pi_{i}", 4200, now + timedelta(minutes=i), now)
                         for i in (3, 1, 2)])  # recorded out of order, no order total yet

    assert found(rt) == [(DecisionKind.DUPLICATE_CHARGE, "pi_2", 4200),
                         (DecisionKind.DUPLICATE_CHARGE, "pi_3", 4200)]


def test_an_excess_over_several_extra_payments_comes_back_from_the_newest_first(
    rt: Runtime, now: datetime
) -> None:
    given(rt, lambda c: (order(c, 10000, now), payment(c, "pi_a", 8000, now, now),
                         payment(c, "pi_b", 3000, now + timedelta(minutes=1), now),
                         payment(c, "pi_c", 2000, now + timedelta(minutes=2), now)))

    assert found(rt) == [(DecisionKind.OVERPAYMENT, "pi_c", 2000),
                         (DecisionKind.OVERPAYMENT, "pi_b", 1000)]


def test_a_payment_in_another_currency_is_not_added_to_the_total(rt: Runtime,
                                                                 now: datetime) -> None:
    def setup(c: Connection) -> None:
        order(c, 10000, now)
        payment(c, "pi_1", 10000, now, now)
        record_payment(c, provider="stripe", reference="pi_eur", order_id="o-1", currency="EUR",
                       captured=10000, customer=ANN, now=now, confirmed=True)

    given(rt, setup)

    assert found(rt) == []


def test_deciding_the_same_trouble_twice_records_one_decision(rt: Runtime, now: datetime) -> None:
    given(rt, lambda c: (order(c, 10000, now), payment(c, "pi_1", 10000, now, now),
                         payment(c, "pi_2", 10000, now + timedelta(minutes=1), now)))

    with write_tx(rt.engine) as conn:
        first = correct(conn, rt.policy, rt.service.route, "o-1", now, "test")
    with write_tx(rt.engine) as conn:
        second = correct(conn, rt.policy, rt.service.route, "o-1", now, "test")

    assert [(c.finding.request_key, c.outcome, c.created) for c in first] == [
        ("duplicate_charge:pi_2", "approve", True)]
    assert second == []
    with rt.engine.connect() as conn:
        rows = conn.execute(refund_attempts.select()).all()
        assert conn.execute(decisions.select()).all().__len__() == 1
    assert [(a.payment_reference, a.amount, a.reason, a.provider) for a in rows] == [
        ("pi_2", 10000, "duplicate", "dryrun")]


def test_saleor_overcharge_refunds_the_later_transaction_by_saleor_time_capped_by_its_balance(
    rt: Runtime, now: datetime
) -> None:
    first, second = "VHJhbnNhY3Rpb246Mg==", "VHJhbnNhY3Rpb246MQ=="  # the second sorts first
    times = {first: now - timedelta(minutes=5), second: now - timedelta(minutes=4)}
    given(rt, lambda c: (order(c, 10000, now), payment(c, first, 10000, now, now, "saleor", "o-1"),
                         payment(c, second, 10000, now, now, "saleor", "o-1")))

    with write_tx(rt.engine) as conn:
        quiet = after_saleor_order(conn, rt.policy, rt.service.route, "o-1",
                                   charge_status="FULL", total_balance=0, transactions=times,
                                   now=now)
        woke = after_saleor_order(conn, rt.policy, rt.service.route, "o-1",
                                  charge_status="OVERCHARGED",
                                  total_balance=6000, transactions=times, now=now)

    assert quiet.note is None and quiet.attempt_ids == ()
    assert woke.note == f"duplicate_charge 60.00 USD on {second}: approve"
    with rt.engine.connect() as conn:
        rows = conn.execute(refund_attempts.select()).all()
    assert [(a.payment_reference, a.amount, a.reason, a.provider) for a in rows] == [
        (second, 6000, "duplicate", "saleor")]
