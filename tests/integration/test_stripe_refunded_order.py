"""Stripe's refunded total: arriving before its payment, journalled, and serialised.

Review findings of the "newest charge.refunded wins" rule: a total that comes before the payment
row is counted once the payment is recorded (by Stripe's own event or the storefront's); every
change of the total is journalled so ``ledger verify`` names an edited row; and on PostgreSQL
two ``charge.refunded`` handled at once cannot let the older one win.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text, update

from refunds_plugin.domain.facts import PaymentFacts
from refunds_plugin.finance.verify import verify_ledger
from refunds_plugin.ledger import facts
from refunds_plugin.ledger.tables import ledger_entries, payments
from refunds_plugin.stripe import refunded_total as stripe_refunded
from tests.conftest import _truncate
from tests.fakes import Harness, order_paid, stripe_event
from tests.fakes.stripe_shapes import payment_intent
from tests.integration.test_stripe_refunded_truth import CAPTURED, T0, charge_refunded


def payment(harness: Harness, order_id: str = "1001") -> PaymentFacts:
    with harness.runtime.engine.connect() as conn:
        [pay] = facts.payment_facts(conn, order_id)
    return pay


def settled(harness: Harness) -> list[tuple[str, str]]:
    return [(e.subject_id, e.body) for e in harness.rows(ledger_entries)
            if e.entry_type == stripe_refunded.SETTLED]


def test_a_refunded_total_that_arrives_before_the_storefront_order_is_counted_then(
    harness: Harness,
) -> None:
    assert harness.post_stripe(charge_refunded("evt_ch_1", 3000, T0 + 10)).status_code == 200

    assert harness.post_storefront(order_paid()).status_code == 200

    assert (payment(harness).refunded, payment(harness).refundable) == (3000, CAPTURED - 3000)
    assert settled(harness) == [(
        "stripe:pi_123",
        '{"as_of":1764000010,"given_back":0,"refunded_reported":3000,"snapshot":3000}')]
    assert verify_ledger(harness.runtime.engine) == []


def test_a_refunded_total_that_arrives_before_stripe_reports_the_payment_is_counted_then(
    harness: Harness,
) -> None:
    harness.post_stripe(charge_refunded("evt_ch_1", 3000, T0 + 10))

    obj = payment_intent("pi_123", CAPTURED, created=T0)
    resp = harness.post_stripe(stripe_event("evt_pi", "payment_intent.succeeded", obj))
    assert resp.status_code == 200

    assert (payment(harness).refunded, payment(harness).refundable) == (3000, CAPTURED - 3000)


def test_an_edited_refunded_total_is_named_by_ledger_verify(harness: Harness) -> None:
    assert harness.post_storefront(order_paid()).status_code == 200
    harness.post_stripe(charge_refunded("evt_ch_1", 3000, T0 + 10))
    assert verify_ledger(harness.runtime.engine) == []

    with harness.runtime.engine.begin() as conn:  # someone frees 30.00 to refund it again
        conn.execute(update(payments).where(payments.c.reference == "pi_123")
                     .values(refunded_reported=0))

    assert [str(p) for p in verify_ledger(harness.runtime.engine)] == [
        "payments row stripe:pi_123: row_edited: refunded_reported is 0 but the journal last "
        "settled it at 3000"]


@pytest.fixture
def pg_engine(pg_migrated: Engine) -> Iterator[Engine]:
    _truncate(pg_migrated)
    yield pg_migrated
    _truncate(pg_migrated)


def test_on_postgresql_an_older_total_handled_at_the_same_time_never_wins(
    pg_engine: Engine,
) -> None:
    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    with pg_engine.begin() as conn:
        conn.execute(payments.insert().values(
            provider="stripe", reference="pi_1", order_id="1001", currency="USD",
            captured=5500, refunded_reported=0, status="succeeded", created_at=now,
            updated_at=now))
    newer = {"id": "ch_1", "amount_refunded": 1000}
    older = {"id": "ch_1", "amount_refunded": 500}
    done = threading.Event()

    def late_older() -> None:
        with pg_engine.begin() as conn:
            stripe_refunded.report(conn, "pi_1", older, event_id="evt_old", created=T0 + 10,
                                   now=now)
        done.set()

    with pg_engine.begin() as conn:  # the newer event is being handled and holds the ledger
        stripe_refunded.report(conn, "pi_1", newer, event_id="evt_new", created=T0 + 20, now=now)
        worker = threading.Thread(target=late_older)
        worker.start()
        assert not done.wait(0.5)  # the older one waits for the ledger lock
    worker.join(10)

    assert done.is_set()
    with pg_engine.connect() as conn:
        assert conn.execute(text(
            "SELECT refunded_reported FROM payments WHERE reference = 'pi_1'")).scalar() == 1000
        assert stripe_refunded.latest(conn, "pi_1") == stripe_refunded.Snapshot(1000, T0 + 20)
