"""Failed-payment follow-ups, detectors switched off by the policy, and the history sweep.

The CLI reads the real clock, so these harnesses run on a clock set in the recent past.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from refunds_plugin.cli import main
from refunds_plugin.ledger.tables import decisions, follow_ups, refund_attempts
from tests.fakes import Clock, Harness, stripe_event
from tests.fakes.stripe_api import FakeStripeServer
from tests.fakes.stripe_shapes import T0, failed_intent, pay, storefront_order
from tests.integration.trouble.conftest import write_policy

OFF = (
    "trouble:\n"
    "  overpayment: {enabled: false}\n"
    "  duplicate_charge: {enabled: false}\n"
    "  failed_payment: {enabled: false}\n"
)


@pytest.fixture
def past() -> Clock:
    return Clock(datetime.now(UTC).replace(microsecond=0) - timedelta(hours=30))


@pytest.fixture
def h(any_db_url: str, past: Clock, stripe_server: FakeStripeServer) -> Iterator[Harness]:
    harness = Harness(any_db_url, past, stripe_server.url)
    yield harness
    harness.close()


def cli(db_url: str, *args: str, policy: str = "preset:default") -> Result:
    env = {"REFUNDS_DATABASE_URL": db_url, "REFUNDS_POLICY": policy,
           "REFUNDS_STRIPE_API_KEY": ""}
    result = CliRunner().invoke(main, ["trouble", *args], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def fail(h: Harness, pi_id: str, amount: int, order_id: str) -> str:
    resp = h.post_stripe(stripe_event(f"evt_{pi_id}_failed", "payment_intent.payment_failed",
                                      failed_intent(pi_id, amount, order_id=order_id)))
    assert resp.status_code == 200, resp.json
    assert resp.json is not None
    return str(resp.json["note"])


def test_a_failed_payment_followed_by_a_success_is_cleared_and_one_without_stays_listed(
    h: Harness,
) -> None:
    assert fail(h, "pi_f1", 4200, "2001") == "payment failed; follow-up opened"
    assert fail(h, "pi_f2", 1999, "2002") == "payment failed; follow-up opened"

    pay(h, None, "pi_ok", 4200, created=T0, order_id="2001")

    assert sorted((f.order_id, f.status, f.amount, f.customer_email) for f in
                  h.rows(follow_ups)) == [("2001", "cleared", 4200, "bo@example.com"),
                                          ("2002", "open", 1999, "bo@example.com")]
    [opened] = [f.created_at for f in h.rows(follow_ups) if f.order_id == "2002"]
    at = opened.strftime("%Y-%m-%d %H:%M UTC")
    assert cli(h.db_url, "follow-ups").stdout.splitlines() == [
        "opened                status  kind            order  decision  customer        amount     "
        "payment  what failed",
        f"{at}  due     failed_payment  2002   -         bo@example.com  19.99 USD  pi_f2    "
        "card_declined (insufficient_funds): Your card has insufficient funds."]
    [line] = cli(h.db_url, "follow-ups", "--json").stdout.splitlines()
    item = json.loads(line)
    assert (item["order_id"], item["amount"], item["currency"], item["customer"]) == (
        "2002", 1999, "USD", "bo@example.com")


def test_a_follow_up_is_listed_only_once_the_policy_wait_has_passed(h: Harness) -> None:
    h.clock.now = datetime.now(UTC) - timedelta(hours=1)  # the default policy waits 24 hours

    fail(h, "pi_f3", 5000, "2003")

    assert cli(h.db_url, "follow-ups").stdout == "nothing to follow up\n"
    [opened] = [f.created_at for f in h.rows(follow_ups)]
    until = (opened + timedelta(hours=24)).strftime("%Y-%m-%d %H:%M UTC")
    assert cli(h.db_url, "follow-ups", "--all").stdout.splitlines()[1].startswith(
        f"{opened:%Y-%m-%d %H:%M} UTC  waiting until {until}  failed_payment  2003  ")


def test_a_failure_for_an_order_that_is_already_paid_opens_no_follow_up(h: Harness) -> None:
    pay(h, None, "pi_paid", 4200, created=T0, order_id="2004")

    note = fail(h, "pi_late_fail", 4200, "2004")

    assert note == "payment failed; the order is paid by another payment: no follow-up"
    assert h.count(follow_ups) == 0


def test_with_every_detector_off_nothing_is_decided_and_a_late_scan_finds_and_applies_once(
    any_db_url: str, past: Clock, stripe_server: FakeStripeServer, tmp_path: Path
) -> None:
    off = write_policy(tmp_path, OFF)
    h = Harness(any_db_url, past, stripe_server.url, settings={"policy": str(off)})
    try:
        h.post_storefront(storefront_order("3001", reference="pi_first"))
        pay(h, None, "pi_first", 10000, created=T0, order_id="3001")
        pay(h, None, "pi_again", 10000, created=T0 + 90, order_id="3001")
        h.post_storefront(storefront_order("3002", reference="pi_one"))
        pay(h, None, "pi_one", 10000, created=T0, order_id="3002")
        pay(h, None, "pi_more", 700, created=T0 + 900, order_id="3002")
        assert fail(h, "pi_f9", 1500, "3003") == (
            "payment failed; failed-payment follow-ups are switched off in the policy")
        assert (h.count(decisions), h.count(refund_attempts), h.count(follow_ups)) == (0, 0, 0)
        assert "no trouble found" in cli(h.db_url, "scan", policy=str(off)).stdout

        shown = cli(h.db_url, "scan", "--since", "2025-11-01").stdout

        assert "duplicate_charge" in shown and "pi_again" in shown and "100.00 USD" in shown
        assert "overpayment" in shown and "pi_more" in shown and "7.00 USD" in shown
        assert "failed_payment" in shown and "pi_f9" in shown and "15.00 USD" in shown
        assert "3 finding(s); run with --apply" in shown
        assert (h.count(decisions), h.count(follow_ups)) == (0, 0)
        applied = json.loads(cli(h.db_url, "scan", "--apply", "--json").stdout)
        assert sorted((f["order_id"], f["kind"], f["payment_reference"], f["amount"],
                       f["status"]) for f in applied["findings"]) == [
            ("3001", "duplicate_charge", "pi_again", 10000, "decided: approve"),
            ("3002", "overpayment", "pi_more", 700, "decided: approve"),
            ("3003", "failed_payment", "pi_f9", 1500, "follow-up opened"),
        ]
        assert [(f.order_id, f.amount, f.status) for f in h.rows(follow_ups)] == [
            ("3003", 1500, "open")]
        assert sorted((a.payment_reference, a.amount, a.reason, a.provider) for a in
                      h.rows(refund_attempts)) == [
            ("pi_again", 10000, "duplicate", "dryrun"),
            ("pi_more", 700, "requested_by_customer", "dryrun"),
        ]
        before = h.money_rows()
        assert cli(h.db_url, "scan", "--apply").stdout.startswith("no trouble found")
        assert h.money_rows() == before
    finally:
        h.close()


def test_scan_since_leaves_out_payment_only_orders_paid_before_that_date(
    any_db_url: str, past: Clock, stripe_server: FakeStripeServer, tmp_path: Path
) -> None:
    off = write_policy(tmp_path, OFF)
    h = Harness(any_db_url, past, stripe_server.url, settings={"policy": str(off)})
    try:
        pay(h, None, "pi_old_1", 3000, created=T0, order_id="4001")  # 2025-11-24, no order row
        pay(h, None, "pi_old_2", 3000, created=T0 + 60, order_id="4001")

        everything = json.loads(cli(h.db_url, "scan", "--json").stdout)
        recent = json.loads(cli(h.db_url, "scan", "--since", "2026-01-01", "--json").stdout)

        assert [(f["kind"], f["payment_reference"], f["amount"]) for f in
                everything["findings"]] == [("duplicate_charge", "pi_old_2", 3000)]
        assert recent == {"applied": False, "findings": [], "follow_ups_due": 0}
        assert h.count(decisions) == 0
    finally:
        h.close()


def opened_at(row: Any) -> datetime:
    value: datetime = row.created_at
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def test_scan_rebuilds_follow_ups_from_failed_payments_in_the_inbox_once(
    any_db_url: str, past: Clock, stripe_server: FakeStripeServer, tmp_path: Path
) -> None:
    off = write_policy(tmp_path, OFF)  # failures reach the inbox while follow-ups are off
    h = Harness(any_db_url, past, stripe_server.url, settings={"policy": str(off)})
    try:
        start = past.now
        fail(h, "pi_a1", 4200, "5001")  # paid later: no follow-up
        past.advance(60)
        fail(h, "pi_b1", 1999, "5002")  # never paid: one follow-up
        past.advance(60)
        fail(h, "pi_c1", 2500, "5003")  # failed twice: one follow-up, from the first failure
        past.advance(60)
        fail(h, "pi_c2", 2600, "5003")
        pay(h, None, "pi_d_ok", 3000, created=T0, order_id="5004")  # paid before it failed
        fail(h, "pi_d1", 3000, "5004")
        past.advance(60)
        pay(h, None, "pi_a_ok", 4200, created=T0, order_id="5001")
        no_order = failed_intent("pi_x1", 900)
        no_order["metadata"] = {}
        resp = h.post_stripe(stripe_event("evt_x1", "payment_intent.payment_failed", no_order))
        assert resp.status_code == 200
        assert h.count(follow_ups) == 0

        shown = json.loads(cli(h.db_url, "scan", "--json").stdout)

        assert [(f["kind"], f["order_id"], f["payment_reference"], f["amount"], f["currency"],
                 f["customer"], f["failed_at"], f["status"]) for f in shown["findings"]] == [
            ("failed_payment", "5002", "pi_b1", 1999, "USD", "bo@example.com",
             (start + timedelta(seconds=60)).isoformat(), "found"),
            ("failed_payment", "5003", "pi_c1", 2500, "USD", "bo@example.com",
             (start + timedelta(seconds=120)).isoformat(), "found"),
        ]
        assert (h.count(follow_ups), h.count(decisions)) == (0, 0)

        applied = json.loads(cli(h.db_url, "scan", "--apply", "--json").stdout)

        assert [(f["order_id"], f["status"]) for f in applied["findings"]] == [
            ("5002", "follow-up opened"), ("5003", "follow-up opened")]
        assert applied["follow_ups_due"] == 2  # failed 30 hours ago; the policy waits 24
        rows = sorted(h.rows(follow_ups), key=lambda r: r.order_id)
        detail = "card_declined (insufficient_funds): Your card has insufficient funds."
        assert [(r.kind, r.order_id, r.payment_reference, r.currency, r.amount,
                 r.customer_email, r.detail, r.status, r.cleared_at, opened_at(r))
                for r in rows] == [
            ("failed_payment", "5002", "pi_b1", "USD", 1999, "bo@example.com", detail, "open",
             None, start + timedelta(seconds=60)),
            ("failed_payment", "5003", "pi_c1", "USD", 2500, "bo@example.com", detail, "open",
             None, start + timedelta(seconds=120)),
        ]
        assert (h.count(decisions), h.count(refund_attempts)) == (0, 0)
        listed = cli(h.db_url, "follow-ups").stdout.splitlines()
        assert [line.split()[5] for line in listed[1:]] == ["5002", "5003"]

        again = cli(h.db_url, "scan", "--apply").stdout
        assert again == "no trouble found\n2 failed payment(s) to follow up: " \
                        "`refunds trouble follow-ups`\n"
        assert sorted(h.rows(follow_ups), key=lambda r: r.order_id) == rows

        pay(h, None, "pi_b_ok", 1999, created=T0, order_id="5002")
        assert [(r.order_id, r.status) for r in sorted(h.rows(follow_ups),
                                                       key=lambda r: r.order_id)] == [
            ("5002", "cleared"), ("5003", "open")]
        assert json.loads(cli(h.db_url, "scan", "--apply", "--json").stdout)["findings"] == []
        assert [(r.order_id, r.status) for r in sorted(h.rows(follow_ups),
                                                       key=lambda r: r.order_id)] == [
            ("5002", "cleared"), ("5003", "open")]
    finally:
        h.close()


def test_scan_adds_nothing_to_a_follow_up_the_live_event_opened(h: Harness) -> None:
    fail(h, "pi_live", 4200, "6001")
    before = h.rows(follow_ups)

    found = json.loads(cli(h.db_url, "scan", "--apply", "--json").stdout)

    assert found["findings"] == [] and found["follow_ups_due"] == 1
    assert h.rows(follow_ups) == before and len(before) == 1


def test_scan_since_leaves_out_failures_received_before_it_and_a_switched_off_policy_finds_none(
    any_db_url: str, past: Clock, stripe_server: FakeStripeServer, tmp_path: Path
) -> None:
    off = write_policy(tmp_path, OFF)
    h = Harness(any_db_url, past, stripe_server.url, settings={"policy": str(off)})
    try:
        fail(h, "pi_old", 1500, "7001")
        past.advance(3600)
        fail(h, "pi_new", 2500, "7002")
        since = (past.now - timedelta(minutes=1)).isoformat()

        recent = json.loads(cli(h.db_url, "scan", "--since", since, "--json").stdout)
        switched_off = json.loads(cli(h.db_url, "scan", "--apply", "--json",
                                      policy=str(off)).stdout)

        assert [(f["order_id"], f["payment_reference"]) for f in recent["findings"]] == [
            ("7002", "pi_new")]
        assert switched_off["findings"] == []
        assert h.count(follow_ups) == 0
    finally:
        h.close()
