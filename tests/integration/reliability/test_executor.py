"""The executor on SQLite and PostgreSQL: retries, final errors, leases, release, backoff."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from refunds_plugin.execution.executor import Executor, backoff
from refunds_plugin.ledger.attempts import AttemptRow
from refunds_plugin.ledger.tables import ledger_entries, refund_attempts, reviews
from refunds_plugin.providers import Instruction, Provider, ProviderResult, SaveProgress
from tests.fakes import Harness, order_paid, return_requested
from tests.fakes.stripe_api import FakeStripe

PI = "pi_123"


def decide_one_refund(harness: Harness, fake: FakeStripe) -> str:
    """Order 1001 (2 mugs at 25.00 + 5.00 shipping) paid on pi_123; one mug returned."""
    fake.add_payment_intent(5500, "usd", PI)
    assert harness.post_storefront(order_paid()).status_code == 200
    answer = harness.post_storefront(return_requested())
    assert answer.status_code == 201
    [attempt] = answer.json["attempts"]
    assert (attempt["amount"], attempt["provider"]) == (2500, "stripe")
    assert attempt["status"] == "pending"
    return str(attempt["id"])


def attempt(harness: Harness, attempt_id: str):
    [row] = harness.rows(refund_attempts, id=attempt_id)
    return row


def refund_keys(fake: FakeStripe) -> list[str | None]:
    return [c.idempotency_key for c in fake.calls_to("POST", "/v1/refunds")]


def test_a_500_from_the_provider_is_retried_later_with_the_same_key_and_pays_once(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    attempt_id = decide_one_refund(harness, fake_stripe)
    fake_stripe.fail_next(1, status=500)
    harness.drain()
    row = attempt(harness, attempt_id)
    assert (row.status, row.tries, row.claimed_by) == ("pending", 1, None)
    assert fake_stripe.refunds == []
    harness.drain()  # not due yet: the backoff holds it back
    assert len(refund_keys(fake_stripe)) == 1

    harness.clock.advance(10)
    harness.drain()
    row = attempt(harness, attempt_id)
    assert (row.status, row.tries, row.sent_amount) == ("succeeded", 2, 2500)
    assert refund_keys(fake_stripe) == [row.idempotency_key] * 2
    assert len(fake_stripe.refunds) == 1 and fake_stripe.refunded(PI) == 2500
    assert row.provider_reference == fake_stripe.refunds[0]["id"]
    assert harness.chain_problem() is None


def test_after_the_last_try_the_outcome_is_unknown_and_goes_to_review_with_no_money_moved(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    harness.runtime.executor.config = harness.runtime.config.__class__(
        **{**harness.runtime.config.__dict__, "executor_max_tries": 3}
    )
    attempt_id = decide_one_refund(harness, fake_stripe)
    fake_stripe.fail_next(3, status=503)
    for _ in range(3):
        harness.drain()
        harness.clock.advance(700)  # beyond the backoff cap
    row = attempt(harness, attempt_id)
    assert (row.status, row.tries) == ("unknown", 3)  # a 503 is not a "no": it may have paid
    assert row.last_error.startswith("gave up after 3 tries")
    assert [r.status for r in harness.rows(reviews, decision_id=row.decision_id)] == ["open"]
    assert len(refund_keys(fake_stripe)) == 3 and fake_stripe.refunds == []
    assert harness.chain_problem() is None


def test_a_provider_down_for_45_minutes_is_waited_out_with_the_defaults_and_pays_once(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    """The default tries (20, backoff from 2 s to 600 s) span about one to two hours: a Stripe
    outage of 45 minutes ends with the refund paid, not a person asked to settle it."""
    assert harness.runtime.config.executor_max_tries == 20
    attempt_id = decide_one_refund(harness, fake_stripe)
    fake_stripe.fail_next(1000, status=503)
    for _ in range(45):  # down for 45 minutes: every call in them answers 503
        harness.drain()
        harness.clock.advance(60)
    row = attempt(harness, attempt_id)
    assert (row.status, fake_stripe.refunds) == ("pending", [])
    with fake_stripe.lock:
        fake_stripe.faults.clear()  # back up
    for _ in range(11):  # the longest wait is the 600 s cap
        harness.drain()
        harness.clock.advance(60)
    row = attempt(harness, attempt_id)
    assert row.status == "succeeded" and row.sent_amount == 2500
    assert len(fake_stripe.refunds) == 1 and fake_stripe.refunded(PI) == 2500
    assert set(refund_keys(fake_stripe)) == {row.idempotency_key}  # one key on every try
    assert harness.rows(reviews, decision_id=row.decision_id) == []
    assert harness.chain_problem() is None


def test_a_disputed_charge_fails_at_once_without_a_retry(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    attempt_id = decide_one_refund(harness, fake_stripe)
    fake_stripe.dispute(PI)
    harness.drain()
    harness.clock.advance(700)
    harness.drain()
    row = attempt(harness, attempt_id)
    assert (row.status, row.tries) == ("failed", 1)
    assert row.last_error.startswith("charge_disputed")
    assert len(refund_keys(fake_stripe)) == 1 and fake_stripe.refunds == []
    assert [r.status for r in harness.rows(reviews, decision_id=row.decision_id)] == ["open"]


def test_an_expired_lease_is_taken_over_and_the_same_key_is_replayed_not_paid_again(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    attempt_id = decide_one_refund(harness, fake_stripe)
    rt = harness.runtime
    first = Executor(rt.engine, rt.providers, rt.config, harness.clock, worker_id="first")
    second = Executor(rt.engine, rt.providers, rt.config, harness.clock, worker_id="second")
    [held] = first.claim()
    assert second.claim() == []  # a live lease is not taken
    harness.clock.advance(rt.config.executor_lease_s + 1)
    assert second.run_once() == 1  # the first worker "died": its lease ran out
    row = attempt(harness, attempt_id)
    assert (row.status, row.tries) == ("succeeded", 2)

    # the first worker wakes up and finishes its call: the provider replays, nothing is written
    assert first.process(held) == "succeeded"
    assert refund_keys(fake_stripe) == [row.idempotency_key] * 2
    assert [c.replayed for c in fake_stripe.calls_to("POST", "/v1/refunds")] == [False, True]
    assert len(fake_stripe.refunds) == 1 and fake_stripe.refunded(PI) == 2500
    assert attempt(harness, attempt_id).tries == 2
    assert harness.chain_problem() is None


def test_stopping_hands_back_claims_not_yet_started(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    attempt_id = decide_one_refund(harness, fake_stripe)
    rt = harness.runtime
    worker = Executor(rt.engine, rt.providers, rt.config, harness.clock, worker_id="leaving")
    assert [a.id for a in worker.claim()] == [attempt_id]
    assert worker.release() == 1
    row = attempt(harness, attempt_id)
    assert (row.status, row.tries, row.claimed_by, row.lease_until) == ("pending", 0, None, None)
    assert fake_stripe.calls == []


@pytest.mark.parametrize(("tries", "low", "high"), [(1, 1.0, 2.0), (2, 2.0, 4.0),
                                                    (5, 16.0, 32.0), (12, 300.0, 600.0)])
def test_backoff_doubles_per_try_with_jitter_and_stops_at_the_cap(
    tries: int, low: float, high: float
) -> None:
    rng = random.Random(7)
    delays = [backoff(tries, 2.0, 600.0, rng) for _ in range(200)]
    assert all(low <= d <= high for d in delays)
    assert len({round(d, 6) for d in delays}) > 100  # jittered, not one fixed delay


def test_claims_skip_rows_another_transaction_holds(harness: Harness, fake_stripe: FakeStripe,
                                                    any_db_url: str) -> None:
    if not any_db_url.startswith("postgresql"):
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite runs one executor")
    attempt_id = decide_one_refund(harness, fake_stripe)
    rt = harness.runtime
    other = Executor(rt.engine, rt.providers, rt.config, harness.clock, worker_id="other")
    with rt.engine.connect() as conn, conn.begin():
        conn.execute(select(refund_attempts.c.id).with_for_update())  # another claimer's lock
        assert other.claim() == []
    assert [a.id for a in other.claim()] == [attempt_id]



class SlowProvider:
    """The real provider behind calls that each take ``seconds`` of the test's clock; ``during``
    runs while a call is under way (another worker acting meanwhile)."""

    name = "stripe"

    def __init__(self, inner: Provider, harness: Harness, seconds: float,
                 during: Callable[[Instruction], None] = lambda _: None) -> None:
        self.inner, self.harness, self.seconds, self.during = inner, harness, seconds, during
        self.called: list[tuple[str, datetime]] = []  # attempt id, its lease at the call

    def execute(self, instruction: Instruction, save_progress: SaveProgress) -> ProviderResult:
        lease = attempt(self.harness, instruction.attempt_id).lease_until
        self.called.append((instruction.attempt_id, aware(lease)))
        self.harness.clock.advance(self.seconds)
        self.during(instruction)
        return self.inner.execute(instruction, save_progress)


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite's are naive UTC


def two_refunds(harness: Harness, fake: FakeStripe) -> set[str]:
    """Orders 1001 (pi_123) and 1002 (pi_456), one mug of each returned: two attempts due."""
    decide_one_refund(harness, fake)
    fake.add_payment_intent(5500, "usd", "pi_456")
    assert harness.post_storefront(order_paid("1002", reference="pi_456",
                                              event_id="evt_paid_1002")).status_code == 200
    assert harness.post_storefront(return_requested("r-2", "1002")).status_code == 201
    return {r.id for r in harness.rows(refund_attempts)}


def test_a_claim_another_worker_took_over_during_a_slow_batch_is_skipped_not_called_again(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    ids = two_refunds(harness, fake_stripe)
    rt = harness.runtime
    second = Executor(rt.engine, rt.providers, rt.config, harness.clock, worker_id="second")
    taken: list[AttemptRow] = []

    def meanwhile(_: Instruction) -> None:
        if not taken:  # the first call outlives the batch's lease: the other is reclaimed
            taken.extend(second.claim())

    slow = SlowProvider(rt.providers["stripe"], harness, rt.config.executor_lease_s + 1, meanwhile)
    first = Executor(rt.engine, {"stripe": slow}, rt.config, harness.clock, worker_id="first")

    assert first.run_once() == 2

    # both leases ran out during the first call and the second worker took both: the first
    # worker's late outcome is refused and the attempt it had not started is skipped, not called
    [(called_id, _)] = slow.called
    assert {a.id for a in taken} == ids
    for attempt_id in ids:
        held = attempt(harness, attempt_id)
        assert (held.status, held.claimed_by, held.tries) == ("in_progress", "second", 2)
    assert len(fake_stripe.calls_to("POST", "/v1/refunds")) == 1

    assert [second.process(a) for a in taken] == ["succeeded", "succeeded"]
    calls = fake_stripe.calls_to("POST", "/v1/refunds")
    assert [(c.idempotency_key, c.replayed) for c in calls][0] == (
        attempt(harness, called_id).idempotency_key, False)
    assert sorted(c.replayed for c in calls) == [False, False, True]  # called_id's replay
    assert fake_stripe.refunded("pi_123") == fake_stripe.refunded("pi_456") == 2500
    assert len(fake_stripe.refunds) == 2
    assert harness.chain_problem() is None


def test_a_slow_batch_renews_the_lease_of_each_attempt_before_its_call(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    ids = two_refunds(harness, fake_stripe)
    rt = harness.runtime
    lease = timedelta(seconds=rt.config.executor_lease_s)
    slow = SlowProvider(rt.providers["stripe"], harness, 40)  # past half the 60 s lease
    first = Executor(rt.engine, {"stripe": slow}, rt.config, harness.clock, worker_id="first")
    start = harness.clock()

    assert first.run_once() == 2

    assert [when for _, when in slow.called] == [
        start + lease,  # fresh from the claim
        start + timedelta(seconds=40) + lease,  # renewed just before its call
    ]
    assert {i for i, _ in slow.called} == ids
    assert [attempt(harness, i).status for i in ids] == ["succeeded", "succeeded"]
    assert len(fake_stripe.calls_to("POST", "/v1/refunds")) == 2


def test_a_batchs_outcomes_are_journalled_in_call_order_with_a_review_right_after_its_attempt(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    ids = two_refunds(harness, fake_stripe)
    fake_stripe.dispute("pi_456")  # a final "no": failed, and a person looks
    rt = harness.runtime
    recording = SlowProvider(rt.providers["stripe"], harness, 0)
    worker = Executor(rt.engine, {"stripe": recording}, rt.config, harness.clock, worker_id="w")
    before = harness.count(ledger_entries)

    assert worker.run_once() == 2

    status = {a: attempt(harness, a) for a in ids}
    expected: list[tuple[str, str, str | None]] = []
    for called_id, _ in recording.called:  # each outcome as the executor wrote it, in turn
        row = status[called_id]
        expected.append(("attempt", called_id, row.status))
        if row.status == "failed":
            expected.append(("review_opened", row.decision_id, None))
    assert sorted(row.status for row in status.values()) == ["failed", "succeeded"]
    written = sorted(harness.rows(ledger_entries), key=lambda e: e.seq)[before:]
    assert [(e.entry_type, e.subject_id, json.loads(e.body).get("status"))
            for e in written] == expected
    succeeded = next(a for a in ids if status[a].status == "succeeded")
    assert json.loads(next(e.body for e in written if e.subject_id == succeeded)) == {
        "status": "succeeded", "provider_reference": status[succeeded].provider_reference,
        "sent_amount": 2500, "livemode": True,  # the harness's key is a live one
        "completed_at": str(harness.clock())}
    assert harness.chain_problem() is None
