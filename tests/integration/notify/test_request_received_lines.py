"""The "request received" email lists every line the customer asked to return: the ones taken
with their amount, the ones not taken saying so and why (the policy's own reason, in the
reader's language), so a request refused whole never reads as an empty list."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from refunds_plugin.notify.preview import preview
from tests.fakes import Clock, Harness, order_paid, return_requested
from tests.fakes.smtp_sink import Received, SmtpSink
from tests.fakes.stripe_api import FakeStripe

POLICY = """currency: USD
window: {days: 30, start: payment, outside: decline}
final_sale: {tags: [final-sale], guarantee: decline}
"""
SHIRT = {"id": "l1", "sku": "SHIRT-1", "name": "Linen shirt", "quantity": 1,
         "unit_amount": 4500, "tags": []}
SOCKS = {"id": "l2", "sku": "SOCK-1", "name": "Wool socks", "quantity": 2, "unit_amount": 900,
         "tags": ["final-sale"]}
BOTH = [{"line_id": "l1", "quantity": 1, "reason": "changed_mind"},
        {"line_id": "l2", "quantity": 2, "reason": "changed_mind"}]


@pytest.fixture
def shop(mail_shop_with: Callable[..., Harness], tmp_path: Path) -> Harness:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY, encoding="utf-8")
    return mail_shop_with(policy=str(path))


def _ask(h: Harness, fake: FakeStripe, smtp: SmtpSink, order_id: str,
         lines: list[dict[str, Any]], locale: str | None = None,
         **paid: Any) -> tuple[dict[str, Any], Received]:
    """The order paid, its return asked for and the emails sent: the answer and the first
    email (the request received)."""
    fake.add_payment_intent(6300, "usd", f"pi_{order_id}")
    event = order_paid(order_id, lines=[SHIRT, SOCKS], shipping=0, reference=f"pi_{order_id}",
                       **paid)
    if locale is not None:
        event["data"]["order"]["locale"] = locale
    assert h.post_storefront(event).status_code == 200
    resp = h.post_storefront(return_requested(f"r-{order_id}", order_id, lines=lines))
    assert resp.status_code == 201, resp.get_data(as_text=True)
    h.drain()
    answer = resp.get_json()
    assert isinstance(answer, dict)
    return answer, smtp.received[0]


def test_a_final_sale_line_is_listed_as_not_accepted_with_its_reason(
    shop: Harness, fake_stripe: FakeStripe, smtp: SmtpSink,
) -> None:
    answer, mail = _ask(shop, fake_stripe, smtp, "2001", BOTH)

    assert (answer["outcome"], answer["amount"]) == ("approve", 4500)
    assert mail.subject == "We received your return request for order 2001"
    assert mail.part("plain").startswith(
        "We received your return request for order 2001:\n\n"
        "- 1 × Linen shirt: 45.00 USD\n"
        "- 2 × Wool socks: not accepted\n"
        "  Wool socks was sold as final sale and cannot be returned.\n\n")
    html = mail.part("html")
    assert "<tr><td>2 × Wool socks</td><td align=\"right\">not accepted</td></tr>" in html
    assert ">Wool socks was sold as final sale and cannot be returned.</td></tr>" in html
    assert "<tr><td>1 × Linen shirt</td><td align=\"right\">45.00 USD</td></tr>" in html


def test_a_request_refused_whole_lists_what_was_asked_never_an_empty_list(
    shop: Harness, fake_stripe: FakeStripe, smtp: SmtpSink,
) -> None:
    answer, mail = _ask(shop, fake_stripe, smtp, "2004", BOTH[:1], paid_at="2026-09-01T10:00:00Z")

    assert answer["outcome"] == "decline"
    assert mail.part("plain").startswith(
        "We received your return request for order 2004:\n\n"
        "- 1 × Linen shirt: not accepted\n"
        "  The 30-day return window for Linen shirt has passed (84 days since payment).\n\n")
    assert "</td></tr>\n</table>" in mail.part("html")  # the table holds the line


def test_a_french_reader_reads_the_lines_and_the_reason_in_french(
    shop: Harness, fake_stripe: FakeStripe, smtp: SmtpSink,
) -> None:
    _answer, mail = _ask(shop, fake_stripe, smtp, "2001", BOTH, locale="fr-FR")

    assert mail.part("plain").startswith(
        "Nous avons reçu votre demande de retour pour la commande 2001\xa0:\n\n"
        "- 1 × Linen shirt\xa0: 45,00\xa0$US\n"
        "- 2 × Wool socks\xa0: refusé\n"
        "  Wool socks a été vendu en vente finale et ne peut pas être retourné.\n\n")


def test_the_preview_lists_the_lines_as_the_email_did_from_the_stored_decision(
    shop: Harness, fake_stripe: FakeStripe, smtp: SmtpSink, clock: Clock,
) -> None:
    answer, mail = _ask(shop, fake_stripe, smtp, "2001", BOTH, locale="fr-FR")
    assert shop.runtime.renderer is not None

    shown = preview(shop.runtime.engine, shop.runtime.renderer, "request_received",
                    answer["decision_id"], clock.now)

    # the stored decision holds the reason in English: found again among the explanation's
    # sentences, it reads in French as in the email
    assert shown.rendered.text == mail.part("plain")


@pytest.mark.parametrize(("locale", "subject"), [
    (None, "Your return for order 2006 is partly approved"),
    ("de", "Ihre Rücksendung zu Bestellung 2006 ist teilweise genehmigt"),
    ("fr", "Votre retour pour la commande 2006 est partiellement accepté"),
    ("es", "Tu devolución del pedido 2006 está aprobada en parte"),
])
def test_a_partly_approved_return_is_emailed_as_partly_approved_as_its_pages_say(
    shop: Harness, fake_stripe: FakeStripe, smtp: SmtpSink, locale: str | None, subject: str,
) -> None:
    answer, _received = _ask(shop, fake_stripe, smtp, "2006", BOTH, locale=locale)

    assert answer["reason_code"] == "partially_approved"
    assert smtp.received[1].subject == subject  # after the request received
