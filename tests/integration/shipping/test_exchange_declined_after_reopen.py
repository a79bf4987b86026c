"""A cheaper exchange approved by the policy (10.00 paid back for the difference), whose new item
then sold out, goes back to a person; when that person declines to take it up again, the
customer is not told their return "could not be accepted" (it was approved, and money moved):
the email says the new item will not be sent, and that the 10.00 already paid back stays
theirs (only when it did go back)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from refunds_plugin.finance.summary import summarize
from refunds_plugin.intake.reviews import decide
from refunds_plugin.ledger.tables import exchanges, refund_attempts, reviews
from tests.fakes.smtp_sink import SmtpSink
from tests.integration.shipping.conftest import Returns
from tests.integration.shipping.test_exchange_out_of_stock import sold_out
from tests.integration.shipping.test_exchange_triggers import POLICY, SHIRT, swap

pytestmark = pytest.mark.usefixtures("erp")
NOT_ACCEPTED = "Our team looked at your return and could not accept it."


NOTE = "We are sorry: that shirt is gone for good."


def _declined(returns_service: Callable[..., Returns], smtp: SmtpSink, *,
              delivered: bool) -> tuple[Returns, Any]:
    """Shirt M swapped for the cheaper Shirt S (ready at approval), the shirt delivered back
    (``delivered``: its 10.00 difference goes back) or not, then Shirt S sold out and a person
    declines the reopened review: (the shop, the one email that decline sent)."""
    r = returns_service(POLICY + "  ship_on: approval\n", mail_url=smtp.url,
                        mail_from="Shirts <returns@shirts.example>")
    r.paid(lines=SHIRT, shipping=0)
    decision = str(r.ask(lines=swap("SHIRT-S", "Shirt S", 2000))["decision_id"])
    assert r.h.runtime.exchanges is not None
    r.h.runtime.exchanges.run_once()
    r.labels()  # its label bought
    if delivered:
        code = r.shipment().tracking_code
        assert r.track("evt_scan_1", code, "delivered").status_code == 200
    r.h.drain()  # delivered: the 10.00 goes back (an instant exchange waits for the shirt)
    assert sold_out(r, "sf_so_1", decision, ["SHIRT-S"]).status_code == 200
    [review] = r.h.rows(reviews)
    assert review.status == "open"
    before = len(smtp.received)
    moved = [(a.amount, a.status) for a in r.h.rows(refund_attempts)]
    assert moved == [(1000, "succeeded" if delivered else "held")]

    decide(r.h.runtime.engine, r.h.runtime.service, decision, approve=False, by="Ada",
           note="no more shirts", customer_note=NOTE, now=r.h.clock())
    r.h.drain()
    [mail] = smtp.received[before:]
    return r, mail


def test_declining_a_sold_out_exchange_taken_up_again_does_not_say_the_return_was_refused(
    returns_service: Callable[..., Returns], smtp: SmtpSink,
) -> None:
    r, mail = _declined(returns_service, smtp, delivered=True)

    text, html = mail.part("plain"), mail.part("html")
    assert NOT_ACCEPTED not in text and NOT_ACCEPTED not in html
    assert text.split("\n\n")[:3] == [
        "Our team looked at your exchange again: your new item cannot be sent, so the "
        "exchange will not go ahead.",
        "The 10.00 USD already paid back to you for the price difference stays yours.",
        f"A note from our team: {NOTE}"]
    assert "<p>The 10.00 USD already paid back to you for the price difference stays yours." \
           "</p>" in html
    # nothing more moved, and the exchange stays ended
    assert [(a.amount, a.status) for a in r.h.rows(refund_attempts)] == [(1000, "succeeded")]


def test_the_status_page_of_a_declined_exchange_says_it_ends_not_that_the_return_was_refused(
    returns_service: Callable[..., Returns], smtp: SmtpSink,
) -> None:
    r, _ = _declined(returns_service, smtp, delivered=True)
    [row] = r.h.rows(exchanges)

    page = r.status_page(row.decision_id)

    assert NOT_ACCEPTED not in page
    assert "We could not ship your new item yet; our team will contact you." not in page
    assert page.count("Our team looked at your exchange again: your new item cannot be sent, "
                      "so the exchange will not go ahead.") == 1
    assert "Refund to your original payment: 10.00 USD" in page  # what did go back, as before
    [row] = r.h.rows(exchanges)
    assert row.status == "failed"


def test_a_declined_exchange_whose_difference_never_went_back_does_not_say_it_did(
    returns_service: Callable[..., Returns], smtp: SmtpSink,
) -> None:
    r, mail = _declined(returns_service, smtp, delivered=False)

    text = mail.part("plain")
    assert NOT_ACCEPTED not in text and "paid back" not in text
    assert text.split("\n\n")[:2] == [
        "Our team looked at your exchange again: your new item cannot be sent, so the "
        "exchange will not go ahead.",
        f"A note from our team: {NOTE}"]
    # the decline canceled the 10.00 that waited for the shirt: none of it moved
    assert [(a.amount, a.status) for a in r.h.rows(refund_attempts)] == [(1000, "canceled")]


def test_a_failed_exchange_is_no_sale_kept_in_the_finance_summary(
    returns_service: Callable[..., Returns], smtp: SmtpSink,
) -> None:
    """Its new item sold out, a person to decide: the finance summary does not count it among
    the sales kept (as the insights call it not known yet), nor its 20.00 as retained; once a
    person approves it again (it is taken up again), it counts as before."""
    r = returns_service(POLICY + "  ship_on: approval\n")
    r.paid(lines=SHIRT, shipping=0)
    decision = str(r.ask(lines=swap("SHIRT-S", "Shirt S", 2000))["decision_id"])
    assert r.h.runtime.exchanges is not None
    r.h.runtime.exchanges.run_once()
    r.h.drain()

    def kept() -> tuple[int, int, int]:
        now = r.h.clock()
        [usd] = summarize(r.h.runtime.engine, now - timedelta(days=1), now + timedelta(days=1),
                          now).totals.values()
        return usd.exchanges, usd.exchange_retained, usd.exchange_charged

    assert kept() == (1, 2000, 0)  # Shirt M's 30.00 less the 10.00 going back
    assert sold_out(r, "sf_so_1", decision, ["SHIRT-S"]).status_code == 200
    [row] = r.h.rows(exchanges)
    assert row.status == "failed"
    assert kept() == (0, 0, 0)

    decide(r.h.runtime.engine, r.h.runtime.service, decision, approve=True, by="Ada",
           note="found one in the back", now=r.h.clock())
    [row] = r.h.rows(exchanges)
    assert row.status != "failed"
    assert kept() == (1, 2000, 0)
