"""The price the returns page shows for each line is what the customer paid for it, exactly:
one unit's ("20.00 USD each") when every unit left is worth the same, else all the units left
together ("15.02 USD for 3"), never a rounded figure; in the reader's language."""

from __future__ import annotations

from refunds_plugin.ledger.tables import decisions
from tests.fakes.returns_client import open_form, submit, words
from tests.fakes.returns_shop import ReturnsShop, order_event


def test_a_discounted_order_shows_the_price_paid_not_the_list_price(shop: ReturnsShop) -> None:
    """Two 25.00 mugs and a 40.00 shirt with a 20% code (72.00 and 5.00 shipping): the page says
    what one more of each is worth back, the same amount the decision then refunds."""
    event = order_event("1002")
    event["data"]["order"]["total_amount"] = 7700
    shop.seed(event)

    text = open_form(shop.app.test_client(), "1002").get_data(as_text=True)

    assert "20.00 USD each" in text and "32.00 USD each" in text
    assert "25.00 USD each" not in text and "40.00 USD each" not in text


def test_a_price_that_does_not_split_into_whole_cents_is_shown_for_all_the_units(
        shop: ReturnsShop) -> None:
    """Three glasses at 10.00 and a 10.00 shirt for 20.02 in all: the glasses were charged 15.02
    (the discount spread in whole cents), so one glass is 5.00, 5.00 or 5.02, never "5.00 each".
    The page says the price of all the glasses left; the decision refunds exactly that."""
    event = order_event("1003", shipping=0, lines=[
        {"id": "l1", "sku": "GLS-1", "name": "Tea glass", "quantity": 3, "unit_amount": 1000},
        {"id": "l2", "sku": "TEE-M", "name": "Linen shirt", "quantity": 1, "unit_amount": 1000}])
    event["data"]["order"]["total_amount"] = 2002
    shop.seed(event)
    client = shop.app.test_client()

    form = open_form(client, "1003")
    assert words(form, "price") == ["15.02 USD for 3", "5.00 USD each"]

    picked = {"line-0-qty": "1", "line-0-reason": "changed_mind"}
    assert submit(client, form, **picked).status_code == 200
    refunded = list(decisions.c.keys()).index("refund_amount")
    # the first glass: 15.02 less the two left, 10.02
    assert [row[refunded] for row in shop.rows(decisions)] == [500]

    again = open_form(client, "1003")
    assert words(again, "price") == ["10.02 USD for 2", "5.00 USD each"]

    assert submit(client, again, **picked).status_code == 200
    last = open_form(client, "1003")
    assert words(last, "price") == ["5.02 USD each", "5.00 USD each"]  # one left: its own price

    assert submit(client, last, **picked).status_code == 200
    assert sorted(row[refunded] for row in shop.rows(decisions)) == [500, 500, 502]
    # every glass back: the line's whole price, as the customer paid it, and no "each"
    assert words(open_form(client, "1003"), "price") == ["15.02 USD for 3", "5.00 USD each"]


def test_a_price_for_several_units_reads_in_the_readers_language(shop: ReturnsShop) -> None:
    event = order_event("1004", shipping=0, lines=[
        {"id": "l1", "sku": "GLS-1", "name": "Tea glass", "quantity": 3, "unit_amount": 1000},
        {"id": "l2", "sku": "TEE-M", "name": "Linen shirt", "quantity": 1, "unit_amount": 1000}])
    event["data"]["order"]["total_amount"] = 2002
    shop.seed(event)

    seen = {}
    for accept in ("de-DE", "es-ES", "fr-FR"):
        client = shop.app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = accept
        seen[accept] = words(open_form(client, "1004"), "price")[0]

    assert seen == {"de-DE": "15,02 $ für 3 Stück", "es-ES": "15,02 US$ por 3 unidades",
                    "fr-FR": "15,02 $US pour 3 unités"}
