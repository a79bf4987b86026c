"""A dearer size whose Checkout Session Stripe could not make at once (the worker tries again):
the answer and the status page say the payment link is on its way, not "waiting for your
payment" with nothing to pay at, and no money moved."""

from __future__ import annotations

import re

from sqlalchemy import select

from refunds_plugin.ledger.tables import exchanges, refund_attempts
from tests.fakes.returns_client import open_form, submit, text, words
from tests.fakes.returns_shop import ReturnsShop
from tests.fakes.stripe_api import FakeStripeServer
from tests.web.returns.test_returns_exchange import swap_shop  # noqa: F401  (the fixture)

ON_ITS_WAY = ("We are preparing the link to pay the difference of 5.00 USD: we will email it to "
              "you, and it will be on this page.")


def test_a_payment_link_not_made_yet_is_said_to_be_on_its_way(
    swap_shop: ReturnsShop, stripe_server: FakeStripeServer,  # noqa: F811
) -> None:
    stripe_server.fake.fail_next(1, 500)
    client = swap_shop.app.test_client()

    sent = submit(client, open_form(client), **{"line-1-qty": "1", "line-1-reason": "too_small",
                                                "line-1-exchange": "TEE-L"})

    assert sent.status_code == 200, sent.get_data(as_text=True)
    with swap_shop.runtime.engine.connect() as conn:
        [row] = conn.execute(select(exchanges)).all()
    assert (row.status, row.checkout_url, row.tries) == ("awaiting_payment", None, 1)
    assert not stripe_server.fake.checkout_sessions and not swap_shop.rows(refund_attempts)
    assert words(sent, "exchange-pay") == [ON_ITS_WAY]
    link = re.search(r'id="status-link" href="([^"]+)"', sent.get_data(as_text=True))
    assert link
    status = text(client.get(link.group(1)))
    assert ON_ITS_WAY in status
    assert "Waiting for your payment of the difference." not in status
