"""The withdrawal form's own sentences about a line name the item first, as the shop wrote it:
no language can put "Mug" in its plural or give it a gender, so it never follows "how many of"."""

from __future__ import annotations

import pytest

from tests.integration.withdrawal.conftest import EMAIL, Shop, words


@pytest.mark.parametrize(("language", "said"), [
    ("en", "Mug: choose how many to return, from 0 to 2."),
    ("de", "Mug: Wählen Sie, wie viele Sie zurücksenden möchten, von 0 bis 2."),
    ("fr", "Mug\u00a0: indiquez combien vous souhaitez en retourner, de 0 à 2."),
    ("es", "Mug: elige cuántas unidades quieres devolver, de 0 a 2."),
])
def test_more_units_than_the_line_has_name_the_item_first(
    shop: Shop, language: str, said: str
) -> None:
    shop.paid()
    before = shop.recorded()
    client = shop.h.client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language

    too_many = shop.step(client, shop.open(client), "confirm", scope="some", name="Anna",
                         email=EMAIL, **{"line-0-id": "l1", "line-0-qty": "3"})

    assert too_many.status_code == 400
    assert said in too_many.get_data(as_text=True)  # French: a no-break space before ":"
    assert "Mug, " not in words(too_many)  # never "how many of Mug, from 0 to 2"
    shop.h.drain()
    assert shop.recorded() == before
