"""What ``orderFulfillmentReturnProducts`` is asked to return: units from the shipped
fulfillments first, the rest from the order line; never a line of 0 units (Saleor does not
refuse one: it records a 0-unit return line); and what the fake Saleor refuses of a return, as
Saleor does."""

from __future__ import annotations

import pytest

from refunds_plugin.providers.saleor.provider import return_lines
from tests.fakes.saleor_returns import refused_return

LINE, OTHER = "T3JkZXJMaW5lOjE=", "T3JkZXJMaW5lOjI="


def _order(*fulfillments: tuple[str, str, list[tuple[str, int, str]]]) -> dict[str, object]:
    return {"fulfillments": [
        {"id": fid, "status": status, "lines": [
            {"id": flid, "quantity": q, "orderLine": {"id": lid}} for flid, q, lid in lines]}
        for fid, status, lines in fulfillments]}


def test_a_fulfillment_line_holding_no_units_is_passed_over() -> None:
    order = _order(("F1", "FULFILLED", [("FL1", 0, LINE), ("FL2", 1, LINE), ("FL3", 2, OTHER)]),
                   ("F2", "RETURNED", [("FL4", 1, LINE)]))

    assert return_lines(order, {LINE: 2, OTHER: 2}) == (
        [{"fulfillmentLineId": "FL2", "quantity": 1},
         {"fulfillmentLineId": "FL3", "quantity": 2}],
        [{"orderLineId": LINE, "quantity": 1}])


def test_a_replacement_marks_each_line_and_sends_none_of_0_units() -> None:
    order = _order(("F1", "FULFILLED", [("FL1", 0, LINE)]),
                   ("F2", "WAITING_FOR_APPROVAL", [("FL2", 1, LINE)]))

    assert return_lines(order, {LINE: 1}, replace=True) == (
        [{"fulfillmentLineId": "FL2", "quantity": 1, "replace": True}], [])


@pytest.mark.parametrize(("lines", "refused"), [
    ({"fulfillmentLines": [{"fulfillmentLineId": "FL2", "quantity": 2}]},
     ("fulfillmentLineId", "INVALID_QUANTITY",
      "Provided quantity is bigger than quantity from fulfillment line")),
    ({"orderLines": [{"orderLineId": LINE, "quantity": 1}]},
     ("orderLineId", "INVALID_QUANTITY", "Provided quantity is bigger than unfulfilled quantity.")),
    ({"orderLines": [{"orderLineId": OTHER, "quantity": 3}]},
     ("orderLineId", "INVALID_QUANTITY",
      "Provided quantity is bigger than quantity from order line.")),
    ({"fulfillmentLines": [{"fulfillmentLineId": "FL4", "quantity": 1}]},
     ("fulfillmentLineId", "INVALID", "Unable to process action for fulfillmentLine with "
      "different status than fulfilled, refunded, waiting_for_approval.")),
    ({"fulfillmentLines": [{"fulfillmentLineId": "FL9", "quantity": 1}]},
     ("fulfillmentLines", "GRAPHQL_ERROR",
      "Could not resolve to a node with the global id list of '['FL9']'.")),
    ({"fulfillmentLines": [{"fulfillmentLineId": "FL2", "quantity": 0}]},
     ("fulfillmentLineId", "INVALID_QUANTITY",
      "The fake refuses a quantity below 1 (Saleor records it).")),
    ({"orderLines": [{"orderLineId": OTHER, "quantity": 1}],
      "fulfillmentLines": [{"fulfillmentLineId": "FL2", "quantity": 1}]}, None),
])
def test_the_fake_refuses_what_saleor_refuses_with_its_order_error(
    lines: dict[str, object], refused: tuple[str, str, str] | None,
) -> None:
    """The fake Saleor's check of a return, as Saleor's ``clean_input`` answers it; a quantity
    below 1 is the fake's own refusal (Saleor records a 0-unit line)."""
    order = {**_order(("F1", "FULFILLED", [("FL2", 1, LINE)]),
                      ("F3", "REPLACED", [("FL4", 1, LINE)])),
             "lines": [{"id": LINE, "quantity": 2, "quantityFulfilled": 2},
                       {"id": OTHER, "quantity": 2, "quantityFulfilled": 0}]}

    error = refused_return(order, lines)

    assert error == (None if refused is None else dict(zip(("field", "code", "message"),
                                                              refused, strict=True)))
