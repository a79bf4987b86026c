"""The customer hears of their parcel as the carrier moves it (signed EasyPost trackers, a real
SMTP server): the first scan ("on its way to us"), the delivery to the shop ("we have your
parcel", and what that delivery lets go or what still waits for the check), and a parcel the
carrier fails or sends back ("here is what to do"). Each once per return and step, however
often the carrier says it or in whatever order; never "on its way" after "we have it"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import url_for

from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.tables import outbox
from refunds_plugin.shipping import returns
from tests.fakes.outbound_receiver import Receiver
from tests.fakes.smtp_sink import SmtpSink
from tests.integration.shipping.conftest import Returns
from webhooks.returns.views import status_token

DELIVERED = """currency: USD
window: {days: 365, start: payment}
return_shipping: {label: easypost, return_by_days: 30, grace_days: 7}
refund_on: delivered
"""
INSPECTED = DELIVERED.replace("refund_on: delivered", "refund_on: inspected")
MUG = [{"line_id": "l1", "quantity": 1, "reason": "changed_mind"}]
MUG_LINE = "- 1 × Mug: 25.00 USD\n\n"


def _labelled(
    shop: Callable[..., Returns], policy: str, locale: str | None = None
) -> tuple[Returns, str, str]:
    """A shop that mails its customers; order 1001 paid, its mug's return approved and its
    label bought, the mails so far sent: (the shop, the decision, the tracking code)."""
    r = shop(policy)
    r.paid(locale=locale)
    decision = r.ask(lines=MUG)["decision_id"]
    r.labels()
    r.h.drain()
    return r, decision, str(r.shipment().tracking_code)


def _link(r: Returns, decision: str) -> str:
    with r.h.app.test_request_context():
        path = url_for("returns.status", token=status_token(decision))
    return f"\nSee where your return stands at any time: https://returns.mugs.example{path}\n"


def _new(smtp: SmtpSink, before: int) -> list[tuple[str, str]]:
    return [(m.subject, m.part("plain")) for m in smtp.received[before:]]


def _parcel_rows(r: Returns) -> list[tuple[str, str, str]]:
    return sorted(
        (row.kind, row.cause, row.status)
        for row in r.h.rows(outbox)
        if row.kind.startswith("parcel_")
    )


def test_the_first_scan_and_the_delivery_are_told_once_each_with_what_each_lets_go(
    shop: Callable[..., Returns],
    smtp: SmtpSink,
    erp: Receiver,
) -> None:
    r, decision, code = _labelled(shop, DELIVERED)
    before = len(smtp.received)

    for n, status in enumerate(("in_transit", "in_transit", "out_for_delivery")):
        assert r.track(f"evt_moving_{n}", code, status).status_code == 200
    r.h.drain()

    assert _new(smtp, before) == [
        (
            "Your return for order 1001 is on its way to us",
            "The carrier has your parcel: it is on its way to us.\n\n"
            + MUG_LINE
            + "When your parcel reaches us, we will send 25.00 USD back to you.\n"
            + _link(r, decision),
        )
    ]
    before = len(smtp.received)

    for n, status in enumerate(("delivered", "delivered", "in_transit", "out_for_delivery")):
        assert r.track(f"evt_there_{n}", code, status).status_code == 200
    r.h.drain()

    assert _new(smtp, before) == [
        (
            "We have your parcel for order 1001",
            "The carrier has delivered your parcel to us: we will check it shortly.\n\n"
            + MUG_LINE
            + "We are sending 25.00 USD back to you now; we will write again when it is on its "
            "way.\n" + _link(r, decision),
        ),
        ("Your refund of 25.00 USD for order 1001 is on its way", smtp.received[-1].part("plain")),
    ]
    assert _parcel_rows(r) == [
        ("parcel_delivered", f"return:{decision}:delivered", "sent"),
        ("parcel_in_transit", f"return:{decision}:in_transit", "sent"),
    ]
    assert smtp.received[before].message["To"] == "ann@example.com"
    assert "See where your return stands</a>" in smtp.received[before].part("html")


def test_a_delivery_before_any_scan_says_what_waits_for_the_check_and_no_in_transit_follows(
    shop: Callable[..., Returns],
    smtp: SmtpSink,
    erp: Receiver,
) -> None:
    r, decision, code = _labelled(shop, INSPECTED)
    before = len(smtp.received)

    # the carrier's trackers out of order: the delivery first, the scans after it
    for n, status in enumerate(("delivered", "in_transit", "out_for_delivery", "delivered")):
        assert r.track(f"evt_{n}", code, status).status_code == 200
    r.h.drain()

    assert _new(smtp, before) == [
        (
            "We have your parcel for order 1001",
            "The carrier has delivered your parcel to us: we will check it shortly.\n\n"
            + MUG_LINE
            + "When we have checked your parcel, we will send 25.00 USD back to you.\n"
            + _link(r, decision),
        )
    ]
    assert _parcel_rows(r) == [("parcel_delivered", f"return:{decision}:delivered", "sent")]
    assert r.shipment().status == "delivered"
    assert r.attempts() == [("refund", 2500, "held")]


def test_an_in_transit_email_not_sent_before_the_delivery_is_withdrawn(
    shop: Callable[..., Returns],
    smtp: SmtpSink,
    erp: Receiver,
) -> None:
    r, decision, code = _labelled(shop, INSPECTED)
    before = len(smtp.received)

    assert r.track("evt_1", code, "in_transit").status_code == 200
    assert r.track("evt_2", code, "delivered").status_code == 200  # before the courier ran
    r.h.drain()

    assert [subject for subject, _ in _new(smtp, before)] == ["We have your parcel for order 1001"]
    [withdrawn] = r.h.rows(outbox, kind="parcel_in_transit")
    assert (withdrawn.status, withdrawn.note) == (
        "skipped",
        "not sent: the parcel was delivered before this email went",
    )



def test_parcel_emails_not_sent_before_the_warehouse_receipt_are_withdrawn(
    shop: Callable[..., Returns],
    smtp: SmtpSink,
    erp: Receiver,
) -> None:
    """The receipt's own mail says "we received your return": a scan or delivery mail still
    queued when it is recorded would tell the customer an older step after it."""
    r, decision, code = _labelled(shop, INSPECTED)
    before = len(smtp.received)

    assert r.track("evt_1", code, "in_transit").status_code == 200
    assert r.track("evt_2", code, "delivered").status_code == 200
    r.h.runtime.service.receive(decision, {"l1": ("as_new", None, False)}, "dock")  # at once
    r.h.drain()

    assert [subject for subject, _ in _new(smtp, before)][0] == \
        "We received your return for order 1001"
    assert not any(subject.startswith(("We have your parcel", "Your return for order 1001 is on"))
                   for subject, _ in _new(smtp, before))
    assert [(row.kind, row.status, row.note) for row in r.h.rows(outbox)
            if row.kind.startswith("parcel_")] == [
        ("parcel_in_transit", "skipped",
         "not sent: the parcel was delivered before this email went"),
        ("parcel_delivered", "skipped",
         "not sent: the return was received before this email went"),
    ]


def test_a_stale_read_of_the_return_never_takes_a_delivered_parcel_back_to_in_transit(
    shop: Callable[..., Returns],
    smtp: SmtpSink,
    erp: Receiver,
) -> None:
    """Two trackers processed at once: the "in transit" one read the return before the
    "delivered" one committed. Under the order's lock it reads it again and changes nothing."""
    r, decision, code = _labelled(shop, INSPECTED)
    with r.h.runtime.engine.connect() as conn:
        stale = returns.get_return(conn, decision)
    assert stale is not None and stale.status == "label_created"
    assert r.track("evt_1", code, "delivered").status_code == 200

    with write_tx(r.h.runtime.engine) as conn:
        assert returns.mark_tracking(conn, stale, "in_transit", "evt_2", r.h.clock()) == ()

    assert r.shipment().status == "delivered"
    assert _parcel_rows(r) == [("parcel_delivered", f"return:{decision}:delivered", "queued")]


