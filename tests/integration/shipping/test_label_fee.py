"""No label, no label fee: a policy whose customer pays a prepaid label takes its fee only where
the shop can buy that label (a carrier key and a return address); otherwise the customer posts
the parcel themselves, is promised no label and pays no fee. In test mode (no money moves) with
a carrier key, the label is bought and the fee is in the decision, the same as a live shop."""

from __future__ import annotations

import json
from collections.abc import Callable

from refunds_plugin.ledger.tables import decisions
from refunds_plugin.shipping import listing
from tests.integration.shipping.conftest import Returns

FEE_POLICY = """currency: USD
window: {days: 365, start: payment}
return_shipping: {label: easypost, paid_by: customer, fee: "4.00", return_by_days: 30}
"""
MUG = [{"line_id": "l1", "quantity": 1, "reason": "changed_mind"}]


def _fees(r: Returns) -> list[dict[str, object]]:
    (row,) = r.h.rows(decisions)
    return list(json.loads(row.body)["fees"])


def _listed(r: Returns) -> list[tuple[object, ...]]:
    return [(x["status"], x["label_status"], x["carrier"], x["label_fee"])
            for x in listing.listed(r.h.runtime.engine)]


def test_with_a_carrier_the_label_fee_is_taken_and_the_label_bought(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(FEE_POLICY)
    r.paid()

    answer = r.ask(lines=MUG)

    assert (answer["refund_amount"], answer["dry_run"]) == (2100, False)  # 25.00 less 4.00
    assert _fees(r) == [{"code": "return_shipping", "amount": 400,
                         "description": "return shipping"}]
    assert "We deducted 4.00 USD return shipping" in answer["explanation"]
    assert answer["return_instructions"]["label_status"] == "pending"
    assert _listed(r) == [("label_pending", "pending", "easypost", 400)]
    assert r.labels() == 1
    assert len(r.easypost.fake.bought) == 1


def test_without_a_carrier_key_no_label_fee_is_taken_and_no_label_promised(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(FEE_POLICY, label=False)  # no REFUNDS_EASYPOST_API_KEY
    r.paid()

    answer = r.ask(lines=MUG)

    assert answer["refund_amount"] == 2500  # the whole mug: nothing is taken for a label
    assert _fees(r) == []
    assert "return shipping" not in answer["explanation"]
    assert "label" not in answer["explanation"]
    assert answer["return_instructions"]["label_status"] == "none"
    assert _listed(r) == [("instructions", "none", "manual", 0)]
    assert "prepaid" not in r.status_page(answer["decision_id"])
    assert r.attempts() == [("refund", 2500, "pending")]
    assert r.labels() == 0 and r.easypost.fake.bought == []


def test_without_a_return_address_no_label_fee_is_taken_even_with_a_key(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(FEE_POLICY, return_addresses=())
    r.paid()

    answer = r.ask(lines=MUG)

    assert (answer["refund_amount"], _fees(r)) == (2500, [])
    assert "return_instructions" not in answer and _listed(r) == []


def test_in_test_mode_with_a_key_the_label_is_bought_and_its_fee_is_in_the_decision(
    returns_service: Callable[..., Returns],
) -> None:
    r = returns_service(FEE_POLICY, stripe_api_key="")  # a dry run: no money moves

    r.paid()
    answer = r.ask(lines=MUG)

    assert (answer["refund_amount"], answer["dry_run"]) == (2100, True)
    assert _fees(r) == [{"code": "return_shipping", "amount": 400,
                         "description": "return shipping"}]
    assert _listed(r) == [("label_pending", "pending", "easypost", 400)]
    assert r.labels() == 1  # the label the fee pays for is bought from the carrier
    assert len(r.easypost.fake.bought) == 1
    assert _listed(r)[0][:3] == ("label_created", "bought", "easypost")
