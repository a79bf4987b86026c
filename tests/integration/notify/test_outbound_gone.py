"""An endpoint that answers 410 Gone takes no more events (Standard Webhooks: "stop sending"):
that message is ``gone`` at once (a status of its own, not words in its note), and every later
event waits, recorded and untried, until the operator sends the refused message again, which
re-enables the endpoint. Before, only that one message stopped: the endpoint kept receiving
every later event, and nobody was told."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from refunds_plugin.finance.tokens import create_token
from refunds_plugin.ledger.tables import outbox, refund_attempts
from refunds_plugin.notify.outbox import resend_message
from tests.fakes import Clock, Harness, order_paid, return_requested
from tests.fakes.outbound_receiver import HOOK, SECRET, Receiver
from tests.fakes.stripe_api import FakeStripe

GONE_ERROR = f"{HOOK} answered 410 Gone: it no longer takes our events"


def _events(h: Harness) -> list[Any]:
    return sorted((r for r in h.rows(outbox) if r.channel == "event"), key=lambda r: r.seq)


def _gauges(h: Harness) -> list[str]:
    """The two gauges' sample lines, as /metrics says them."""
    text = h.client().get("/metrics").get_data(as_text=True)
    return [
        ln
        for ln in text.splitlines()
        if ln.startswith(("refunds_outbound_endpoint_gone ", "refunds_outbound_events_waiting "))
    ]


def _return(h: Harness, fake: FakeStripe, order: str, pi: str) -> None:
    fake.add_payment_intent(5500, "usd", pi)
    h.post_storefront(order_paid(order, reference=pi))
    assert h.post_storefront(return_requested(f"r-{order}", order)).status_code == 201


def test_a_410_stops_every_later_event_until_the_refused_one_is_sent_again(
    mail_shop_with: Callable[..., Harness],
    fake_stripe: FakeStripe,
    erp: Callable[..., Receiver],
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    receiver = erp(gone=True)
    h = mail_shop_with(mail_url="", outbound_url=HOOK, outbound_secret=SECRET)
    with caplog.at_level(logging.ERROR, logger="refunds.courier"):
        _return(h, fake_stripe, "1001", "pi_1")
        h.drain()

    assert [a.status for a in h.rows(refund_attempts)] == ["succeeded"]  # money moved anyway
    [gone, waiting] = _events(h)
    assert (gone.kind, gone.status, gone.tries, gone.last_error, gone.note) == (
        "return.decided",
        "gone",
        1,
        GONE_ERROR,
        None,
    )
    # the batch's other event was not sent, and its claim was handed back uncounted
    assert (waiting.kind, waiting.status, waiting.tries) == ("refund.succeeded", "queued", 0)
    assert [i for i, _ in receiver.deliveries] == [gone.id]
    [said] = [r.getMessage() for r in caplog.records if "410" in r.getMessage()]
    assert said == (
        f"REFUNDS_OUTBOUND_URL {HOOK} answered 410 Gone: no more events are sent to it; they "
        f"wait, recorded, until message {gone.id} is sent again (`refunds outbox resend "
        f"{gone.id}`, or Resend on /finance/outbox)"
    )

    # later events wait too: recorded, never tried, however long
    _return(h, fake_stripe, "1002", "pi_2")
    for _ in range(3):
        clock.advance(3600)
        h.drain()
    assert [(r.kind, r.status, r.tries) for r in _events(h)] == [
        ("return.decided", "gone", 1),
        ("refund.succeeded", "queued", 0),
        ("return.decided", "queued", 0),
        ("refund.succeeded", "queued", 0),
    ]
    assert len(receiver.deliveries) == 1

    # finance sees it on the outbox page, and /metrics says so
    token = create_token(h.runtime.engine, "Fin", "finance", clock.now).secret
    page = h.client().get("/finance/outbox/", headers={"Authorization": f"Bearer {token}"})
    text = page.get_data(as_text=True)
    assert "Your systems’ endpoint answered 410 Gone" in text
    assert "3 events wait" in text and gone.id in text
    assert "gone: 1" in text  # its own status, counted
    admin = create_token(h.runtime.engine, "Ada", "admin", clock.now).secret
    shown = h.client().get("/finance/outbox/", headers={"Authorization": f"Bearer {admin}"})
    forms = shown.get_data(as_text=True).count("/resend")  # a Resend on the gone one alone
    assert forms == 1 and f"/finance/outbox/{gone.id}/resend" in shown.get_data(as_text=True)
    assert _gauges(h) == ["refunds_outbound_endpoint_gone 1", "refunds_outbound_events_waiting 3"]

    # the operator re-enables it by sending the refused message again: each event arrives once
    receiver.gone = False
    assert resend_message(h.runtime.engine, gone.id, "Ada", clock.now)
    h.drain()
    assert sorted(i for i, _ in receiver.verified) == sorted(r.id for r in _events(h))
    assert [(r.status, r.tries) for r in _events(h)] == [("sent", 1)] * 4
    assert len(receiver.deliveries) == 1 + 4  # the 410, then each event once
    assert _gauges(h) == ["refunds_outbound_endpoint_gone 0", "refunds_outbound_events_waiting 0"]


def test_a_mail_is_not_held_back_by_a_gone_endpoint(
    mail_shop_with: Callable[..., Harness],
    fake_stripe: FakeStripe,
    erp: Callable[..., Receiver],
) -> None:
    erp(gone=True)
    h = mail_shop_with(outbound_url=HOOK, outbound_secret=SECRET)
    _return(h, fake_stripe, "1001", "pi_1")
    h.drain()

    mails = [r for r in h.rows(outbox) if r.channel == "mail"]
    assert {r.status for r in mails} == {"sent"}
    assert [r.status for r in _events(h)] == ["gone", "queued"]