SENT_BACK = {
    "en": (
        "Your return parcel for order 1001 is coming back to you",
        "The carrier is sending your parcel back to you instead of delivering it to us.",
        "What to do: keep the parcel when it comes back, and do not send it again yet. Our "
        "team has been told and will write to you about how to send it to us.",
        "The money waiting for your parcel stays on hold until then.",
        "See where your return stands at any time:",
    ),
    "de": (
        "Ihr Rücksendepaket zu Bestellung 1001 kommt zu Ihnen zurück",
        "Der Versanddienst schickt Ihr Paket an Sie zurück, statt es uns zuzustellen.",
        "Was Sie tun können: Behalten Sie das Paket, wenn es zurückkommt, und senden Sie es "
        "noch nicht erneut. Unser Team ist informiert und schreibt Ihnen, wie Sie es uns "
        "schicken können.",
        "Das Geld, das auf Ihr Paket wartet, bleibt bis dahin zurückgehalten.",
        "Hier sehen Sie jederzeit, wo Ihre Rücksendung steht:",
    ),
    "fr": (
        "Votre colis de retour pour la commande 1001 vous est renvoyé",
        "Le transporteur vous renvoie votre colis au lieu de nous le livrer.",
        "Que faire\xa0: gardez le colis à son retour et ne le renvoyez pas encore. Notre "
        "équipe est informée et vous écrira pour vous dire comment nous l'envoyer.",
        "L'argent qui attend votre colis reste bloqué d'ici là.",
        "Suivez à tout moment où en est votre retour\xa0:",
    ),
    "es": (
        "Tu paquete de devolución del pedido 1001 vuelve a ti",
        "La empresa de transporte te devuelve el paquete en lugar de entregárnoslo.",
        "Qué hacer: guarda el paquete cuando te llegue y no lo envíes de nuevo todavía. Nuestro "
        "equipo está informado y te escribirá para decirte cómo enviárnoslo.",
        "El dinero que espera tu paquete sigue retenido hasta entonces.",
        "Consulta en cualquier momento cómo va tu devolución:",
    ),
}


