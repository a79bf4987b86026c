"""PostgreSQL, two services on one database: a Stripe dispute of a payment not recorded yet and
a storefront's ``order.paid`` naming that PaymentIntent, at the same moment. The dispute is
kept "for a payment we have not seen" while the order.paid's transaction, not yet committed,
has recorded it: whichever commits second must find the other's write, so the payment ends
disputed (its returns go to a person) however the two interleave."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from refunds_plugin.ledger.tables import payments
from refunds_plugin.stripe import disputes
from refunds_plugin.trouble import paid
from tests.fakes import Harness, order_paid, stripe_event

pytestmark = pytest.mark.parametrize("any_db_url", ["postgresql"], indirect=True)
DISPUTE = {
    "id": "dp_1",
    "object": "dispute",
    "amount": 5500,
    "currency": "usd",
    "charge": "ch_123",
    "payment_intent": "pi_123",
    "status": "needs_response",
    "reason": "fraudulent",
}


@pytest.fixture
def two(any_db_url: str, clock: Any) -> Iterator[tuple[Harness, Harness]]:
    """Two services on one database: two engines, two sets of connections."""
    shop, stripe_side = Harness(any_db_url, clock), Harness(any_db_url, clock)
    yield shop, stripe_side
    shop.close()
    stripe_side.close()


def _waiting_on_advisory_lock(engine: Engine) -> bool:
    with engine.connect() as conn:
        return bool(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
                )
            ).scalar_one()
        )


def _hold_then_race(two: tuple[Harness, Harness], monkeypatch: pytest.MonkeyPatch, module: Any,
                    step: str, held: str) -> None:
    """Send ``held`` ("order.paid" or "dispute") and stop its transaction after ``module.step``;
    send the other now; let the first commit once the second finished or waits for its lock.
    Both answer 200 and pi_123 ends disputed."""
    shop, stripe_side = two
    reached, go = threading.Event(), threading.Event()
    real = getattr(module, step)

    def holding(*args: Any, **kwargs: Any) -> Any:
        found = real(*args, **kwargs)
        if threading.current_thread().name == held:
            reached.set()
            assert go.wait(60)  # the other runs (or waits) before this transaction commits
        return found

    monkeypatch.setattr(module, step, holding)
    answers: dict[str, int] = {}
    senders = {
        "order.paid": lambda: shop.post_storefront(order_paid()).status_code,
        "dispute": lambda: stripe_side.post_stripe(
            stripe_event("evt_dp", "charge.dispute.created", DISPUTE)).status_code,
    }

    def send(which: str) -> None:
        answers[which] = senders[which]()

    other = "dispute" if held == "order.paid" else "order.paid"
    first = threading.Thread(target=send, args=(held,), name=held)
    first.start()
    assert reached.wait(60)
    second = threading.Thread(target=send, args=(other,), name=other)
    second.start()
    # the second finishes, or waits for the first's transaction: either way it has had its
    # chance to run first
    while second.is_alive() and not _waiting_on_advisory_lock(shop.runtime.engine):
        second.join(0.05)
    go.set()
    first.join(60)
    second.join(60)

    assert answers == {"order.paid": 200, "dispute": 200}
    [payment] = shop.rows(payments)
    assert (payment.reference, payment.order_id, payment.status) == ("pi_123", "1001", "disputed")


def test_a_dispute_at_the_moment_the_storefront_records_its_payment_is_applied(
    two: tuple[Harness, Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The order.paid has recorded pi_123 and looked in the journal for a dispute (none yet),
    and has not committed; the dispute arrives now. Once both are done, pi_123 is disputed."""
    _hold_then_race(two, monkeypatch, paid, "after_payment", held="order.paid")


def test_a_payment_recorded_at_the_moment_its_dispute_is_kept_gets_it(
    two: tuple[Harness, Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other way round: the dispute has looked for pi_123 (not recorded), kept its word
    for it, and not committed; the order.paid arrives now. Once both are done, pi_123 is
    disputed."""
    _hold_then_race(two, monkeypatch, disputes, "_journal", held="dispute")
