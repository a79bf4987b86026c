"""Revision 0035 finds, for each exchange whose dearer item's difference was paid before it
recorded the PaymentIntent, the one that paid it in the ``checkout.session.completed`` the
inbox kept, so a refund of it can name it; an original's due session, an unpaid exchange or an
event that cannot be read leave a row as it was. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.old_ledger import T0, OldLedger


def _completed(ledger: OldLedger, event_id: str, obj: dict[str, Any]) -> None:
    ledger.put("events", source="stripe", event_id=event_id, type="checkout.session.completed",
               received_at=T0, status="processed",
               payload=json.dumps({"id": event_id, "data": {"object": obj}}))


def _exchange(ledger: OldLedger, decision_id: str, paid: bool) -> None:
    ledger.decision(decision_id, "o-1", {"currency": "USD", "amount": 0}, {"lines": []})
    ledger.put("exchanges", decision_id=decision_id, order_id="o-1", currency="USD",
               status="waiting" if paid else "awaiting_payment", ship_on="approval",
               difference=500, charge_amount=500, waived_amount=0, back_amount=0,
               checkout_session_id=f"cs_{decision_id}", paid_at=T0 if paid else None,
               created_at=T0, updated_at=T0)


def test_0035_records_the_payment_intent_that_paid_each_difference(
        old_ledger: OldLedger) -> None:
    old_ledger.upgrade("0034")
    _exchange(old_ledger, "D1", paid=True)
    _exchange(old_ledger, "D2", paid=True)  # its event was never kept
    _exchange(old_ledger, "D3", paid=False)
    _completed(old_ledger, "evt_1", {"id": "cs_D1", "payment_intent": "pi_D1",
                                     "metadata": {"decision_id": "D1",
                                                  "purpose": "exchange_difference"}})
    _completed(old_ledger, "evt_2", {"id": "cs_D1b", "payment_intent": {"id": "pi_other"},
                                     "metadata": {"decision_id": "D1"}})  # a later one
    _completed(old_ledger, "evt_3", {"id": "cs_due", "payment_intent": "pi_due",
                                     "metadata": {"decision_id": "D2",
                                                  "purpose": "original_due"}})
    _completed(old_ledger, "evt_4", {"id": "cs_D3", "payment_intent": "pi_D3",
                                     "metadata": {"decision_id": "D3"}})
    old_ledger.put("events", source="stripe", event_id="evt_5",
                   type="checkout.session.completed", received_at=T0, status="processed",
                   payload="{not json")

    old_ledger.upgrade("0035")

    assert old_ledger.rows("exchanges", "decision_id", "payment_reference",
                           "checkout_status") == [
        ("D1", "pi_D1", None), ("D2", None, None), ("D3", None, None)]
