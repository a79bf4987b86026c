"""What was paid is tamper-evident: an edited captured amount or order total, or a deleted
payment, is named by ``refunds ledger verify``; a capture the provider legitimately changes
(a partial capture after the storefront's claim) verifies, and an event that changes nothing
journals nothing. Rows are altered with raw SQL, as an intruder would."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event, select

from refunds_plugin.finance.verify import Problem, verify_ledger
from refunds_plugin.ledger.tables import ledger_entries, payments
from tests.conftest import _truncate
from tests.fakes import Harness, order_paid, stripe_event
from tests.fakes.shop import Shop
from tests.integration.finance.test_ledger_verify import tamper, verify_cli


@pytest.fixture
def shop(any_db_url: str, now: datetime) -> Iterator[Shop]:
    """Two paid orders: entries 1-2 are o-1's total and payment, 3-4 o-2's."""
    shop = Shop(any_db_url, now)
    shop.order("o-1", 2500, "ann@example.com")
    shop.order("o-2", 4000, "bob@example.com")
    yield shop
    shop.runtime.engine.dispose()


def test_each_order_journals_its_total_and_its_payment_once(shop: Shop) -> None:
    with shop.runtime.engine.connect() as conn:
        le = ledger_entries.c
        entries = [(r.seq, r.entry_type, r.subject_id, json.loads(r.body)) for r in conn.execute(
            select(le.seq, le.entry_type, le.subject_id, le.body).order_by(le.seq))]
    assert entries[2:] == [
        (3, "order_total", "order:o-2", {"order_id": "o-2", "currency": "EUR",
                                         "total_amount": 4000}),
        (4, "payment_captured", "stripe:pay_o-2", {
            "provider": "stripe", "reference": "pay_o-2", "order_id": "o-2",
            "currency": "EUR", "captured": 4000}),
    ]
    assert verify_ledger(shop.runtime.engine) == []


def test_a_captured_amount_multiplied_is_named_with_its_order_and_payment(
    shop: Shop, any_db_url: str
) -> None:
    tamper(shop.runtime.engine, "UPDATE payments SET captured = captured * 10 "
           "WHERE order_id = 'o-2'")

    assert verify_ledger(shop.runtime.engine) == [Problem(
        "payments row stripe:pay_o-2 (order o-2)", "row_edited",
        "differs from its latest entry 4: captured is 40000 but the journal says 4000")]
    code, out = verify_cli(any_db_url)
    assert code == 1
    assert out == ("LEDGER ALTERED: first problem at payments row stripe:pay_o-2 (order o-2): "
                   "row_edited: differs from its latest entry 4: captured is 40000 but the "
                   "journal says 4000\n")


def test_an_order_total_lowered_is_named(shop: Shop, any_db_url: str) -> None:
    tamper(shop.runtime.engine, "UPDATE orders SET total_amount = 1 WHERE order_id = 'o-2'")

    assert verify_ledger(shop.runtime.engine) == [Problem(
        "orders row o-2", "row_edited",
        "differs from its latest entry 3: total_amount is 1 but the journal says 4000")]
    assert verify_cli(any_db_url)[0] == 1


def test_a_payment_moved_to_another_order_or_currency_is_named(shop: Shop) -> None:
    tamper(shop.runtime.engine, "UPDATE payments SET order_id = 'o-1', currency = 'USD' "
           "WHERE order_id = 'o-2'")

    [problem] = verify_ledger(shop.runtime.engine)
    assert (problem.where, problem.problem) == (
        "payments row stripe:pay_o-2 (order o-1)", "row_edited")
    assert problem.detail == (
        "differs from its latest entry 4: order_id is 'o-1' but the journal says 'o-2'; "
        "currency is 'USD' but the journal says 'EUR'")


def test_a_deleted_payment_and_a_deleted_order_are_named(shop: Shop) -> None:
    tamper(shop.runtime.engine, "DELETE FROM payments WHERE order_id = 'o-2'",
           "DELETE FROM orders WHERE order_id = 'o-1'")

    assert verify_ledger(shop.runtime.engine) == [
        Problem("payments row stripe:pay_o-2 (order o-2)", "row_missing",
                "entry 4 records its capture of 4000 EUR; it is gone"),
        Problem("orders row o-1", "row_missing",
                "entry 1 records its total of 2500 EUR; it is gone"),
    ]


CAPTURED = 5500  # order_paid(): 2 × 2500 + 500 shipping, paid with pi_123
INTENT = {"id": "pi_123", "object": "payment_intent", "amount": CAPTURED,
          "amount_received": CAPTURED - 500, "currency": "usd", "latest_charge": "ch_123",
          "status": "succeeded", "metadata": {"order_id": "1001"}}


def captures(harness: Harness) -> list[dict[str, Any]]:
    le = ledger_entries.c
    with harness.runtime.engine.connect() as conn:
        return [json.loads(body) for body in conn.execute(
            select(le.body).where(le.entry_type == "payment_captured").order_by(le.seq)
        ).scalars()]


def entries(harness: Harness) -> int:
    return harness.count(ledger_entries)


@pytest.mark.parametrize("stripe_first", [False, True])
def test_a_partial_capture_after_or_before_the_storefronts_claim_verifies(
    harness: Harness, stripe_first: bool
) -> None:
    intent = stripe_event("evt_pi", "payment_intent.succeeded", INTENT)
    posts = [lambda: harness.post_storefront(order_paid()),
             lambda: harness.post_stripe(intent)]
    for post in reversed(posts) if stripe_first else posts:
        assert post().status_code == 200

    [row] = harness.rows(payments)
    assert (row.captured, row.order_id) == (CAPTURED - 500, "1001")
    stripes = {"provider": "stripe", "reference": "pi_123", "order_id": "1001",
               "currency": "USD"}
    # the storefront's claim, then Stripe's word; Stripe first: its word, which a claim
    # arriving later does not change (nothing journalled for it)
    assert captures(harness) == ([{**stripes, "captured": CAPTURED - 500}] if stripe_first else
                                 [{**stripes, "captured": CAPTURED},
                                  {**stripes, "captured": CAPTURED - 500}])
    assert verify_ledger(harness.runtime.engine) == []

    # the same facts again under new event ids change nothing and journal nothing
    written = entries(harness)
    assert harness.post_storefront({**order_paid(), "id": "evt_paid_again"}).status_code == 200
    again = stripe_event("evt_pi_again", "payment_intent.succeeded", INTENT)
    assert harness.post_stripe(again).status_code == 200
    assert entries(harness) == written
    assert verify_ledger(harness.runtime.engine) == []


def test_an_edit_after_a_legitimate_change_is_held_to_the_newest_entry(
    harness: Harness,
) -> None:
    assert harness.post_storefront(order_paid()).status_code == 200
    intent = stripe_event("evt_pi", "payment_intent.succeeded", INTENT)
    assert harness.post_stripe(intent).status_code == 200
    seq = entries(harness)  # Stripe's capture, the newest entry

    tamper(harness.runtime.engine, "UPDATE payments SET captured = :c", c=CAPTURED)

    assert verify_ledger(harness.runtime.engine) == [Problem(
        "payments row stripe:pi_123 (order 1001)", "row_edited",
        f"differs from its latest entry {seq}: captured is 5500 but the journal says 5000")]


def test_on_postgresql_the_entries_ride_in_statements_an_order_paid_sends_anyway(
    pg_migrated: Engine, now: datetime
) -> None:
    _truncate(pg_migrated)
    shop = Shop(pg_migrated.url.render_as_string(hide_password=False), now)
    sent: list[tuple[int, str]] = []

    @event.listens_for(shop.runtime.engine, "before_cursor_execute")
    def _sent(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append((threading.get_ident(), statement))

    shop.order("o-1", 2500, "ann@example.com")

    request = [sql for thread, sql in sent if thread == threading.get_ident()]
    # no statement of its own for an entry, and no read of the payment before its upsert nor
    # after it: which order holds the payment (``trouble.payment_owners``) comes back from it
    assert not [sql for sql in request if sql.startswith("INSERT INTO ledger_entries")]
    [upsert] = [sql for sql in request if "INSERT INTO payments" in sql]
    reads = [sql for sql in request if sql.startswith("SELECT") and "payments.reference = " in sql]
    assert reads == []
    assert upsert.startswith("WITH prior AS") and "INSERT INTO ledger_entries" in upsert
    with pg_migrated.connect() as conn:
        assert [r.entry_type for r in conn.execute(select(ledger_entries.c.entry_type)
                                                   .order_by(ledger_entries.c.seq))] == [
            "order_total", "payment_captured"]
    assert verify_ledger(pg_migrated) == []
    shop.runtime.engine.dispose()


def test_an_order_resent_with_another_total_journals_the_new_total_and_verifies(
    harness: Harness,
) -> None:
    assert harness.post_storefront(order_paid()).status_code == 200
    resent = {**order_paid(shipping=900), "id": "evt_paid_more_shipping"}
    assert harness.post_storefront(resent).status_code == 200

    le = ledger_entries.c
    with harness.runtime.engine.connect() as conn:
        totals = [json.loads(body) for body in conn.execute(
            select(le.body).where(le.entry_type == "order_total").order_by(le.seq)).scalars()]
    assert totals == [{"order_id": "1001", "currency": "USD", "total_amount": CAPTURED},
                      {"order_id": "1001", "currency": "USD", "total_amount": CAPTURED + 400}]
    # the storefront's larger claim (nothing from Stripe yet) is the payment's new capture
    assert [c["captured"] for c in captures(harness)] == [CAPTURED, CAPTURED + 400]
    assert verify_ledger(harness.runtime.engine) == []
