"""``order.paid`` may carry the customer's ``shipping_address`` (where a return label is sent
from) and each line's ``weight_grams``; a malformed one is a 400 naming the field, with nothing
recorded."""

from __future__ import annotations

import json
from typing import Any

import pytest

from refunds_plugin.ledger.tables import orders
from tests.fakes import Harness, order_paid

ANN = {"name": "Ann Lee", "street": "9 Elm St", "city": "Boston", "postal_code": "02108",
       "country": "us"}


def _paid(address: dict[str, Any] | None, weight: Any = None) -> dict[str, Any]:
    event = order_paid()
    if address is not None:
        event["data"]["order"]["shipping_address"] = address
    if weight is not None:
        event["data"]["order"]["lines"][0]["weight_grams"] = weight
    return event


def test_the_address_and_weights_are_kept_with_the_order(harness: Harness) -> None:
    assert harness.post_storefront(_paid(ANN, 350)).status_code == 200
    [row] = harness.rows(orders)
    assert json.loads(row.extra) == {"shipping_address": {**ANN, "country": "US"},
                                     "line_weights": {"l1": 350}}


@pytest.mark.parametrize("address,weight,said", [
    ({**ANN, "country": "USA"}, None,
     "data.order.shipping_address.country: expected a two-letter country code such as DE"),
    ({k: v for k, v in ANN.items() if k != "city"}, None,
     "data.order.shipping_address.city: Missing data for required field."),
    (None, 0, "data.order.lines.0.weight_grams: Must be greater than or equal to 1."),
])
def test_a_malformed_address_or_weight_is_400_naming_it_and_records_nothing(
    harness: Harness, address: dict[str, Any] | None, weight: Any, said: str,
) -> None:
    resp = harness.post_storefront(_paid(address, weight))
    assert resp.status_code == 400
    assert resp.json is not None and resp.json["error"]["code"] == "invalid_payload"
    assert said in resp.json["error"]["message"], resp.json
    assert harness.rows(orders) == []
