"""The inbox, the journal and the service's once-only decisions on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy import update

from refunds_plugin.ledger.db import make_engine, write_tx
from refunds_plugin.ledger.journal import insert_ignore, record_event
from refunds_plugin.ledger.tables import decisions, events, ledger_entries, refund_attempts
from tests.fakes import Harness, order_paid, return_requested
from tests.fakes.stripe_api import FakeStripe


def test_the_inbox_records_an_event_once_and_says_so_on_the_second_try(
    any_db_url: str, now: datetime
) -> None:
    engine = make_engine(any_db_url)
    with write_tx(engine) as conn:
        first = record_event(conn, "storefront", "evt_1", "order.paid", "{}", now)
        again = record_event(conn, "storefront", "evt_1", "order.paid", "{}", now)
        other = record_event(conn, "stripe", "evt_1", "charge.refunded", "{}", now)
        assert isinstance(first, int) and again is None and isinstance(other, int)
        assert insert_ignore(conn, events, {
            "source": "storefront", "event_id": "evt_1", "type": "x", "received_at": now,
            "payload": "{}", "status": "recorded"}) is False
    engine.dispose()


def test_a_redelivered_return_and_the_same_request_under_a_new_event_id_decide_once(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    fake_stripe.add_payment_intent(5500, "usd", "pi_123")
    harness.post_storefront(order_paid())
    first = harness.post_storefront(return_requested("r-1"))
    redelivered = harness.post_storefront(return_requested("r-1"))
    renamed = harness.post_storefront(return_requested("r-1", event_id="evt_other"))
    assert [first.status_code, redelivered.status_code, renamed.status_code] == [201, 200, 200]
    assert first.json["decision_id"] == redelivered.json["decision_id"] == renamed.json[
        "decision_id"]
    # entries: the order's total and payment, the one decision and its attempt
    assert harness.money_rows() == {"events": 3, "decisions": 1, "refund_attempts": 1,
                                    "ledger_entries": 4}
    harness.drain()
    assert fake_stripe.refunded("pi_123") == 2500 and len(fake_stripe.refunds) == 1


def test_simultaneous_requests_for_the_same_mugs_never_return_more_than_was_bought(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    fake_stripe.add_payment_intent(5500, "usd", "pi_123")
    harness.post_storefront(order_paid())  # 2 mugs
    answers: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def ask(n: int) -> None:
        resp = harness.post_storefront(return_requested(f"r-{n}"))
        with lock:
            answers.append((resp.status_code, resp.json))

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # the losers ask for a mug none is left of: refused whole, nothing recorded
    refused = {"error": {"code": "invalid_line",
                         "message": "line l1: a return has already been requested for "
                                    "every unit of Mug"}}
    assert sorted((code, a.get("outcome") or a) for code, a in answers) == (
        [(201, "approve")] * 2 + [(400, refused)] * 4)
    harness.drain()
    assert [r.status for r in harness.rows(refund_attempts)] == ["succeeded"] * 2
    assert fake_stripe.refunded("pi_123") == 2500 + 3000  # the last mug carries the shipping
    assert harness.count(decisions) == 2
    assert harness.chain_problem() is None


def test_an_edited_journal_entry_is_found_by_the_chain_check(
    harness: Harness, fake_stripe: FakeStripe
) -> None:
    fake_stripe.add_payment_intent(5500, "usd", "pi_123")
    harness.post_storefront(order_paid())
    harness.post_storefront(return_requested())
    harness.drain()
    assert harness.chain_problem() is None
    with harness.runtime.engine.begin() as conn:
        conn.execute(update(ledger_entries).where(ledger_entries.c.seq == 2)
                     .values(body='{"forged":true}'))
    problem = harness.chain_problem()
    assert problem is not None and (problem.seq, problem.problem) == (2, "edited")
