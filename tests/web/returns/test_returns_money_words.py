"""The returns page writes big amounts as its reader does: ``1,234.56 USD`` and
``1,500,000 JPY`` in English (the figures, the fees and the policy's explanation alike), as
before in German, French and Spanish; the ledger keeps ``1234.56 USD``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

import pytest
from flask.testing import FlaskClient

from refunds_plugin.ledger.tables import decisions
from tests.fakes.returns_client import open_form, reader, submit, words
from tests.fakes.returns_shop import ReturnsShop, order_event


def _shop(db_url: str, now: datetime, currency: str, unit: int) -> ReturnsShop:
    shop = ReturnsShop(db_url, lambda: now)
    event = order_event("1001", shipping=0, lines=[
        {"id": "l1", "sku": "LAMP-1", "name": "Brass lamp", "quantity": 1, "unit_amount": unit},
        {"id": "l2", "sku": "CUP-1", "name": "Cup", "quantity": 1, "unit_amount": 1000}])
    event["data"]["order"]["currency"] = currency
    shop.seed(event)
    return shop


@pytest.fixture
def dollars(sqlite_url: str, now: datetime) -> Iterator[ReturnsShop]:
    shop = _shop(sqlite_url, now, "USD", 123456)
    yield shop
    shop.close()


@pytest.fixture
def yen(sqlite_url: str, now: datetime) -> Iterator[ReturnsShop]:
    shop = _shop(sqlite_url, now, "JPY", 1500000)
    yield shop
    shop.close()


def _return_the_lamp(client: FlaskClient) -> tuple[dict[str, list[str]], str]:
    form = open_form(client)
    picked = {"line-0-qty": "1", "line-0-reason": "changed_mind"}
    quote = submit(client, form, step="quote", **picked)
    answer = submit(client, form, **picked)
    assert answer.status_code == 200
    link = re.search(r'href="(/returns/status/[^"]+)"', answer.get_data(as_text=True))
    assert link
    status = client.get(link.group(1))
    pages = {"form": form, "quote": quote, "answer": answer, "status": status}
    return {name: [*words(p, "price"), *words(p, "amount"), *words(p, "explanation"),
                   *words(p, "stage")] for name, p in pages.items()}, \
        answer.get_data(as_text=True)


EXPLAINED = ("Your return of 1 × Brass lamp is approved. Dry run: we would refund {} to your "
             "original payment; no money moves. Please send back: Brass lamp.")  # test mode:
# "we would", and no promise of when


@pytest.mark.parametrize(("shop_name", "read", "stored"), [
    ("dollars", "1,234.56 USD", "1234.56 USD"),
    ("yen", "1,500,000 JPY", "1500000 JPY"),
])
def test_an_english_reader_reads_big_amounts_grouped_on_every_page(
    request: pytest.FixtureRequest, shop_name: str, read: str, stored: str,
) -> None:
    shop: ReturnsShop = request.getfixturevalue(shop_name)

    seen, _html = _return_the_lamp(reader(shop, "en-US,en;q=0.9"))

    cup = "10.00 USD" if shop_name == "dollars" else "1,000 JPY"
    assert seen["form"] == [f"{read} each", f"{cup} each"]
    assert seen["quote"] == [f"Refund to your original payment: {read}", EXPLAINED.format(read)]
    assert seen["answer"] == seen["quote"]
    assert seen["status"] == [
        EXPLAINED.format(read),
        f"Refund to your original payment: {read} Test mode: nothing was sent to a payment "
        "provider and no money moved."]
    # the ledger keeps the explanation as it was said, in Money's own form
    (row,) = shop.rows(decisions)
    assert stored in row[13] and read not in row[13]


@pytest.mark.parametrize(("accept", "explained"), [
    ("de-DE,de;q=0.9", "Ihre Rücksendung von 1 × Brass lamp ist genehmigt. Testlauf: Wir "
                       "würden 1.234,56 $ auf Ihre ursprüngliche Zahlungsart erstatten; es wird "
                       "kein Geld bewegt. Bitte zurücksenden: Brass lamp."),
    ("fr-FR,fr;q=0.9", "Votre retour de 1 × Brass lamp est accepté. Simulation : il s'agirait "
                       "de rembourser 1 234,56 $US sur votre moyen de paiement d'origine ; "
                       "aucun argent n'est versé. À renvoyer : Brass lamp."),
    ("es-ES,es;q=0.9", "Tu devolución de 1 × Brass lamp está aprobada. Simulación: "
                       "procederíamos a reembolsar 1.234,56 US$ a tu método de pago original; "
                       "no se mueve dinero. Por favor, devuelve: Brass lamp."),
])
def test_german_french_and_spanish_readers_read_the_amounts_as_before(
    dollars: ReturnsShop, accept: str, explained: str,
) -> None:
    seen, html = _return_the_lamp(reader(dollars, accept))

    assert explained in seen["answer"]
    assert "1,234.56" not in html and "1234.56 USD" not in html
    # the no-break spaces the page writes (``words`` reads them as spaces)
    assert {"de": "1.234,56\xa0$", "fr": "1\u202f234,56\xa0$US",
            "es": "1.234,56\xa0US$"}[accept[:2]] in html
