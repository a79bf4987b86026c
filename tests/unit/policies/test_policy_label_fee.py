"""No label, no label fee: the policy takes ``return_shipping.fee`` only where the shop can buy
the label, a fact the service passes in (``OrderFacts.can_label``), and never with
``label: none``."""

from __future__ import annotations

from dataclasses import replace

import pytest

from policies import evaluate, load_policy_text
from refunds_plugin.domain.facts import OrderLine, ReturnLine, ReturnRequest
from refunds_plugin.domain.kinds import Reason
from tests.unit.policies.policy_builders import NOW, order

LABELS = load_policy_text("""
currency: USD
window: {days: 30}
return_shipping: {label: easypost, paid_by: customer, fee: "4.00"}
""", "label-fee-test")


@pytest.mark.parametrize(("can_label", "refund", "fees"), [
    (True, 2100, [("return_shipping", 400)]),
    (False, 2500, []),
])
def test_the_label_fee_is_taken_only_where_a_label_can_be_bought(
    can_label: bool, refund: int, fees: list[tuple[str, int]],
) -> None:
    mug = OrderLine("l1", "MUG-1", "Mug", 1, 2500)
    facts = replace(order(lines=(mug,), shipping=0), can_label=can_label)
    req = ReturnRequest("ret-1", "1001", (ReturnLine("l1", 1, Reason.CHANGED_MIND),))

    d = evaluate(LABELS, facts, req, NOW)

    assert (d.refund_amount, [(f.code, f.amount) for f in d.fees]) == (refund, fees)
    assert ("4.00 USD" in d.explanation) is can_label


def test_a_policy_without_labels_takes_no_label_fee() -> None:
    pol = load_policy_text('currency: USD\nwindow: {days: 30}\n'
                           'return_shipping: {label: none, paid_by: customer, fee: "4.00"}\n',
                           "no-label")
    mug = OrderLine("l1", "MUG-1", "Mug", 1, 2500)
    req = ReturnRequest("ret-1", "1001", (ReturnLine("l1", 1, Reason.CHANGED_MIND),))

    d = evaluate(pol, order(lines=(mug,), shipping=0), req, NOW)

    assert (d.refund_amount, d.fees) == (2500, ())
