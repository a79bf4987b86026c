"""An order with nothing left to return lists its returns, each with its status link, instead of
a form that could only ever say "please choose at least one item"."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

import pytest

from tests.fakes.returns_client import open_form, submit, text, words
from tests.fakes.returns_shop import ReturnsShop, order_event

LINES = [{"id": "l1", "sku": "TEE-M", "name": "Linen shirt", "quantity": 1, "unit_amount": 4000}]


@pytest.fixture
def db_shop(any_db_url: str, now: datetime) -> Iterator[ReturnsShop]:
    s = ReturnsShop(any_db_url, lambda: now)
    s.seed(order_event("1001", lines=LINES))
    yield s
    s.close()


def test_a_fully_returned_order_lists_its_returns_with_their_status_links(
    db_shop: ReturnsShop,
) -> None:
    first = db_shop.app.test_client()
    answer = submit(first, open_form(first), **{"line-0-qty": "1", "line-0-reason": "damaged"})
    link = re.search(r'href="(/returns/status/[^"]+)"', answer.get_data(as_text=True))
    assert link
    before = db_shop.snapshot()

    later = db_shop.app.test_client()
    page = open_form(later)

    assert words(page, "notice") == ["A return has been requested for everything in this order."]
    assert words(page, "earlier-return") == [
        "Return requested on 24 November 2026: approved. Follow your money"]
    assert f'href="{link.group(1)}"' in page.get_data(as_text=True)
    assert 'name="form_token"' not in page.get_data(as_text=True)
    assert "Please choose at least one item" not in text(page)
    assert later.get(link.group(1)).status_code == 200
    assert db_shop.snapshot() == before
