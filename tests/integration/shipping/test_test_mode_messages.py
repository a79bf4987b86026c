"""A shop whose money goes to the dry run (test mode): the physical return's emails say that no
money moves, and promise neither money nor an email that never comes. The warehouse receipt
says so in the order's language, and nothing follows it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from refunds_plugin.finance.tokens import create_token
from refunds_plugin.ledger.tables import outbox, refund_attempts
from tests.fakes import order_paid
from tests.fakes.outbound_receiver import HOOK, SECRET, Receiver
from tests.fakes.smtp_sink import SmtpSink
from tests.integration.shipping.conftest import ANN, Returns

INSPECTED = """currency: EUR
window: {days: 365, start: payment}
return_shipping: {return_by_days: 30}
refund_on: inspected
"""
DAY = 86400
DRESS = {"id": "l1", "sku": "DRESS-38", "name": "Robe lin 38", "quantity": 1,
         "unit_amount": 4500, "tags": []}


@pytest.fixture
def test_mode_shop(returns_service: Callable[..., Returns], smtp: SmtpSink,
                   erp: Receiver) -> Returns:
    # no Stripe key: every refund goes to the dry run
    return returns_service(INSPECTED, label=False, stripe_api_key="", mail_url=smtp.url,
                           mail_from="Robes <retours@robes.example>", shop_name="Robes",
                           saleor_app_url="https://retours.robes.example",
                           outbound_url=HOOK, outbound_secret=SECRET)


def _round(r: Returns) -> None:
    for _ in range(2):
        r.labels()
        r.h.drain()


def _receive(r: Returns, decision: str) -> int:
    token = create_token(r.h.runtime.engine, "Dock", "warehouse", r.h.clock()).secret
    lines = [{"line_id": "l1", "condition": "as_new", "quantity": 1, "restock": True}]
    return r.h.client().post(f"/api/returns/{decision}/receive", json={"lines": lines},
                             headers={"Authorization": f"Bearer {token}"}).status_code


def _paid_in_french(r: Returns) -> None:
    event = order_paid("1001", currency="EUR", lines=[DRESS], shipping=0, reference="pi_1001")
    event["data"]["order"] |= {"locale": "fr-FR", "shipping_address": ANN}
    assert r.h.post_storefront(event).status_code in (200, 201)


BANNER = "Cette boutique est en mode test\xa0: aucun argent n'est versé."


def test_the_receipt_in_test_mode_says_no_money_moves_and_promises_no_other_email(
    test_mode_shop: Returns, smtp: SmtpSink, erp: Receiver,
) -> None:
    r = test_mode_shop
    _paid_in_french(r)
    decision = r.ask(lines=[{"line_id": "l1", "quantity": 1, "reason": "changed_mind"}])
    assert decision["dry_run"] is True
    _round(r)
    before = len(smtp.received)
    r.h.clock.advance(3 * DAY)

    assert _receive(r, decision["decision_id"]) == 200
    _round(r)
    r.h.clock.advance(30 * DAY)  # past the return-by date: still nothing more is sent
    _round(r)

    [receipt] = smtp.received[before:]
    assert receipt.subject == "Nous avons reçu votre retour pour la commande 1001"
    assert receipt.part("plain").startswith(
        f"{BANNER}\n\nVotre article retourné est arrivé le 27 novembre 2026\xa0:\n\n"
        "- 1 × Robe lin 38\xa0: 45,00\xa0€\n\n"
        "En mode test, nous ne vous renvoyons pas 45,00\xa0€, et aucun autre e-mail ne suivra "
        "à ce sujet.\n")
    html = receipt.part("html")
    assert f">{BANNER}</p>" in html
    assert "<p>En mode test, nous ne vous renvoyons pas 45,00\xa0€, et aucun autre e-mail ne " \
        "suivra à ce sujet.</p>" in html
    for part in (receipt.part("plain"), html):
        assert "écrirons" not in part and "Nous vous renvoyons maintenant" not in part
    # the dry run "paid": no money moved, and no email says it did
    assert [(a.provider, a.status) for a in r.h.rows(refund_attempts)] == [
        ("dryrun", "succeeded")]
    assert r.h.rows(outbox, kind="refund_sent") == []
    # the merchant's event is as before: no wording flag in its data
    [event] = [p["data"] for _, p in erp.verified if p["type"] == "return.received"]
    assert event["decision_id"] == decision["decision_id"] and "test_mode" not in event


def test_a_live_shops_receipt_still_says_the_money_is_on_its_way_and_an_email_follows(
    returns_service: Callable[..., Returns], smtp: SmtpSink,
) -> None:
    r = returns_service(INSPECTED, label=False, mail_url=smtp.url,
                        mail_from="Robes <retours@robes.example>", shop_name="Robes")
    r.stripe.fake.add_payment_intent(4500, "eur", "pi_1001")
    _paid_in_french(r)
    decision = r.ask(lines=[{"line_id": "l1", "quantity": 1, "reason": "changed_mind"}])
    assert decision["dry_run"] is False
    _round(r)
    before = len(smtp.received)

    assert _receive(r, decision["decision_id"]) == 200
    _round(r)

    receipt, sent = smtp.received[before:]
    assert "Nous vous renvoyons maintenant 45,00\xa0€\u202f; nous vous écrirons de nouveau " \
        "dès que l'argent sera en route." in receipt.part("plain")
    assert "mode test" not in receipt.part("plain") + receipt.part("html")
    assert sent.subject == "Votre remboursement de 45,00 € pour la commande 1001 est en route"

