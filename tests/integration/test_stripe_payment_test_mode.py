"""A payment records the mode Stripe captured it in (``payments.livemode``, revision 0029): a
``payment_intent.succeeded`` or ``charge.succeeded`` in Stripe's test mode took no real money,
so the summary keeps it out of captured (``sales``) and the refund rate and shows it apart
(``test_mode_sales``, "Captured in Stripe test mode"), as it does a test-mode refund. The mode
is journalled with the payment's capture and ``ledger verify`` holds the row to it. A payment
whose mode is not known (recorded before 0029, or named only by a storefront) counts as before.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from sqlalchemy import select

from refunds_plugin.finance.tokens import create_token
from refunds_plugin.finance.verify import Problem, verify_ledger
from refunds_plugin.ledger.chain import canonical
from refunds_plugin.ledger.migrate import head_revision, migrate
from refunds_plugin.ledger.tables import ledger_entries, payments, refund_attempts
from tests.fakes import Clock, Harness, order_paid, return_requested, stripe_event
from tests.fakes.finance_scene import as_before
from tests.fakes.stripe_api import FakeStripeServer
from tests.integration.finance.test_ledger_verify import tamper

QUERY = "since=2026-11-01&until=2026-12-01"
INTENT = {"id": "pi_123", "object": "payment_intent", "amount": 5500, "amount_received": 5500,
          "currency": "usd", "latest_charge": "ch_123", "status": "succeeded",
          "metadata": {"order_id": "1001"}}
CHARGE = {"id": "ch_123", "object": "charge", "amount": 5500, "amount_captured": 5500,
          "captured": True, "currency": "usd", "payment_intent": "pi_123", "status": "succeeded",
          "metadata": {"order_id": "1001"}}
OBJECTS = {"payment_intent.succeeded": INTENT, "charge.succeeded": CHARGE}


def paid_in(harness: Harness, type_: str, livemode: bool, event_id: str = "evt_pay") -> None:
    """Stripe's event of the payment, as Stripe sends it: the object and the event each say
    the mode."""
    obj = {**OBJECTS[type_], "livemode": livemode}
    resp = harness.post_stripe(stripe_event(event_id, type_, obj, livemode=livemode))
    assert resp.status_code == 200, resp.json


def captures(harness: Harness) -> list[tuple[str, dict[str, Any]]]:
    """The payment's ``payment_captured`` entries: the stored text, and what it says."""
    le = ledger_entries.c
    with harness.runtime.engine.connect() as conn:
        return [(body, json.loads(body)) for body in conn.execute(
            select(le.body).where(le.entry_type == "payment_captured").order_by(le.seq)
        ).scalars()]


def summary(harness: Harness) -> tuple[dict[str, Any], str, list[list[str]]]:
    """The summary's JSON totals, its page and its CSV for November."""
    auth = {"Authorization": "Bearer " + create_token(
        harness.runtime.engine, "Fin", "finance", harness.clock.now).secret}
    client = harness.client()
    [totals] = client.get(f"/api/summary?{QUERY}", headers=auth).get_json()["totals"]
    page = client.get(f"/finance/summary?{QUERY}", headers=auth).get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(client.get(f"/api/summary?{QUERY}&format=csv",
                                                  headers=auth).get_data(as_text=True))))
    return totals, page, rows


@pytest.mark.parametrize("type_", ["payment_intent.succeeded", "charge.succeeded"])
def test_a_payment_stripe_captured_in_test_mode_is_not_captured_money(
    harness: Harness, type_: str
) -> None:
    paid_in(harness, type_, livemode=False)

    [row] = harness.rows(payments)
    assert (row.reference, row.captured, row.livemode) == ("pi_123", 5500, False)
    body = {"provider": "stripe", "reference": "pi_123", "order_id": "1001", "currency": "USD",
            "captured": 5500, "livemode": False}
    assert captures(harness) == [(canonical(body), body)]  # the same text on either database
    assert verify_ledger(harness.runtime.engine) == []

    totals, page, rows = summary(harness)
    assert (totals["sales"], totals["test_mode_sales"], totals["refund_rate_bp"]) == (
        0, 5500, None)
    assert '<td data-label="Captured" class="num">0.00 USD</td>' in page
    assert '<td data-label="Captured in Stripe test mode" class="num">55.00 USD</td>' in page
    assert ("<dt>Captured in Stripe test mode</dt><dd>payments Stripe captured in its test "
            "mode (a test key's payment): no real money was taken, so they are not in "
            "captured, nor in the refund rate.") in page
    assert rows[0][-6:] == ["test_mode", "test_mode_decimal", "test_mode_sales",
                            "test_mode_sales_decimal", "test_mode_exchange_paid",
                            "test_mode_exchange_paid_decimal"]
    assert (rows[1][rows[0].index("sales")], rows[1][-4:-2]) == ("0", ["5500", "55.00"])


