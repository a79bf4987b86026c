"""A dearer exchange whose difference the customer paid (5.00), which then failed and went back
to a person, who declines to take it up again: the customer will not get the new item, so the
5.00 they paid for it goes back to the card they paid it with, once, through a refund attempt
(never counted as a refund of the sale); the email says so, and finance's decision page and
summary show it. A difference paid before its PaymentIntent was recorded opens a follow-up
naming the amount instead."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from refunds_plugin.exchanges.shipping import tell_a_person
from refunds_plugin.finance.tokens import create_token
from refunds_plugin.intake.reviews import decide
from refunds_plugin.ledger import exchanges as exchange_rows
from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.tables import exchanges, follow_ups, refund_attempts
from tests.fakes import stripe_event
from tests.fakes.outbound_receiver import ANNOUNCED
from tests.fakes.smtp_sink import SmtpSink
from tests.integration.shipping.conftest import Returns
from tests.integration.shipping.test_exchange_out_of_stock_paid import SHIRT
from tests.integration.shipping.test_exchange_triggers import POLICY, swap

pytestmark = pytest.mark.usefixtures("erp")
NOTE = "We are sorry: that shirt is gone."


def failed_after_payment(returns_service: Callable[..., Returns], smtp: SmtpSink
                         ) -> tuple[Returns, str, dict[str, Any]]:
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
    return r, decision, paid


def test_declining_a_failed_exchange_refunds_the_paid_difference_once_and_says_so(
    returns_service: Callable[..., Returns], smtp: SmtpSink,
) -> None:
    r, decision, paid = failed_after_payment(returns_service, smtp)
    before = len(smtp.received)
    assert [(a.amount, a.status) for a in r.h.rows(refund_attempts)] == []

    decide(r.h.runtime.engine, r.h.runtime.service, decision, approve=False, by="Ada",
           note="no more shirts", customer_note=NOTE, now=r.h.clock())
    r.h.drain()
    r.h.drain()

    pi = paid["payment_intent"]
    [attempt] = r.h.rows(refund_attempts)
    assert (attempt.decision_id, attempt.seq, attempt.kind, attempt.amount, attempt.currency,
            attempt.payment_reference, attempt.status) == (
        decision, 950, "refund", 500, "USD", pi, "succeeded")
    assert r.stripe.fake.refunded(pi) == 500
    assert r.stripe.fake.refunded("pi_1001") == 0
    assert len(r.stripe.fake.calls_to("POST", "/v1/refunds")) == 1
    assert [b for _, b in r.journal("exchange_difference_refunded")] == [
        {"amount": 500, "currency": "USD", "why": "a person declined the failed exchange",
         "refund_attempt_id": attempt.id}]
    mails = smtp.received[before:]
    [mail] = [m for m in mails if "About your return" in m.subject]
    text, html = mail.part("plain"), mail.part("html")
    assert text.split("\n\n")[:3] == [
        "Our team looked at your exchange again: your new item cannot be sent, so the "
        "exchange will not go ahead.",
        "We are refunding the 5.00 USD you paid for the price difference to the card you paid "
        "it with.",
        f"A note from our team: {NOTE}"]
    assert "<p>We are refunding the 5.00 USD you paid for the price difference to the card " \
           "you paid it with.</p>" in html
    [ex] = r.h.rows(exchanges)
    assert (ex.status, ex.charge_amount, ex.payment_reference) == ("failed", 500, pi)
    assert r.h.rows(follow_ups) == []
    assert r.h.chain_problem() is None

    # finance sees the difference and its refund, and counts it as no sale's refund
    token = create_token(r.h.runtime.engine, "Fin", "finance", r.h.clock()).secret
    auth = {"Authorization": f"Bearer {token}"}
    page = r.h.client().get(f"/finance/decisions/{decision}", headers=auth)
    assert page.status_code == 200
    shown = page.get_data(as_text=True)
    assert (f"<dt>Difference paid</dt><dd>5.00 USD ({pi}): refunded (succeeded)</dd>"
            in shown)
    since = (r.h.clock() - timedelta(days=2)).date().isoformat()
    summary = r.h.client().get(f"/api/summary?since={since}", headers=auth).json
    assert summary is not None
    [usd] = summary["totals"]
    assert (usd["exchange_charged"], usd["refunded"]) == (0, 0)


def test_a_difference_whose_payment_was_not_recorded_goes_to_a_person_with_its_amount(
    returns_service: Callable[..., Returns], smtp: SmtpSink,
) -> None:
    r, decision, _paid = failed_after_payment(returns_service, smtp)
    with write_tx(r.h.runtime.engine) as conn:  # paid before revision 0035, no event kept
        conn.execute(update(exchanges).values(payment_reference=None))
    before = len(smtp.received)

    decide(r.h.runtime.engine, r.h.runtime.service, decision, approve=False, by="Ada",
           note="no more shirts", customer_note=NOTE, now=r.h.clock())
    r.h.drain()

    assert r.h.rows(refund_attempts) == []
    assert r.stripe.fake.refunds == []
    [f] = r.h.rows(follow_ups)
    assert (f.kind, f.subject, f.amount, f.currency, f.status) == (
        "exchange_difference_paid", decision, 500, "USD", "open")
    assert "the customer paid 5.00 USD for the price difference" in f.detail
    [mail] = [m for m in smtp.received[before:] if "About your return" in m.subject]
    assert mail.part("plain").split("\n\n")[1] == (
        "The 5.00 USD you paid for the price difference is not refunded to you "
        "automatically: a person on our team will refund it.")
    token = create_token(r.h.runtime.engine, "Fin", "finance", r.h.clock()).secret
    auth = {"Authorization": f"Bearer {token}"}
    listed = r.h.client().get("/finance/follow-ups", headers=auth).get_data(as_text=True)
    assert (f'paid difference to refund: <a href="/finance/decisions/{decision}">exchange '
            f"{decision}</a>") in listed
    page = r.h.client().get(f"/finance/decisions/{decision}", headers=auth)
    assert ("<dt>Difference paid</dt><dd>5.00 USD (PaymentIntent not recorded): not refunded, "
            "see follow-ups</dd>") in page.get_data(as_text=True)
