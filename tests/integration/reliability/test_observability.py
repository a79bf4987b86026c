"""/metrics, /healthz and the JSON logs, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable

from refunds_plugin.logs import JsonFormatter, redact, setup_logging
from refunds_plugin.metrics import PROVIDER_SECONDS, WEBHOOK_SECONDS, Counter, Histogram, Registry
from tests.fakes import Harness, order_paid, return_requested
from tests.fakes.stripe_api import FakeStripe


def scrape(harness: Harness) -> dict[str, float]:
    resp = harness.client().get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for line in resp.get_data(as_text=True).splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


DECLINES_TOO_SMALL = """currency: USD
window: {days: 365, start: payment}
reasons: {changed_mind: accept, too_small: decline}
"""


def test_metrics_count_events_decisions_and_attempts_from_the_ledger(
    policy_harness: Callable[[str], Harness], fake_stripe: FakeStripe
) -> None:
    harness = policy_harness(DECLINES_TOO_SMALL)
    fake_stripe.add_payment_intent(5500, "usd", "pi_123")
    hooks_before = WEBHOOK_SECONDS.count("/webhooks/storefront", "201")
    calls_before = PROVIDER_SECONDS.count("stripe", "succeeded")
    harness.post_storefront(order_paid())
    harness.post_storefront(return_requested("r-1", lines=[  # the policy declines it
        {"line_id": "l1", "quantity": 1, "reason": "too_small"}]))
    harness.post_storefront(return_requested("r-2"))
    harness.post_storefront(return_requested("r-3"))
    before = scrape(harness)
    assert before['refunds_events_received_total{source="storefront",type="order.paid"}'] == 1
    assert before['refunds_events_received_total{source="storefront",type="return.requested"}'] == 3
    assert before['refunds_decisions_total{outcome="approve"}'] == 2
    assert before['refunds_decisions_total{outcome="decline"}'] == 1
    assert before['refunds_attempts{status="pending"}'] == 2
    assert before['refunds_attempts{status="succeeded"}'] == 0
    assert before["refunds_database_up"] == 1
    assert WEBHOOK_SECONDS.count("/webhooks/storefront", "201") == hooks_before + 3

    harness.drain()
    after = scrape(harness)
    assert after['refunds_attempts{status="pending"}'] == 0
    assert after['refunds_attempts{status="succeeded"}'] == 2
    assert PROVIDER_SECONDS.count("stripe", "succeeded") == calls_before + 2


def test_healthz_reports_the_backlog_and_its_age_then_an_empty_queue(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    fake_stripe.add_payment_intent(5500, "usd", "pi_123")
    harness.post_storefront(order_paid())
    harness.post_storefront(return_requested())
    harness.clock.advance(42)
    body = harness.client().get("/healthz").json
    assert (body["status"], body["database"]) == ("ok", "ok")
    assert body["executor"]["backlog"] == 1
    assert body["executor"]["oldest_pending_age_s"] == 42.0
    harness.drain()
    body = harness.client().get("/healthz").json
    assert (body["executor"]["backlog"], body["executor"]["oldest_pending_age_s"]) == (0, 0.0)


def test_logs_are_json_lines_with_the_ledger_ids_and_never_a_key(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    fake_stripe.add_payment_intent(5500, "usd", "pi_123")
    stream = io.StringIO()
    handler = setup_logging("INFO", stream)
    try:
        harness.post_storefront(order_paid())
        answer = harness.post_storefront(return_requested()).json
        harness.drain()
        logging.getLogger("refunds.test").warning(
            "key sk_test_abc123XYZ and card 4242 4242 4242 4242 leaked?")
    finally:
        logging.getLogger().removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    decided = [x for x in lines if x["message"] == "return decided"]
    assert decided[0]["event_id"] == "evt_ret_r-1"
    assert decided[0]["decision_id"] == answer["decision_id"]
    paid = [x for x in lines if x["message"] == "attempt succeeded"]
    assert paid[0]["attempt_id"] == answer["attempts"][0]["id"]
    assert paid[0]["decision_id"] == answer["decision_id"]
    text = stream.getvalue()
    assert "sk_test_" not in text and "4242 4242" not in text and "whsec_" not in text
    # found by its logger: a background thread (the sealer, the courier) may log after it
    mine = [x["message"] for x in lines if x["logger"] == "refunds.test"]
    assert mine == ["key [secret] and card [card?] leaked?"]


def test_redaction_masks_keys_secrets_tokens_and_card_numbers() -> None:
    assert redact("sk_live_51Habc rk_test_9 whsec_abc Bearer eyJhbGciOi.x-y") == (
        "[secret] [secret] [secret] [secret]")
    assert redact("card 4000056655665556 on order 1001") == "card [card?] on order 1001"
    assert redact("card 4242-4242-4242-4242.") == "card [card?]."


def test_redaction_leaves_ids_whose_groups_happen_to_be_digits() -> None:
    # CI once logged attempt 09704164-8668-5011-af3f-32e82b277e70 as "[card?]-af3f-...": a UUID's
    # first three groups are all digits about once in a thousand ids
    ids = "attempt 09704164-8668-5011-af3f-32e82b277e70 and 12345678-1234-5123-8123-123456789012"
    assert redact(ids) == ids
    assert redact("pi_4000056655665556") == "pi_4000056655665556"
    record = logging.LogRecord("x", logging.INFO, "f", 1, "m", None, None)
    record.attempt_id = "a-1"
    record.payload = "sk_live_should_not_be_written"
    out = json.loads(JsonFormatter().format(record))
    assert out["attempt_id"] == "a-1" and "payload" not in out


def test_the_registry_renders_counters_and_cumulative_histogram_buckets() -> None:
    reg = Registry()
    hits = Counter("hits_total", "Hits.", ("path",))
    took = Histogram("took_seconds", "Took.", ("path",), buckets=(0.1, 1.0))
    reg.register(hits)
    reg.register(took)
    hits.inc("/a")
    hits.inc("/a", amount=2)
    took.observe(0.05, "/a")
    took.observe(0.5, "/a")
    took.observe(5, "/a")
    assert reg.render().splitlines() == [
        "# HELP hits_total Hits.", "# TYPE hits_total counter", 'hits_total{path="/a"} 3',
        "# HELP took_seconds Took.", "# TYPE took_seconds histogram",
        'took_seconds_bucket{path="/a",le="0.1"} 1', 'took_seconds_bucket{path="/a",le="1"} 2',
        'took_seconds_bucket{path="/a",le="+Inf"} 3', 'took_seconds_sum{path="/a"} 5.55',
        'took_seconds_count{path="/a"} 3',
    ]
