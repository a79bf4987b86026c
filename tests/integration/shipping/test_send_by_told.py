"""The send-by date the customer is told is the one the return closes on: with no grace the
return expires at the time of its approval on the told day, so that time is said with the day
(in every mail that tells it, and on the status page); with a grace past the day's end, the
day alone stays true."""

from __future__ import annotations

from collections.abc import Callable

from tests.fakes.outbound_receiver import Receiver
from tests.fakes.smtp_sink import SmtpSink
from tests.integration.shipping.conftest import Returns
from tests.integration.shipping.test_customer_messages import MUG, _round
from tests.integration.shipping.test_exchange_original_due import charge, expired_instant_swap
from tests.integration.shipping.test_exchange_triggers import POLICY

NO_GRACE = """currency: USD
window: {days: 365, start: payment}
return_shipping: {label: easypost, return_by_days: 30, grace_days: 0}
refund_on: first_scan
"""
DAY = 86400


def _texts(smtp: SmtpSink) -> dict[str, str]:
    return {m.subject: m.part("plain") for m in smtp.received}


def test_with_no_grace_each_mail_and_the_page_say_the_minute_the_return_closes(
    shop: Callable[..., Returns], smtp: SmtpSink, erp: Receiver,
) -> None:
    r = shop(NO_GRACE)
    r.paid()
    decision = r.ask(lines=MUG)["decision_id"]  # approved 24 November 2026, 12:00 UTC
    _round(r)
    r.h.clock.advance(25 * DAY + 60)  # five days (less a minute) before the date: reminded
    _round(r)
    mails = _texts(smtp)
    said = "24 December 2026, 11:59 UTC"
    assert f"\n\nSend it by {said}.\n\n" in mails["Your return for order 1001 is approved"]
    assert f"Your prepaid return label is ready. Please send it back by {said}." in \
        mails["Your return label for order 1001"]
    reminder = mails[f"Reminder: please send back your return for order 1001 by {said}"]
    assert f"We have not received your return yet. Please send it by {said} so we can " \
        "complete it." in reminder
    assert f'<p class="return-by">Please send it by {said}.</p>' in r.status_page(decision)

    r.h.clock.advance(5 * DAY - 120)  # 24 December, 11:59 UTC: still open, as told
    _round(r)
    assert r.shipment().status == "label_created"
    r.h.clock.advance(60)  # 12:00 UTC: closed
    _round(r)
    assert r.shipment().status == "expired"
    assert "We did not see your return sent by 24 December 2026, 11:59 UTC, so it has " \
        "expired." in _texts(smtp)["Your return for order 1001 has expired"]


def test_with_a_grace_past_the_day_the_day_alone_is_said(
    shop: Callable[..., Returns], smtp: SmtpSink, erp: Receiver,
) -> None:
    r = shop()  # grace_days: 7
    r.paid()
    decision = r.ask(lines=MUG)["decision_id"]
    _round(r)
    assert "\n\nSend it by 24 December 2026.\n\n" in \
        _texts(smtp)["Your return for order 1001 is approved"]
    assert '<p class="return-by">Please send it by 24 December 2026.</p>' in \
        r.status_page(decision)


def test_an_instant_exchange_with_no_grace_says_the_minute_its_original_was_due_by(
    returns_service: Callable[..., Returns], smtp: SmtpSink,
) -> None:
    r, _ = expired_instant_swap(returns_service, smtp,
                                policy=POLICY.replace("grace_days: 7", "grace_days: 0"))
    charge(r)
    r.h.drain()
    [mail] = [m for m in smtp.received if "has not arrived" in m.subject]
    assert "The original item did not arrive by 24 December 2026, 11:59 UTC. Its value of " \
        "20.00 USD is now due." in mail.part("plain")
