""""What the customer was told" on the finance pages is in the language the customer read it
(the order's), labelled with that language, with the English beside it for the finance reader."""

from __future__ import annotations

from datetime import datetime, timedelta

from markupsafe import escape

from refunds_plugin.finance.tokens import create_token
from tests.fakes.finance_scene import Scene
from tests.fakes.shop import Shop

GERMAN = ("Ihre Rücksendung von 1 × Shirt ist genehmigt. Testlauf: Wir würden 25,00\u00a0€ auf "
          "Ihre ursprüngliche Zahlungsart erstatten; es wird kein Geld bewegt. Bitte "
          "zurücksenden: Shirt.")
REVIEW_GERMAN = (
    "Vielen Dank. Ihre Rücksendung von 1 × Shirt wird kurz von unserem Team geprüft. Die "
    "365-tägige Rückgabefrist für Shirt ist abgelaufen (400 Tage seit der Zahlung); unser Team "
    "sieht es sich an. Testlauf: Wenn sie genehmigt wird, würden wir 25,00\u00a0€ auf Ihre "
    "ursprüngliche Zahlungsart erstatten; es wird kein Geld bewegt. Sobald sie genehmigt ist, "
    "bitten wir Sie, Shirt zurückzusenden.")
ENGLISH = ("Your return of 1 × Shirt is approved. Dry run: we would refund 25.00 EUR to your "
           "original payment; no money moves. Please send back: Shirt.")


def _german_order(shop: Shop, order_id: str, email: str, *, paid_days_ago: int) -> None:
    paid = (shop.now - timedelta(days=paid_days_ago)).isoformat()
    shop.send("order.paid", {"order": {
        "id": order_id, "currency": "EUR", "paid_at": paid, "delivered_at": paid,
        "locale": "de-DE",
        "customer": {"id": f"cus_{order_id}", "email": email},
        "lines": [{"id": "l1", "sku": "SHIRT", "name": "Shirt", "quantity": 1,
                   "unit_amount": 2500}],
        "shipping_amount": 0, "total_amount": 2500,
        "payment": {"provider": "stripe", "reference": f"pay_{order_id}", "amount": 2500},
    }})


def test_a_german_customers_decision_shows_the_german_words_labelled_and_the_english(
    sqlite_url: str, now: datetime,
) -> None:
    shop = Shop(sqlite_url, now)  # the dry run: the answer leaves out when the money arrives
    _german_order(shop, "o-de", "jan@example.de", paid_days_ago=3)
    answer = shop.ask_return("o-de", "r-de")
    assert answer["outcome"] == "approve"
    assert answer["explanation"] == GERMAN  # what the customer was told (no promise: dry run)
    token = create_token(shop.runtime.engine, "Fin Reader", "finance", now).secret
    scene = Scene(shop, token, token, answer["decision_id"], answer["decision_id"])

    page = scene.login(token).get(f"/finance/decisions/{answer['decision_id']}").get_data(
        as_text=True)

    assert ('<figure class="told" lang="de"><figcaption class="lang-label">German (de), as '
            'the customer read it</figcaption>'
            f'<blockquote class="explanation">{GERMAN}</blockquote>'
            '</figure>') in page
    assert ('<figure class="told" lang="en"><figcaption class="lang-label">English, for '
            f'you</figcaption><blockquote class="explanation-en">{escape(ENGLISH)}'
            '</blockquote></figure>') in page
    shop.runtime.engine.dispose()


def test_the_review_queue_shows_a_german_customers_words_in_german_with_the_english(
    sqlite_url: str, now: datetime,
) -> None:
    shop = Shop(sqlite_url, now)
    _german_order(shop, "o-alt", "eva@example.de", paid_days_ago=400)  # too old: a person looks
    answer = shop.ask_return("o-alt", "r-alt")
    assert (answer["outcome"], answer["explanation"]) == ("review", REVIEW_GERMAN)
    token = create_token(shop.runtime.engine, "Fin Reader", "finance", now).secret
    scene = Scene(shop, token, token, answer["decision_id"], answer["decision_id"])

    page = scene.login(token).get("/finance/reviews").get_data(as_text=True)

    told = (f'<figure class="told" lang="de"><figcaption class="lang-label">German (de), as the '
            f'customer read it</figcaption><blockquote>{REVIEW_GERMAN}</blockquote></figure>')
    assert told in page
    assert '<figcaption class="lang-label">English, for you</figcaption>' in page
    shop.runtime.engine.dispose()


def test_an_order_with_no_language_is_labelled_with_the_shops_and_not_repeated(
    scene: Scene,
) -> None:
    page = scene.login(scene.finance).get(f"/finance/decisions/{scene.approved_id}").get_data(
        as_text=True)
    assert ('<figure class="told" lang="en"><figcaption class="lang-label">English (en), the '
            "shop's language (the order named none)</figcaption>") in page
    assert "English, for you" not in page
