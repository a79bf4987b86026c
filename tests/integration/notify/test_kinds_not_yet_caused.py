"""The kinds whose causes land with other work (the return-by reminder and the item received
with the physical-return issue, the withdrawal receipt with the EU withdrawal function, now
caused by ``intake/withdrawals.py``: ``tests/integration/withdrawal/``): rendered and
delivered through the real SMTP server, given an enqueued row; and the one-call cause functions
(``notify.causes``) those rooms call."""

from __future__ import annotations

from datetime import UTC, datetime

from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.tables import outbox
from refunds_plugin.notify import causes
from refunds_plugin.notify.outbox import enqueue
from tests.fakes import Clock, Harness, order_paid, return_requested
from tests.fakes.smtp_sink import SmtpSink
from tests.fakes.stripe_api import FakeStripe

DECISION = {"decision_id": "d-9", "order_id": "1001", "order_number": "1001",
            "currency": "EUR", "amount": 4500, "refund_amount": 4500, "credit_amount": 0,
            "explanation": "Your return of 1 × Lamp is approved.",
            "items": [{"line_id": "l1", "name": "Lamp", "quantity": 1, "amount": 4500}]}


def _deliver(h: Harness, clock: Clock, cause: str, kind: str, context: dict[str, object]) -> None:
    with write_tx(h.runtime.engine) as conn:
        assert enqueue(conn, cause=cause, kind=kind, recipient="ann@example.com",
                       now=clock.now, context=context)
        assert not enqueue(conn, cause=cause, kind=kind, recipient="ann@example.com",
                           now=clock.now, context=context)  # the same cause: nothing new
    h.drain()


def test_the_withdrawal_receipt_states_the_statement_and_the_time_of_receipt_to_the_second(
    mail_shop: Harness, smtp: SmtpSink, clock: Clock
) -> None:
    context = {"withdrawal_id": "w-1", "name": "Ann Example", "order_id": "1001",
               "order_number": "1001",
               "lines": [{"name": "Lamp", "quantity": 1}, {"name": "Shade", "quantity": 2}],
               "statement": "I hereby withdraw from my contract for the items below.",
               "received_at": "2026-11-24T12:00:07.531+00:00"}
    _deliver(mail_shop, clock, "withdrawal:w-1", "withdrawal_receipt", context)

    [mail] = smtp.received
    assert mail.subject == "Receipt of your withdrawal from order 1001"
    assert mail.part("plain") == (
        "We received your withdrawal from the contract on 24 November 2026, 12:00:07 UTC.\n\n"
        "Your statement:\nI hereby withdraw from my contract for the items below.\n\n"
        "Name: Ann Example\nOrder: 1001\n- 1 × Lamp\n- 2 × Shade\n\n"
        "Keep this email: it is your confirmation of the content of your withdrawal and the "
        "date and time we received it.\n")
    assert "24 November 2026, 12:00:07 UTC" in mail.part("html")
    assert "<li>2 × Shade</li>" in mail.part("html")
    [row] = mail_shop.rows(outbox)
    assert (row.cause, row.status, row.tries) == ("withdrawal:w-1", "sent", 1)


def test_the_return_by_reminder_names_the_date_and_the_label(
    mail_shop: Harness, smtp: SmtpSink, clock: Clock
) -> None:
    context = {**DECISION, "return_by": "2026-12-08T23:59:59+00:00",
               "label_url": "https://labels.example/l-1.pdf", "return_instructions": None,
               "qr_code_url": None}
    _deliver(mail_shop, clock, "return:d-9:reminder-1", "return_reminder", context)

    [mail] = smtp.received
    assert mail.subject == \
        "Reminder: please send back your return for order 1001 by 8 December 2026"
    assert "Please send it by 8 December 2026 so we can complete it." in mail.part("plain")
    assert "Your return label: https://labels.example/l-1.pdf" in mail.part("plain")
    assert 'href="https://labels.example/l-1.pdf"' in mail.part("html")


def test_the_item_received_email_says_when_and_what_comes_back(
    mail_shop: Harness, smtp: SmtpSink, clock: Clock
) -> None:
    context = {**DECISION, "received_at": "2026-11-30T09:15:00+00:00"}
    _deliver(mail_shop, clock, "return:d-9", "item_received", context)

    [mail] = smtp.received
    assert mail.subject == "We received your return for order 1001"
    assert mail.part("plain").startswith(
        "Your returned item arrived on 30 November 2026:\n\n- 1 × Lamp: 45.00 EUR\n\n"
        "We are sending 45.00 EUR back to you now; we will write again when it is on its way.")


def test_the_cause_functions_other_rooms_call_enqueue_each_message_once(
    mail_shop: Harness, fake_stripe: FakeStripe, smtp: SmtpSink, clock: Clock
) -> None:
    h = mail_shop
    fake_stripe.add_payment_intent(5500, "usd", "pi_123")
    h.post_storefront(order_paid())
    decision_id = h.post_storefront(return_requested()).json["decision_id"]  # type: ignore[index]
    h.drain()
    before = len(smtp.received)
    received_at = datetime(2026, 11, 30, 9, 15, 7, 250_000, tzinfo=UTC)

    for _ in range(2):  # the same causes twice: one message each
        with write_tx(h.runtime.engine) as conn:
            causes.return_reminder(conn, decision_id=decision_id, now=clock.now,
                                   return_by=datetime(2026, 12, 8, 23, 59, tzinfo=UTC),
                                   extra={"label_url": "https://labels.example/l-1.pdf"})
            causes.return_received(conn, decision_id=decision_id, received_at=received_at,
                                   now=clock.now)
            causes.return_expired(conn, decision_id=decision_id, now=clock.now)
            causes.withdrawal_received(
                conn, withdrawal_id="w-1", name="Ann Example", email="ann@example.com",
                order_id="1001", lines=[{"name": "Mug", "quantity": 1}],
                statement="I withdraw from the contract.", received_at=received_at,
                now=clock.now)
        h.drain()

    assert [m.subject for m in smtp.received[before:]] == [
        "Reminder: please send back your return for order 1001 by 8 December 2026",
        "We received your return for order 1001",
        "Your return for order 1001 has expired",
        "Receipt of your withdrawal from order 1001",
    ]
    assert "Your return label: https://labels.example/l-1.pdf" in \
        smtp.received[before].part("plain")
    assert "arrived on 30 November 2026" in smtp.received[before + 1].part("plain")
    assert "on 30 November 2026, 09:15:07 UTC." in smtp.received[before + 3].part("plain")
    events = {r.kind: r.cause for r in h.rows(outbox) if r.channel == "event"}
    assert {k: v for k, v in events.items() if k not in ("return.decided",
                                                         "refund.succeeded")} == {
        "return.received": f"return:{decision_id}", "return.expired": f"return:{decision_id}",
        "withdrawal.received": "withdrawal:w-1"}
