"""A cheaper exchange that has not failed (Shirt M for Shirt S, ready to ship, its 10.00
difference held for the shirt) whose review is opened again (here: what the parcel showed) and
a person declines: the exchange goes ahead, so the customer is not told their return "could
not be accepted"; they are told the exchange goes ahead and the 10.00 is not paid back
automatically (the decline canceled it)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from refunds_plugin.intake.reviews import decide
from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.reviews import open_review
from refunds_plugin.ledger.tables import exchanges, refund_attempts
from tests.fakes.smtp_sink import SmtpSink
from tests.integration.shipping.conftest import Returns
from tests.integration.shipping.test_exchange_triggers import POLICY, SHIRT, swap

pytestmark = pytest.mark.usefixtures("erp")
NOT_ACCEPTED = "Our team looked at your return and could not accept it."
NOTE = "The shirt came back worn."


def test_declining_a_reopened_exchange_that_goes_ahead_says_so(
    returns_service: Callable[..., Returns], smtp: SmtpSink,
) -> None:
    r: Returns = returns_service(POLICY + "  ship_on: approval\n", mail_url=smtp.url,
                                 mail_from="Shirts <returns@shirts.example>")
    r.paid(lines=SHIRT, shipping=0)
    decision = str(r.ask(lines=swap("SHIRT-S", "Shirt S", 2000))["decision_id"])
    assert r.h.runtime.exchanges is not None
    r.h.runtime.exchanges.run_once()
    r.h.drain()
    with write_tx(r.h.runtime.engine) as conn:
        open_review(conn, decision, "received_mismatch: worn", r.h.clock())
    before = len(smtp.received)

    decide(r.h.runtime.engine, r.h.runtime.service, decision, approve=False, by="Ada",
           note="worn", customer_note=NOTE, now=r.h.clock())
    r.h.drain()

    [mail] = smtp.received[before:]
    text, html = mail.part("plain"), mail.part("html")
    assert NOT_ACCEPTED not in text and NOT_ACCEPTED not in html
    assert text.split("\n\n")[:3] == [
        "Our team looked at your exchange again: it goes ahead as agreed.",
        "The 10.00 USD for the price difference will not be paid back to you automatically.",
        f"A note from our team: {NOTE}"]
    assert "<p>The 10.00 USD for the price difference will not be paid back to you " \
           "automatically.</p>" in html
    [row] = r.h.rows(exchanges)
    assert row.status == "ready"  # it goes ahead
    page = r.status_page(decision)
    assert NOT_ACCEPTED not in page
    assert page.count("Our team looked at your exchange again: it goes ahead as agreed.") == 1
    assert [(a.amount, a.status) for a in r.h.rows(refund_attempts)] == [(1000, "canceled")]
