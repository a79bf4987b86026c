"""The returns pages in the reader's language: the browser's ``Accept-Language`` where the order
says nothing, the order's own ``locale`` over the browser's, the money and dates as that language
writes them, and a decision recorded before the message ids kept in its stored words."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import update

from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.tables import decisions
from tests.fakes.returns_client import lookup, open_form, reader, submit, text, words
from tests.fakes.returns_shop import EMAIL, ReturnsShop, order_event


def _decide(client: FlaskClient) -> tuple[str, str]:
    answer = submit(client, open_form(client), **{"line-0-qty": "1",
                                                  "line-0-reason": "changed_mind"})
    assert answer.status_code == 200
    link = re.search(r'href="(/returns/status/[^"]+)"', answer.get_data(as_text=True))
    assert link
    return answer.get_data(as_text=True), link.group(1)


def test_a_german_browser_gets_the_page_in_german_with_german_money_and_dates(
    shop: ReturnsShop,
) -> None:
    client = reader(shop, "de-AT,de;q=0.9,en;q=0.5")

    start = client.get("/returns")
    form = open_form(client)

    assert '<html lang="de">' in start.get_data(as_text=True)
    # the name the merchant set (REFUNDS_SHOP_NAME) is never translated
    assert '<span class="shop-name">Harbour &amp; Co</span>' in start.get_data(as_text=True)
    assert "Rücksendung starten" in text(start)
    assert "Meine Bestellung finden" in text(start)
    page = text(form)
    assert "Bestellung 1001" in page
    # text() reads the no-break space before the currency as a space
    assert "25,00 $ pro Stück" in page and "40,00 $ pro Stück" in page
    assert page.count("Sie können das bis zum 2. November 2027, 09:59 Uhr UTC zurückgeben.") == 2
    assert "Wie viele zurücksenden" in page and "Ich habe es mir anders überlegt" in page
    assert "How many to return" not in page
    # the item, whatever its grammatical gender (a "Tasse" is no "er")
    html = form.get_data(as_text=True)
    assert [re.sub(r"\s+", " ", o) for o in re.findall(
        r'<option value="(?:damaged|defective|not_as_described|not_received|too_small|too_large)"'
        r'[^>]*>([^<]*)</option>', html)][:6] == [
        "Der Artikel kam beschädigt an", "Der Artikel funktioniert nicht",
        "Der Artikel entspricht nicht der Beschreibung", "Der Artikel ist nie angekommen",
        "Der Artikel ist zu klein", "Der Artikel ist zu groß"]


def test_a_german_answer_explains_the_decision_in_german(shop: ReturnsShop) -> None:
    client = reader(shop, "de")

    answer, _link = _decide(client)

    # the shop is in test mode (the dry run): "we would", and no promise of when money that
    # never moves leaves
    assert words_of(answer, "explanation") == [
        "Ihre Rücksendung von 1 × Blue enamel mug ist genehmigt. Testlauf: Wir würden 25,00 $ "
        "auf Ihre ursprüngliche Zahlungsart erstatten; es wird kein Geld bewegt. Bitte "
        "zurücksenden: Blue enamel mug."]
    assert words_of(answer, "test-mode") == [
        "Dieser Shop ist im Testmodus: Es wird kein Geld bewegt."]
    assert "Erstattung auf Ihre ursprüngliche Zahlungsart: 25,00\xa0$" in answer
    assert "Your return" not in answer


def words_of(html: str, css_class: str) -> list[str]:
    return [" ".join(re.sub(r"<[^>]+>", " ", m).split())
            for m in re.findall(rf'class="{css_class}"[^>]*>(.*?)</p>', html, re.S)]


def test_the_orders_language_wins_over_the_browsers(french_order_shop: ReturnsShop) -> None:
    client = reader(french_order_shop, "de-DE,de;q=0.9")

    form = open_form(client)
    answer, link = _decide(client)
    status = french_order_shop.app.test_client().get(link)  # a stranger's browser: English

    assert "Commande 1001" in text(form) and "Bestellung" not in text(form)
    assert "<option value=\"damaged\">L'article est arrivé endommagé</option>" in form.get_data(
        as_text=True).replace("&#39;", "'")
    assert "25,00 $US l'unité" in text(form) and "40,00 $US l'unité" in text(form)
    assert "Votre retour est accepté" in answer
    assert '<html lang="fr">' in status.get_data(as_text=True)
    assert "Où en est votre argent" in text(status)
    assert words(status, "explanation")[0].startswith(
        "Votre retour de 1 × Blue enamel mug est accepté. Simulation : il s'agirait de "
        "rembourser 25,00 $US sur votre moyen de paiement d'origine ; aucun argent n'est "
        "versé.")
    # the money's line: a non-breaking space before the French colon, kept as it is written
    assert "<strong>Remboursement sur votre moyen de paiement d&#39;origine\xa0: 25,00\xa0$US" \
        "</strong>" in status.get_data(as_text=True)


def test_a_decision_recorded_before_message_ids_shows_its_stored_text(
    shop: ReturnsShop,
) -> None:
    english, link = _decide(shop.app.test_client())
    with write_tx(shop.runtime.engine) as conn:  # as a decision from before migration 0012
        conn.execute(update(decisions).values(said=None))

    status = reader(shop, "es").get(link)

    assert "Dónde está tu dinero" in text(status)  # the page is Spanish
    (stored,) = [row[13] for row in shop.rows(decisions)]
    promise = " The money will be on its way within 48 hours."
    assert stored.endswith(promise)  # the ledger keeps what was said
    # the explanation is what was recorded, less its promise and with "we would": the shop is
    # in test mode
    assert words(status, "explanation") == [stored.removesuffix(promise).replace(
        "We will refund 25.00 USD to your original payment.",
        "Dry run: we would refund 25.00 USD to your original payment; no money moves.")]
    assert stored.startswith("Your return of 1 × Blue enamel mug is approved.")


def test_an_english_browser_reads_the_page_as_before(shop: ReturnsShop) -> None:
    client = reader(shop, "en-GB,en;q=0.8")

    form = open_form(client)
    answer = lookup(client, "9999", EMAIL)

    assert "25.00 USD each" in text(form)
    assert "You can return this until 2 November 2027, 09:59 UTC." in text(form)
    assert "We could not find an order with that number and email address." in text(answer)


def test_each_lines_situation_is_said_in_german(sqlite_url: str, tmp_path: Path) -> None:
    preset = resources.files("policies").joinpath("presets", "standard-30-day.yaml").read_text()
    path = tmp_path / "policy.yaml"
    path.write_text(preset, "utf-8")
    shop = ReturnsShop(sqlite_url, lambda: datetime(2026, 11, 24, 12, 0, tzinfo=UTC),
                       {"policy": str(path)})
    try:
        lines = [{"id": "l1", "sku": "MUG-1", "name": "Blue enamel mug", "quantity": 2,
                  "unit_amount": 2500},
                 {"id": "l2", "sku": "TEE-M", "name": "Linen shirt", "quantity": 1,
                  "unit_amount": 4000, "tags": ["final-sale"]}]
        shop.seed(order_event("1001", paid_at="2026-08-18T10:00:00Z", lines=lines))

        form = open_form(reader(shop, "de"))

        assert words(form, "when") == [
            "Sie können das bis zum 5. Dezember 2026, 14:59 Uhr UTC zurückgeben.",
            "Vom Umtausch ausgeschlossen: Dieser Artikel kann nur zurückgegeben werden, wenn "
            "bei uns etwas schiefgelaufen ist (er kam beschädigt an, funktioniert nicht, ist "
            "der falsche Artikel, entspricht nicht der Beschreibung oder kam nie an). In "
            "diesen Fällen können Sie ihn bis zum 5. Dezember 2026, 14:59 Uhr UTC zurückgeben."]
    finally:
        shop.close()



def test_without_a_shop_name_the_placeholder_is_in_the_readers_language(
    sqlite_url: str, now: datetime,
) -> None:
    unnamed = ReturnsShop(sqlite_url, lambda: now, settings={"shop_name": "Our shop"})
    try:
        pages = {accept: reader(unnamed, accept).get("/returns").get_data(as_text=True)
                 for accept in ("de", "fr", "es", "en")}
    finally:
        unnamed.close()

    assert {accept: re.findall(r'<span class="shop-name">([^<]*)</span>', page)
            for accept, page in pages.items()} == {
        "de": ["Unser Shop"], "fr": ["Notre boutique"], "es": ["Nuestra tienda"],
        "en": ["Our shop"]}
    assert "<title>Rücksendung starten · Unser Shop</title>" in pages["de"]


def test_a_line_partly_in_a_return_says_how_many_were_already_asked_for(shop: ReturnsShop) -> None:
    english, german = reader(shop, "en"), reader(shop, "de")
    _decide(english)  # one of the two mugs

    again = text(open_form(english))
    deutsch = text(open_form(german))

    assert "You have already asked to return 1 of the 2 you ordered." in again
    assert again.count("already asked to return") == 1  # the shirt has no return yet
    assert "Für 1 der 2 bestellten Stück haben Sie bereits eine Rücksendung angefragt." in deutsch