@pytest.mark.parametrize("type_", ["payment_intent.succeeded", "charge.succeeded"])
def test_a_live_payment_is_captured_money(harness: Harness, type_: str) -> None:
    paid_in(harness, type_, livemode=True)

    [row] = harness.rows(payments)
    assert (row.captured, row.livemode) == (5500, True)
    assert [said for _, said in captures(harness)] == [{
        "provider": "stripe", "reference": "pi_123", "order_id": "1001", "currency": "USD",
        "captured": 5500, "livemode": True}]
    totals, page, _ = summary(harness)
    assert (totals["sales"], totals["test_mode_sales"]) == (5500, 0)
    assert '<td data-label="Captured" class="num">55.00 USD</td>' in page
    assert '<td data-label="Captured in Stripe test mode" class="num">0.00 USD</td>' in page


def test_the_storefronts_word_neither_gives_nor_takes_the_mode(harness: Harness) -> None:
    # the shop first: no mode, captured as before; then Stripe says test mode, journalled
    assert harness.post_storefront(order_paid()).status_code == 200
    [row] = harness.rows(payments)
    assert row.livemode is None
    assert summary(harness)[0]["sales"] == 5500
    paid_in(harness, "payment_intent.succeeded", livemode=False)
    again = {**order_paid(), "id": "evt_paid_again"}  # the shop again: the mode stays
    assert harness.post_storefront(again).status_code == 200

    [row] = harness.rows(payments)
    assert (row.captured, row.livemode) == (5500, False)
    stripes = {"provider": "stripe", "reference": "pi_123", "order_id": "1001",
               "currency": "USD", "captured": 5500}
    assert [said for _, said in captures(harness)] == [stripes, {**stripes, "livemode": False}]
    assert verify_ledger(harness.runtime.engine) == []
    totals = summary(harness)[0]
    assert (totals["sales"], totals["test_mode_sales"]) == (0, 5500)


def test_test_money_edited_into_live_money_is_named_by_verify(harness: Harness) -> None:
    paid_in(harness, "payment_intent.succeeded", livemode=False)
    seq = harness.count(ledger_entries)  # the capture's entry, the newest

    tamper(harness.runtime.engine, "UPDATE payments SET livemode = :t", t=True)

    assert verify_ledger(harness.runtime.engine) == [Problem(
        "payments row stripe:pi_123 (order 1001)", "row_edited",
        f"differs from its latest entry {seq}: livemode is True but the journal says False")]


def test_a_test_mode_refund_of_a_test_mode_payment_stays_out_of_both_totals(
    any_db_url: str, clock: Clock, stripe_server: FakeStripeServer
) -> None:
    harness = Harness(any_db_url, clock, stripe_server.url,
                      settings={"stripe_api_key": "sk_test_fake"})
    stripe_server.fake.add_payment_intent(5500, "usd", "pi_123")
    assert harness.post_storefront(order_paid()).status_code == 200
    paid_in(harness, "payment_intent.succeeded", livemode=False)
    assert harness.post_storefront(return_requested()).status_code == 201
    harness.drain()

    [attempt] = harness.rows(refund_attempts)
    assert (attempt.status, attempt.amount, attempt.livemode) == ("succeeded", 2500, False)
    totals, page, _ = summary(harness)
    # neither side is real money: no captured, no refunded, no refund rate
    assert {k: totals[k] for k in ("sales", "test_mode_sales", "refunded", "test_mode",
                                   "refund_rate_bp")} == {
        "sales": 0, "test_mode_sales": 5500, "refunded": 0, "test_mode": 2500,
        "refund_rate_bp": None}
    assert '<td data-label="Refund rate" class="num">nothing captured</td>' in page
    assert verify_ledger(harness.runtime.engine) == []
    harness.close()


def test_a_payment_recorded_before_revision_0029_counts_as_captured_as_before(
    harness: Harness,
) -> None:
    engine = harness.runtime.engine
    as_before(engine, "0028", (
        "INSERT INTO payments (provider, reference, order_id, currency, captured, "
        "refunded_reported, status, created_at, updated_at, confirmed_at) VALUES ('stripe', "
        "'pi_old', 'o-old', 'EUR', 4000, 0, 'succeeded', '2026-11-20 10:00:00', "
        "'2026-11-20 10:00:00', '2026-11-20 10:00:00')"))

    assert migrate(engine) == ("0028", head_revision())

    [row] = harness.rows(payments)
    assert (row.reference, row.captured, row.livemode) == ("pi_old", 4000, None)
    totals, page, _ = summary(harness)
    assert (totals["currency"], totals["sales"], totals["test_mode_sales"]) == ("EUR", 4000, 0)
    assert '<td data-label="Captured" class="num">40.00 EUR</td>' in page
    assert verify_ledger(engine) == []  # no entry of its mode to hold it to: not a problem


def test_a_release_rolled_back_and_deployed_again_keeps_the_payments_modes(
    harness: Harness,
) -> None:
    paid_in(harness, "payment_intent.succeeded", livemode=False)
    engine = harness.runtime.engine
    as_before(engine, "0028")  # the column is dropped; the journal keeps what it said

    assert migrate(engine) == ("0028", head_revision())

    [row] = harness.rows(payments)
    assert row.livemode is False
    assert verify_ledger(engine) == []
