"""Reconciliation against a fake Stripe holding refunds that match, differ and are missing."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests
import responses
import stripe
from click.testing import CliRunner

from refunds_plugin.cli import main
from refunds_plugin.finance.reconcile import Mismatch, reconcile, stripe_refunds
from tests.fakes.shop import Shop
from tests.fakes.stripe_api import FakeStripeServer

API_KEY = "sk_live_reconcile"


@pytest.fixture
def stripe_server(now: datetime) -> Iterator[FakeStripeServer]:
    server = FakeStripeServer()
    server.fake.clock = lambda: now.timestamp()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def shop(sqlite_url: str, now: datetime, stripe_server: FakeStripeServer) -> Iterator[Shop]:
    """Four orders paid with Stripe, each fully refunded through the executor."""
    shop = Shop(sqlite_url, now, stripe_api_key=API_KEY, stripe_api_base=stripe_server.url,
                stripe_max_network_retries=0)
    for n, amount in enumerate((2500, 4000, 1250, 999), start=1):
        stripe_server.fake.add_payment_intent(amount, "eur", pi_id=f"pi_order{n}")
        shop.send("order.paid", {"order": {
            "id": f"o-{n}", "currency": "EUR", "paid_at": (now - timedelta(days=2)).isoformat(),
            "customer": {"email": f"c{n}@example.com"},
            "lines": [{"id": "l1", "quantity": 1, "unit_amount": amount}],
            "shipping_amount": 0, "total_amount": amount,
            "payment": {"provider": "stripe", "reference": f"pi_order{n}", "amount": amount}}})
        shop.ask_return(f"o-{n}", f"r-{n}")
    shop.pay_out()
    assert sorted(r["amount"] for r in stripe_server.fake.refunds) == [999, 1250, 2500, 4000]
    yield shop
    shop.runtime.engine.dispose()


def client(server: FakeStripeServer) -> stripe.StripeClient:
    return stripe.StripeClient(API_KEY, base_addresses={"api": server.url},
                               http_client=stripe.RequestsClient(), max_network_retries=0)


def run(shop: Shop, server: FakeStripeServer, page_size: int = 100) -> list[Mismatch]:
    since = shop.now - timedelta(days=1)
    c = client(server)
    pages = stripe_refunds(lambda params: c.v1.refunds.list(params=params), since, page_size)
    return reconcile(shop.runtime.engine, pages, since)


def test_a_ledger_that_agrees_with_stripe_has_no_mismatch(
    shop: Shop, stripe_server: FakeStripeServer
) -> None:
    assert run(shop, stripe_server) == []


def test_every_kind_of_difference_is_listed_across_pages(
    shop: Shop, stripe_server: FakeStripeServer
) -> None:
    fake = stripe_server.fake
    by_pi = {r["payment_intent"]: r for r in fake.refunds}
    by_pi["pi_order2"]["amount"] = 3900  # Stripe says less left than we recorded
    by_pi["pi_order3"]["status"] = "failed"  # failed after we saw it succeed
    fake.refunds.remove(by_pi["pi_order4"])  # we say sent; Stripe never had it
    fake.add_payment_intent(500, "eur", pi_id="pi_phone_order")
    with fake.lock:  # refunded by hand in the dashboard, unknown to the ledger
        extra = fake.create_refund({"payment_intent": "pi_phone_order", "amount": "100"})
    found = run(shop, stripe_server, page_size=2)
    assert sorted((m.kind, m.refund_id, m.ledger, m.provider) for m in found) == sorted([
        ("amount", by_pi["pi_order2"]["id"], "40.00 EUR succeeded", "39.00 EUR succeeded"),
        ("status", by_pi["pi_order3"]["id"], "12.50 EUR succeeded", "12.50 EUR failed"),
        ("missing_at_provider", by_pi["pi_order4"]["id"], "9.99 EUR succeeded", "-"),
        ("missing_in_ledger", extra["id"], "-", "1.00 EUR succeeded"),
    ])
    listed = fake.calls_to("GET", "/v1/refunds")
    assert len(listed) == 2  # four refunds at Stripe, two per page
    assert listed[1].params.get("starting_after")
    attempt_ids = {m.refund_id: m.attempt_id for m in found}
    assert attempt_ids[extra["id"]] is None
    assert attempt_ids[by_pi["pi_order4"]["id"]] is not None


def test_the_reconcile_command_prints_the_mismatches_and_exits_non_zero(
    shop: Shop, stripe_server: FakeStripeServer, sqlite_url: str
) -> None:
    refund = next(r for r in stripe_server.fake.refunds if r["payment_intent"] == "pi_order1")
    refund["amount"] = 1
    env = {"REFUNDS_DATABASE_URL": sqlite_url, "REFUNDS_STRIPE_API_KEY": API_KEY,
           "REFUNDS_STRIPE_API_BASE": stripe_server.url}
    since = (shop.now - timedelta(days=1)).date().isoformat()
    result = CliRunner().invoke(main, ["reconcile", "--provider", "stripe", "--since", since],
                                env=env)
    assert result.exit_code == 1, result.output
    assert "amount" in result.output
    assert refund["id"] in result.output
    assert "25.00 EUR succeeded  0.01 EUR succeeded" in result.output


def test_reconcile_json_says_they_agree_and_about_what_when_nothing_differs(
    shop: Shop, stripe_server: FakeStripeServer, sqlite_url: str
) -> None:
    env = {"REFUNDS_DATABASE_URL": sqlite_url, "REFUNDS_STRIPE_API_KEY": API_KEY,
           "REFUNDS_STRIPE_API_BASE": stripe_server.url}
    since = (shop.now - timedelta(days=1)).date().isoformat()
    result = CliRunner().invoke(main, ["reconcile", "--since", since, "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in result.stdout.splitlines()] == [{
        "agree": True, "differences": [], "provider": "stripe",
        "since": "2026-11-23T00:00:00+00:00", "provider_refunds": 4, "ledger_refunds": 4}]

    # one difference: its line alone, as before
    refund = next(r for r in stripe_server.fake.refunds if r["payment_intent"] == "pi_order1")
    refund["amount"] = 1
    result = CliRunner().invoke(main, ["reconcile", "--since", since, "--json"], env=env)
    assert result.exit_code == 1, result.output
    [line] = result.stdout.splitlines()
    found = json.loads(line)
    assert found.pop("attempt_id")  # our attempt's id
    assert found == {"kind": "amount", "refund_id": refund["id"],
                     "ledger": "25.00 EUR succeeded", "provider": "0.01 EUR succeeded"}


def _reconcile_unreachable(sqlite_url: str, retries: str) -> Any:
    env = {"REFUNDS_DATABASE_URL": sqlite_url, "REFUNDS_STRIPE_API_KEY": API_KEY,
           "REFUNDS_STRIPE_API_BASE": "http://127.0.0.1:9",
           "REFUNDS_STRIPE_MAX_NETWORK_RETRIES": retries, "REFUNDS_LOG_LEVEL": "WARNING"}
    assert CliRunner().invoke(main, ["migrate"], env=env).exit_code == 0
    with responses.RequestsMock() as mock:
        mock.add(responses.GET, re.compile(r"http://127\.0\.0\.1:9/v1/refunds.*"),
                 body=requests.ConnectionError("Connection refused"))
        result = CliRunner().invoke(main, ["reconcile", "--since", "2026-11-01"], env=env)
        calls = len(mock.calls)
    return result, calls


def test_an_unreachable_stripe_is_one_line_and_exit_3_after_the_retries_asked_for(
    sqlite_url: str,
) -> None:
    result, calls = _reconcile_unreachable(sqlite_url, "0")

    assert (result.exit_code, result.stdout, calls) == (3, "", 1)
    assert result.stderr == (
        "Error: could not reach Stripe at http://127.0.0.1:9 (APIConnectionError, after 0 "
        "retries: REFUNDS_STRIPE_MAX_NETWORK_RETRIES=0): nothing was compared; try again later\n")

    again, calls = _reconcile_unreachable(sqlite_url, "1")
    assert (again.exit_code, calls) == (3, 2)  # the first try and one retry


def test_reconcile_as_the_docs_run_it_says_its_answer_without_stripe_s_request_log_lines(
    shop: Shop, stripe_server: FakeStripeServer, sqlite_url: str
) -> None:
    # no REFUNDS_LOG_LEVEL: stripe-python's INFO lines ("Request to Stripe api", "Stripe API
    # response", one "Encountered a retryable error" and "Initiating retry" per retry) came
    # out as JSON log lines around the answer and before the one-line error
    env = {"REFUNDS_DATABASE_URL": sqlite_url, "REFUNDS_STRIPE_API_KEY": API_KEY,
           "REFUNDS_STRIPE_API_BASE": stripe_server.url}
    result = CliRunner().invoke(main, ["reconcile", "--since", "2026-11-23"], env=env)

    said = [line for line in result.stderr.splitlines()  # the fake's server, in this process
            if '"logger": "werkzeug"' not in line]
    assert (result.exit_code, result.stdout, said) == (
        0, "stripe and the ledger agree on every refund since 2026-11-23T00:00:00+00:00\n", [])

    with responses.RequestsMock() as mock:
        mock.add(responses.GET, re.compile(r"http://127\.0\.0\.1:9/v1/refunds.*"),
                 body=requests.ConnectionError("Connection refused"))
        down = CliRunner().invoke(main, ["reconcile", "--since", "2026-11-23"], env={
            **env, "REFUNDS_STRIPE_API_BASE": "http://127.0.0.1:9",
            "REFUNDS_STRIPE_MAX_NETWORK_RETRIES": "1"})

    assert (down.exit_code, down.stderr) == (
        3, "Error: could not reach Stripe at http://127.0.0.1:9 (APIConnectionError, after 1 "
           "retries: REFUNDS_STRIPE_MAX_NETWORK_RETRIES=1): nothing was compared; try again "
           "later\n")
