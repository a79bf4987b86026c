"""Which mode Stripe moved an attempt's money in is recorded with the attempt (``livemode``,
revision 0025) and journalled: a test key's refund is Stripe's test mode, where no real money
moves. Stripe's Refund object carries no ``livemode`` (its API reference lists none), so the key
says it; a promotion code and an event do carry one, and their word is taken. ``ledger verify``
holds the column to its entry: test money edited into live money is named."""

from __future__ import annotations

import json
from typing import Any

import pytest
import stripe
from sqlalchemy import text

from refunds_plugin.finance.verify import verify_ledger
from refunds_plugin.ledger.migrate import head_revision, migrate
from refunds_plugin.ledger.tables import ledger_entries, refund_attempts
from refunds_plugin.providers import Instruction
from refunds_plugin.providers.stripe import StripeProvider, livemode
from tests.fakes import Clock, Harness, order_paid, return_requested, stripe_event
from tests.fakes.finance_scene import as_before
from tests.fakes.stripe_api import FakeStripe, FakeStripeServer


def _paid_out(harness: Harness, fake: FakeStripe) -> Any:
    fake.add_payment_intent(5500, "usd", "pi_123")
    harness.post_storefront(order_paid())
    harness.post_storefront(return_requested())
    harness.drain()
    [attempt] = harness.rows(refund_attempts)
    return attempt


@pytest.mark.parametrize(("key", "live"), [
    ("sk_test_fake", False), ("rk_test_fake", False), ("sk_live_fake", True),
    ("rk_live_fake", True),
])
def test_the_refunds_mode_is_the_keys_recorded_and_journalled(
    sqlite_url: str, clock: Clock, stripe_server: FakeStripeServer, key: str, live: bool,
) -> None:
    harness = Harness(sqlite_url, clock, stripe_server.url, settings={"stripe_api_key": key})
    attempt = _paid_out(harness, stripe_server.fake)

    assert (attempt.status, attempt.sent_amount, attempt.livemode) == ("succeeded", 2500, live)
    assert "livemode" not in stripe_server.fake.refunds[0]  # as Stripe documents its Refund
    [entry] = [json.loads(e.body) for e in harness.rows(ledger_entries, subject_id=attempt.id)
               if json.loads(e.body).get("status") == "succeeded"]
    assert (entry["provider_reference"], entry["livemode"]) == (attempt.provider_reference, live)
    assert harness.chain_problem() is None
    assert list(verify_ledger(harness.runtime.engine)) == []
    again = harness.post_storefront(return_requested()).json  # the storefront asks again
    assert again is not None and again["duplicate"] is True
    assert [a["status"] for a in again["attempts"]] == ["succeeded" if live else "test_mode"]
    harness.close()


def test_a_release_rolled_back_and_deployed_again_keeps_the_refunds_modes(
    sqlite_url: str, clock: Clock, stripe_server: FakeStripeServer,
) -> None:
    harness = Harness(sqlite_url, clock, stripe_server.url,
                      settings={"stripe_api_key": "sk_test_fake"})
    _paid_out(harness, stripe_server.fake)
    engine = harness.runtime.engine
    as_before(engine, "0024")  # the column is dropped; the journal keeps what it said

    assert migrate(engine) == ("0024", head_revision())

    [attempt] = harness.rows(refund_attempts)
    assert attempt.livemode is False
    assert list(verify_ledger(engine)) == []
    harness.close()


def test_test_money_edited_into_live_money_is_named_by_verify(
    sqlite_url: str, clock: Clock, stripe_server: FakeStripeServer,
) -> None:
    harness = Harness(sqlite_url, clock, stripe_server.url,
                      settings={"stripe_api_key": "sk_test_fake"})
    attempt = _paid_out(harness, stripe_server.fake)
    with harness.runtime.engine.begin() as conn:
        conn.execute(text("UPDATE refund_attempts SET livemode = :t"), {"t": True})
        seq = conn.execute(text("SELECT max(seq) FROM ledger_entries WHERE subject_id = :s"),
                           {"s": attempt.id}).scalar_one()

    assert [(p.where, p.problem, p.detail) for p in verify_ledger(harness.runtime.engine)] == [
        (f"refund_attempts row {attempt.id}", "row_edited",
         f"differs from its latest entry {seq}: livemode is True but the journal says False")]
    harness.close()


def test_an_attempt_stripe_never_answered_is_settled_in_the_events_mode(
    sqlite_url: str, clock: Clock, stripe_server: FakeStripeServer,
) -> None:
    harness = Harness(sqlite_url, clock, stripe_server.url,
                      settings={"stripe_api_key": "sk_test_fake", "executor_max_tries": 1})
    stripe_server.fake.fail_next(1, status=500)
    attempt = _paid_out(harness, stripe_server.fake)
    assert (attempt.status, attempt.livemode) == ("unknown", None)  # no answer, no mode

    refund = {"id": "re_test_1", "object": "refund", "amount": 2500, "currency": "usd",
              "payment_intent": "pi_123", "status": "succeeded",
              "metadata": {"attempt_id": attempt.id}}
    resp = harness.post_stripe(stripe_event("evt_re_1", "refund.updated", refund,
                                            livemode=False))

    assert resp.status_code == 200, resp.json
    [attempt] = harness.rows(refund_attempts)
    assert (attempt.status, attempt.provider_reference, attempt.livemode) == (
        "succeeded", "re_test_1", False)
    assert list(verify_ledger(harness.runtime.engine)) == []
    harness.close()


def test_store_credit_takes_the_promotion_codes_own_mode(
    stripe_server: FakeStripeServer, fake_stripe: FakeStripe,
) -> None:
    provider = StripeProvider("sk_test_fake", api_base=stripe_server.url, max_network_retries=0)
    ins = Instruction(attempt_id="a-1", decision_id="d-1", order_id="1001",
                      idempotency_key="k-1", kind="credit", amount=2500, currency="USD")

    result = provider.execute(ins, lambda _progress: None)

    assert (result.status, result.sent_amount, result.livemode) == ("succeeded", 2500, False)
    [promo] = fake_stripe.promotion_codes.values()
    assert promo["livemode"] is False


def test_stripes_own_livemode_is_taken_before_the_keys() -> None:
    said = stripe.PromotionCode.construct_from({"id": "promo_1", "livemode": True}, "k")
    silent = stripe.Refund.construct_from({"id": "re_1", "status": "succeeded"}, "k")
    assert (livemode(said, False), livemode(silent, False), livemode(silent, None)) == (
        True, False, None)
