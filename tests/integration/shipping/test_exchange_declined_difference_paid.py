"""A dearer exchange whose difference the customer paid (5.00), which then failed and went back
to a person, who declines to take it up again: nothing pays the 5.00 back (no attempt is made,
the decline moves no money), and the customer's email says so instead of leaving it out."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from refunds_plugin.exchanges.shipping import tell_a_person
from refunds_plugin.intake.reviews import decide
from refunds_plugin.ledger import exchanges as exchange_rows
from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.tables import exchanges, refund_attempts
from tests.fakes import stripe_event
from tests.fakes.outbound_receiver import ANNOUNCED
from tests.fakes.smtp_sink import SmtpSink
from tests.integration.shipping.conftest import Returns
from tests.integration.shipping.test_exchange_out_of_stock_paid import SHIRT
from tests.integration.shipping.test_exchange_triggers import POLICY, swap

pytestmark = pytest.mark.usefixtures("erp")
NOTE = "We are sorry: that shirt is gone."


def test_declining_a_failed_exchange_says_the_paid_difference_is_not_refunded_automatically(
    returns_service: Callable[..., Returns], smtp: SmtpSink,
) -> None:
    r = returns_service(POLICY + "  ship_on: approval\n", label=False, mail_url=smtp.url,
                        mail_from="Shirts <returns@shirts.example>", **ANNOUNCED)
    r.paid(lines=SHIRT, shipping=0)
    decision = str(r.ask(lines=swap("SHIRT-XL", "Shirt XL", 3500))["decision_id"])
    [cs_id] = r.stripe.fake.checkout_sessions
    paid = r.stripe.fake.complete_session(cs_id)
    assert r.h.post_stripe(stripe_event("evt_cs_1", "checkout.session.completed",
                                        paid)).status_code == 200
    r.h.drain()
    with write_tx(r.h.runtime.engine) as conn:  # the replacement could not be made
        row = exchange_rows.get_exchange(conn, decision)
        assert row is not None
        assert exchange_rows.note_failure(conn, row, "saleor refused", r.h.clock(),
                                          give_up=True)
        tell_a_person(conn, row, "saleor refused", r.h.clock())
    before = len(smtp.received)
    moved = [(a.amount, a.status) for a in r.h.rows(refund_attempts)]

    decide(r.h.runtime.engine, r.h.runtime.service, decision, approve=False, by="Ada",
           note="no more shirts", customer_note=NOTE, now=r.h.clock())
    r.h.drain()

    [mail] = smtp.received[before:]
    text, html = mail.part("plain"), mail.part("html")
    assert text.split("\n\n")[:3] == [
        "Our team looked at your exchange again: your new item cannot be sent, so the "
        "exchange will not go ahead.",
        "The 5.00 USD you paid for the price difference is not refunded to you automatically.",
        f"A note from our team: {NOTE}"]
    assert "<p>The 5.00 USD you paid for the price difference is not refunded to you " \
           "automatically.</p>" in html
    [ex] = r.h.rows(exchanges)
    assert (ex.status, ex.charge_amount, ex.paid_at is not None) == ("failed", 500, True)
    assert [(a.amount, a.status) for a in r.h.rows(refund_attempts)] == moved  # none moved
