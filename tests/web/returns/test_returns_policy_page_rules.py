"""The published policy (``/returns/policy``) states the rules that change what a customer gets,
in every language it is shown in: a shorter or longer window for some items (``window.
overrides``), a customer reason the policy declines or settles in store credit only
(``reasons``), and the cap on the store-credit bonus (``resolution.credit_bonus_max``)."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from tests.fakes.reopened import DOCK
from tests.fakes.returns_shop import ReturnsShop, with_stripe

PER_CATEGORY = """\
name: per-category
currency: USD
window:
  days: 30
  overrides:
    - {sku: GIFT-CARD, days: 0}
    - {tag: swimwear, days: 14}
    - {collection: knives, days: unlimited}
"""

REASONS = """\
name: no-change-of-mind
window: {days: 30}
reasons: {changed_mind: decline, too_small: credit, too_large: credit, other: accept}
"""

CAPPED_BONUS = """\
name: capped-bonus
window: {days: 60}
resolution:
  default: credit
  allow: [credit, refund]
  credit_bonus_percent: 10
  credit_bonus_max: {EUR: "20.00", JPY: "3000", KWD: "6.500"}
"""


def _sentences(tmp_path: Path, now: datetime, policy: str, accept: str) -> list[str]:
    path = tmp_path / "shop.yaml"
    path.write_text(policy)
    settings = {"policy": str(path), "return_addresses": (DOCK,)} | with_stripe(
        "http://127.0.0.1:9")
    shop = ReturnsShop(f"sqlite:///{tmp_path / 'r.db'}", lambda: now, settings=settings)
    try:
        html = shop.app.test_client().get(
            "/returns/policy", headers={"Accept-Language": accept}).get_data(as_text=True)
    finally:
        shop.close()
    block = html.split('<ul class="policy">')[1].split("</ul>")[0]
    return [s.replace("&#39;", "'") for s in re.findall(r"<li>(.*?)</li>", block)]


@pytest.mark.parametrize(("accept", "window", "others"), [
    ("en", "You can return items within 30 days of delivery.",
     "Some items have a different return window; the return form of your order shows the "
     "date for each item."),
    ("de", "Sie können Artikel innerhalb von 30 Tagen nach der Lieferung zurückgeben.",
     "Für manche Artikel gilt eine andere Rückgabefrist; das Rückgabeformular Ihrer Bestellung "
     "zeigt das Datum für jeden Artikel."),
    ("fr", "Vous pouvez retourner vos articles dans les 30 jours suivant la livraison.",
     "Certains articles ont un autre délai de retour\u202f; le formulaire de retour de votre "
     "commande indique la date pour chaque article."),
    ("es", "Puedes devolver artículos en los 30 días siguientes a la entrega.",
     "Algunos artículos tienen otro plazo de devolución; el formulario de devolución de tu "
     "pedido muestra la fecha de cada artículo."),
])
def test_a_window_that_differs_for_some_items_is_said_beside_the_shops_window(
    tmp_path: Path, now: datetime, accept: str, window: str, others: str,
) -> None:
    # a gift card has no window and swimwear 14 days: "within 30 days" alone is not true of them
    said = _sentences(tmp_path, now, PER_CATEGORY, accept)
    assert said[:2] == [window, others]


@pytest.mark.parametrize(("accept", "rules"), [
    ("en", ["No return is accepted when you changed your mind.",
            "You get store credit only when an item does not fit."]),
    ("de", ["Eine Rückgabe ist nicht möglich, wenn Sie es sich anders überlegt haben.",
            "Sie erhalten nur Guthaben, wenn ein Artikel nicht passt."]),
    ("fr", ["Aucun retour n’est accepté si vous avez changé d’avis.",
            "Vous recevez uniquement un avoir si un article ne vous va pas."]),
    ("es", ["No aceptamos devoluciones si has cambiado de opinión.",
            "Solo recibes crédito de tienda si un artículo no te queda bien."]),
])
def test_a_reason_declined_or_settled_in_credit_only_is_said(
    tmp_path: Path, now: datetime, accept: str, rules: list[str],
) -> None:
    said = _sentences(tmp_path, now, REASONS, accept)
    assert said[1:3] == rules


@pytest.mark.parametrize(("accept", "bonus"), [
    ("en", "Choosing store credit adds a bonus of 10%, up to 20.00 EUR, 3,000 JPY and 6.500 KWD, "
           "in the currency you paid in."),
    ("de", "Wenn Sie Guthaben wählen, erhalten Sie 10\xa0% Bonus, höchstens 20,00\xa0€, 3.000\xa0¥ "
           "und 6,500\xa0KWD, in der Währung, in der Sie bezahlt haben."),
    ("fr", "Si vous choisissez un avoir, vous recevez un bonus de 10\xa0%, jusqu’à 20,00\xa0€, "
           "3\u202f000\xa0JPY et 6,500\xa0KWD, dans la devise de votre paiement."),
    ("es", "Si eliges crédito de tienda, recibes un bono del 10\xa0%, hasta 20,00\xa0€, "
           "3.000\xa0JPY y 6,500\xa0KWD, en la moneda en que pagaste."),
])
def test_a_capped_credit_bonus_says_its_cap_in_each_currency(
    tmp_path: Path, now: datetime, accept: str, bonus: str,
) -> None:
    # 10% of a 300.00 EUR return is 30.00 EUR, of which the shop gives 20.00 EUR
    said = _sentences(tmp_path, now, CAPPED_BONUS, accept)
    # the percentage as the reader writes it: "10%" in English, "10 %" (no-break) elsewhere
    assert [s for s in said if "10%" in s or "10\xa0%" in s] == [bonus]


FINAL_SALE = """\
name: final-sale
window: {days: 30}
final_sale: {tags: [final-sale], guarantee: %s}
"""


@pytest.mark.parametrize(("guarantee", "accept", "sentence"), [
    # a final-sale item that does not fit is declined too, not only a change of mind
    ("decline", "en", "Items sold as final sale can be returned only if something went wrong "
                      "on our side."),
    ("decline", "de", "Artikel, die vom Umtausch ausgeschlossen sind, können nur zurückgegeben "
                      "werden, wenn bei uns etwas schiefgelaufen ist."),
    ("decline", "fr", "Les articles vendus sans reprise ne peuvent être retournés que si "
                      "quelque chose s’est mal passé de notre côté."),
    ("decline", "es", "Los artículos de venta final solo se pueden devolver si algo salió mal "
                      "por nuestra parte."),
    # review: a person decides, so the page does not say they cannot come back
    ("review", "en", "A return of an item sold as final sale is looked at by a person first."),
    ("review", "de", "Die Rückgabe eines Artikels, der vom Umtausch ausgeschlossen ist, prüft "
                     "zuerst ein Mensch."),
    ("review", "fr", "Le retour d’un article vendu sans reprise est d’abord examiné par une "
                     "personne."),
    ("review", "es", "Una persona revisa primero la devolución de un artículo de venta final."),
])
def test_final_sale_is_said_as_the_guarantee_decides_it(
    tmp_path: Path, now: datetime, guarantee: str, accept: str, sentence: str,
) -> None:
    said = _sentences(tmp_path, now, FINAL_SALE % guarantee, accept)
    assert said[1] == sentence
