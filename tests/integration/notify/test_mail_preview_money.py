"""A money email is previewed only for the money a decision moves: the refund's email about a
store-credit decision would say "Your refund of 0.00 … is on its way", so it is refused, naming
the emails that apply; the store credit's own email shows its amount."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import CliRunner

from refunds_plugin.cli import main
from refunds_plugin.finance.tokens import create_token
from tests.fakes import Clock, Harness, order_paid, return_requested
from tests.fakes.stripe_api import FakeStripe


def test_the_refund_email_of_a_store_credit_decision_is_refused_naming_the_ones_that_apply(
    mail_shop_with: Callable[..., Harness], fake_stripe: FakeStripe,
    monkeypatch: pytest.MonkeyPatch, clock: Clock,
) -> None:
    h = mail_shop_with(policy="preset:credit-first")
    if h.runtime.engine.dialect.name != "sqlite":
        pytest.skip("the CLI reads REFUNDS_DATABASE_URL; one database is enough")
    fake_stripe.add_payment_intent(5500, "usd", "pi_123")
    h.post_storefront(order_paid())
    answer = h.post_storefront(return_requested(preferred="credit")).json
    assert answer is not None and (answer["outcome"], answer["resolution"]) == (
        "approve", "credit")
    decision_id = answer["decision_id"]
    monkeypatch.setenv("REFUNDS_DATABASE_URL", h.db_url)
    monkeypatch.setenv("REFUNDS_POLICY", "preset:credit-first")
    runner = CliRunner()

    refund = runner.invoke(main, ["mail", "preview", "refund_sent", "--decision", decision_id])
    assert (refund.exit_code, refund.output) == (2, (
        f"Error: decision {decision_id} gives store credit: the 'refund_sent' email is never "
        f"sent for it; the money emails that apply to it: credit_issued, refund_failed "
        f"(refunds mail preview credit_issued --decision {decision_id})\n"))
    credit = runner.invoke(main, ["mail", "preview", "credit_issued", "--decision", decision_id])
    assert credit.exit_code == 0, credit.output
    assert credit.output.startswith(
        "To: ann@example.com\nSubject: Your store credit of 27.50 USD for order 1001\n\n"
        "Your store credit of 27.50 USD is ready.\nIt includes a bonus of 2.50 USD from us.\n")

    token = create_token(h.runtime.engine, "Fin", "finance", clock.now).secret
    page = h.app.test_client().get(
        f"/finance/outbox/preview?kind=refund_sent&decision={decision_id}",
        headers={"Authorization": f"Bearer {token}"})
    assert page.status_code == 400
    assert (f"decision {decision_id} gives store credit: the &#39;refund_sent&#39; email is "
            "never sent for it") in page.get_data(as_text=True)
