"""On SQLite a return's facts are read and its policy run before the write lock
(``intake/before_lock.py``): inside, the order's rows are read again and the decision made
before stands only if they are unchanged; otherwise it is made again on what is there now."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from refunds_plugin.intake import before_lock as before_mod
from refunds_plugin.intake import service as service_mod
from refunds_plugin.ledger.tables import decisions, refund_attempts
from tests.fakes import Harness, order_paid, return_requested
from tests.fakes.stripe_api import FakeStripe

HISTORY = "AS order_count"  # the customer's history: its one aggregate statement
POLICY = "policies.evaluate"


@pytest.fixture
def sqlite_harness(sqlite_url: str, clock: Any, stripe_server: Any) -> Iterator[Harness]:
    from refunds_plugin.ledger.db import make_engine
    from refunds_plugin.ledger.migrate import migrate

    migrate(make_engine(sqlite_url))
    h = Harness(sqlite_url, clock, stripe_server.url)
    yield h
    h.close()


def test_nothing_changed_the_history_and_policy_ran_before_the_write_lock(
    sqlite_harness: Harness, fake_stripe: FakeStripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = sqlite_harness
    fake_stripe.add_payment_intent(5500, "usd", "pi_123")
    h.post_storefront(order_paid())
    where: list[tuple[str, bool]] = []  # (what ran, inside the write transaction)

    def statement(conn: Any, _cur: Any, sql: str, *_: Any) -> None:
        if HISTORY in sql:
            where.append(("history", bool(conn.get_execution_options().get("sqlite_write"))))

    event.listen(h.runtime.engine, "before_cursor_execute", statement)
    real_evaluate = before_mod.policies.evaluate

    def evaluate(*args: Any, **kwargs: Any) -> Any:
        # the write transaction's connection is the group's: is a batch open now?
        from refunds_plugin.ledger.db import _GROUPS
        where.append((POLICY, _GROUPS[h.runtime.engine].batch is not None))
        return real_evaluate(*args, **kwargs)

    monkeypatch.setattr(before_mod.policies, "evaluate", evaluate)
    monkeypatch.setattr(service_mod.policies, "evaluate", evaluate)
    resp = h.post_storefront(return_requested())
    assert resp.status_code == 201, resp.json
    assert where == [("history", False), (POLICY, False)]  # once each, before the lock
    [d] = h.rows(decisions)
    assert (d.outcome, d.refund_amount) == ("approve", 2500)
    [a] = h.rows(refund_attempts)
    assert (a.amount, a.currency, a.payment_reference) == (2500, "USD", "pi_123")


def test_the_order_changed_before_the_lock_so_the_decision_is_made_again_inside(
    sqlite_harness: Harness, fake_stripe: FakeStripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Request A is decided before the lock on the order as it was (one mug left to return);
    request B for that mug commits first; A's transaction sees B's decision among the order's
    rows, decides again, and is refused: the mug is not refunded twice."""
    h = sqlite_harness
    fake_stripe.add_payment_intent(2600, "usd", "pi_123")
    one_mug = [{"id": "l1", "sku": "MUG-1", "name": "Mug", "quantity": 1, "unit_amount": 2500,
                "tags": []}]
    h.post_storefront(order_paid(lines=one_mug, shipping=100))
    real = before_mod.before_lock
    made_before: list[Any] = []

    def before_then_b(*args: Any, **kwargs: Any) -> Any:
        pre = real(*args, **kwargs)
        made_before.append(pre)
        if len(made_before) == 1:  # A's: now B arrives and commits first
            answer = h.post_storefront(return_requested("r-b"))
            assert answer.status_code == 201, answer.json
        return pre

    monkeypatch.setattr(service_mod, "before_lock", before_then_b)
    a = h.post_storefront(return_requested("r-a"))
    # A was approved before the lock, on the order as it was then
    assert made_before[0].made.decision.outcome.value == "approve"
    assert made_before[0].made.decision.refund_amount == 2600
    # inside, on the order as it is: the mug is B's; A is refused whole, nothing recorded for it
    assert a.status_code == 400
    assert a.json["error"] == {"code": "invalid_line", "message": (
        "line l1: a return has already been requested for every unit of Mug")}
    rows = h.rows(decisions)
    assert [(r.request_key, r.outcome, r.refund_amount) for r in rows] == [
        ("return:r-b", "approve", 2600)]
    assert [(x.amount, x.payment_reference) for x in h.rows(refund_attempts)] == [
        (2600, "pi_123")]
    h.drain()
    assert [r["amount"] for r in fake_stripe.refunds] == [2600]