@pytest.mark.parametrize("language", list(SENT_BACK))
def test_a_parcel_sent_back_tells_the_customer_what_to_do_in_their_language_once(
    shop: Callable[..., Returns],
    smtp: SmtpSink,
    erp: Receiver,
    language: str,
) -> None:
    r, decision, code = _labelled(shop, DELIVERED, locale=language)
    before = len(smtp.received)

    for n, status in enumerate(("in_transit", "return_to_sender", "return_to_sender", "delivered")):
        assert r.track(f"evt_{n}", code, status).status_code == 200
    r.h.drain()

    subject, happened, to_do, held, link = SENT_BACK[language]
    assert [s for s, _ in _new(smtp, before)][1:] == [subject]  # after the first scan's
    text = smtp.received[-1].part("plain")
    assert text.startswith(f"{happened}\n\n- 1 × Mug")
    assert f"\n\n{to_do}\n\n{held}\n\n{link} https://returns.mugs.example/returns/status/" in text
    assert smtp.received[-1].message["Content-Language"] == language
    assert _parcel_rows(r) == [
        ("parcel_in_transit", f"return:{decision}:in_transit", "sent"),
        ("parcel_problem", f"return:{decision}:return_to_sender", "sent"),
    ]


def test_a_carrier_failure_tells_the_customer_nothing_is_needed_of_them_once(
    shop: Callable[..., Returns],
    smtp: SmtpSink,
    erp: Receiver,
) -> None:
    r, decision, code = _labelled(shop, DELIVERED)
    before = len(smtp.received)

    for n in range(2):
        assert r.track(f"evt_{n}", code, "failure").status_code == 200
    r.h.drain()

    assert _new(smtp, before) == [
        (
            "There is a problem with your return parcel for order 1001",
            "The carrier reports a problem delivering your parcel to us.\n\n"
            + MUG_LINE
            + "You do not need to do anything now: our team has been told and will write to "
            "you.\n\nThe money waiting for your parcel stays on hold until then.\n"
            + _link(r, decision),
        )
    ]
    assert r.attempts() == [("refund", 2500, "held")]


def _events(erp: Receiver, type_: str) -> list[dict[str, Any]]:
    return [p["data"] for _, p in erp.verified if p["type"] == type_]


def test_the_merchant_still_hears_of_the_first_scan_and_the_delivery_once_each(
    shop: Callable[..., Returns],
    smtp: SmtpSink,
    erp: Receiver,
) -> None:
    r, decision, code = _labelled(shop, DELIVERED)
    for n, status in enumerate(("out_for_delivery", "in_transit", "delivered", "delivered")):
        assert r.track(f"evt_{n}", code, status).status_code == 200
    r.h.drain()

    assert [(e["decision_id"], e["status"]) for e in _events(erp, "return.in_transit")] == [
        (decision, "out_for_delivery")
    ]
    assert [(e["decision_id"], e["status"]) for e in _events(erp, "return.delivered")] == [
        (decision, "delivered")
    ]
