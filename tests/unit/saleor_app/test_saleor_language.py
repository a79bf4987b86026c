"""A Saleor order's language (``languageCodeEnum``, in 3.20 and 3.23 alike) becomes the order's
locale, so its emails and pages are in that language."""

from __future__ import annotations

import pytest

from refunds_plugin.language import pick
from refunds_plugin.saleor.graphql import ORDER_FIELDS
from refunds_plugin.saleor.order import order_from_saleor
from tests.unit.saleor_app.test_saleor_amounts import _order


def test_the_order_query_asks_for_the_language() -> None:
    # validated against both schemas by test_saleor_contract (every document the app sends)
    assert "languageCodeEnum" in ORDER_FIELDS


@pytest.mark.parametrize(("code", "locale", "reader"), [
    ("DE", "de", "de"), ("FR_CH", "fr-ch", "fr"), ("PT_BR", "pt-br", "en"), (None, None, "en")])
def test_the_language_code_becomes_the_orders_locale(code: str | None, locale: str | None,
                                                     reader: str) -> None:
    rec = order_from_saleor(_order(languageCodeEnum=code), "u").record

    assert rec.locale == locale
    assert pick(rec.locale, default="en") == reader  # a language not shipped: the default
