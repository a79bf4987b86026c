"""Finding our new refund request on a Saleor transaction after asking (or after a lost
answer): of our amount, or the one new request there is, smaller, where Saleor clamped ours."""

from __future__ import annotations

from typing import Any

from refunds_plugin.providers import Instruction
from refunds_plugin.providers.saleor.transactions import _new_request

INS = Instruction(attempt_id="a", decision_id="d", order_id="o", idempotency_key="k",
                  kind="refund", amount=2500, currency="USD", payment_reference="tx")


def tx(*requests: tuple[str, str]) -> dict[str, Any]:
    return {"events": [{"id": "ev0", "type": "CHARGE_SUCCESS",
                        "amount": {"amount": "50.00", "currency": "USD"}},
                       *({"id": i, "type": "REFUND_REQUEST",
                          "amount": {"amount": a, "currency": "USD"}} for i, a in requests)]}


def test_ours_is_the_new_request_of_our_amount() -> None:
    assert _new_request(tx(("old", "25.00"), ("new", "25.00")), ["old"], INS) == ("new", 2500)
    assert _new_request(tx(("new", "10.00"), ("ours", "25.00")), [], INS) == ("ours", 2500)


def test_a_clamped_request_is_ours_when_it_is_the_only_new_one() -> None:
    assert _new_request(tx(("old", "40.00"), ("new", "10.00")), ["old"], INS) == ("new", 1000)
    # two smaller new requests: which is ours cannot be told
    assert _new_request(tx(("a", "10.00"), ("b", "5.00")), [], INS) is None
    assert _new_request(tx(("old", "25.00")), ["old"], INS) is None
