"""``refunds policy explain`` on the case the service decided (its stored facts and request)
gives the same decision as the signed storefront webhook's answer: outcome, amounts and the
very words the customer reads, thousands separators included (a JPY shop's amounts pass 1,000
on an ordinary order)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from refunds_plugin.cli import main
from refunds_plugin.ledger.tables import decisions
from tests.fakes import Harness, order_paid, return_requested
from tests.fakes.stripe_api import FakeStripe

POLICY = """\
name: tokyo
currency: JPY
window: {days: 30}
fees: {restocking_percent: 10, return_shipping: "890"}
resolution: {allow: [refund, credit], credit_bonus_percent: 5, credit_bonus_max: "3000"}
"""


def test_explain_on_the_services_case_says_what_the_customer_was_told(
    policy_harness: Callable[[str], Harness], fake_stripe: FakeStripe, tmp_path: Path,
) -> None:
    h = policy_harness(POLICY)
    lines = [{"id": "l1", "sku": "BOWL-1", "name": "Tea bowl", "quantity": 2,
              "unit_amount": 12345, "tags": []}]
    fake_stripe.add_payment_intent(25190, "JPY", "pi_jpy")
    assert h.post_storefront(order_paid(currency="JPY", lines=lines, shipping=500,
                                        reference="pi_jpy")).status_code == 200
    resp = h.post_storefront(return_requested(preferred="refund"))
    assert resp.status_code == 201 and resp.json is not None
    h.drain()
    answer = resp.json
    [row] = h.rows(decisions)
    case = tmp_path / "case.json"
    case.write_text(json.dumps({"now": row.created_at.isoformat(),
                                "facts": json.loads(row.facts),
                                "request": json.loads(row.request)}))
    policy = tmp_path / "tokyo.yaml"
    policy.write_text(POLICY)

    out = CliRunner().invoke(main, ["policy", "explain", "--policy", str(policy), "--input",
                                    str(case), "--json"],
                             env={"REFUNDS_STRIPE_API_KEY": "sk_live_fake"})

    assert out.exit_code == 0, out.output
    told = json.loads(out.stdout)
    # 12,345 less 10% restocking (1,234, half-even) and 890 return shipping
    said = ("Your return of 1 × Tea bowl is approved. We will refund 10,221 JPY to your "
            "original payment. We deducted 1,234 JPY 10% restocking fee and 890 JPY return "
            "shipping, as the return is not due to a fault of ours. Please send back: Tea "
            "bowl. The money will be on its way within 48 hours.")
    assert (answer["outcome"], answer["amount"], answer["refund_amount"],
            answer["explanation"]) == ("approve", 10221, 10221, said)
    assert (told["outcome"], told["reason_code"], told["amount"], told["explanation"]) == (
        answer["outcome"], answer["reason_code"], answer["amount"], said)
    assert [(f["code"], f["amount"]) for f in told["fees"]] == [("restocking", 1234),
                                                                 ("return_shipping", 890)]
