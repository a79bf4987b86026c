"""A return that moves no money (an exchange for an item of the same price, a decline) is not
told to "follow your money": its answer's link and its status page speak of the return."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from html import unescape as html_unescape
from pathlib import Path

import pytest

from tests.fakes.returns_client import open_form, reader, submit, words
from tests.fakes.returns_shop import ReturnsShop, order_event

POLICY = """
window: {days: 60}
reasons: {changed_mind: decline}
resolution: {allow: [refund, credit, exchange]}
exchange: {scope: same_product}
"""


@pytest.fixture
def shop(sqlite_url: str, now: datetime, tmp_path: Path) -> Iterator[ReturnsShop]:
    policy = tmp_path / "even.yaml"
    policy.write_text(POLICY)
    s = ReturnsShop(sqlite_url, lambda: now, {"policy": str(policy)})
    lines = [{"id": "l1", "sku": "TEE-M", "name": "Linen shirt", "quantity": 1,
              "unit_amount": 4000, "variants": [
                  {"sku": "TEE-L", "name": "Linen shirt L", "unit_amount": 4000,
                   "in_stock": True}]},
             {"id": "l2", "sku": "MUG-1", "name": "Blue enamel mug", "quantity": 1,
              "unit_amount": 2500}]
    s.seed(order_event("1001", lines=lines))
    yield s
    s.close()


def _heading(html: str) -> str:
    found = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S)
    assert found
    return html_unescape(found.group(1)).strip()


@pytest.mark.parametrize(("fields", "heading"), [
    ({"line-0-qty": "1", "line-0-reason": "too_small", "line-0-exchange": "TEE-L"},
     "Your return is approved"),
    ({"line-1-qty": "1", "line-1-reason": "changed_mind"}, "We can't accept this return"),
])
def test_a_return_with_no_money_in_it_links_to_where_the_return_is(
    shop: ReturnsShop, fields: dict[str, str], heading: str,
) -> None:
    client = shop.app.test_client()
    answer = submit(client, open_form(client), **fields)
    assert answer.status_code == 200
    assert _heading(answer.get_data(as_text=True)) == heading
    assert words(answer, "status-link", "id") == ["Follow your return"]
    assert words(answer, "hint")[0] == (
        "Keep this link: it shows where your return is, without logging in.")
    link = re.search(r'id="status-link" href="([^"]+)"', answer.get_data(as_text=True))
    assert link
    status = client.get(link.group(1)).get_data(as_text=True)
    assert _heading(status) == "Where your return is"
    assert "Where your money is" not in status and "Follow your money" not in status


def test_in_german_the_even_exchange_is_followed_as_a_return(shop: ReturnsShop) -> None:
    client = reader(shop, "de-DE")
    answer = submit(client, open_form(client), **{
        "line-0-qty": "1", "line-0-reason": "too_small", "line-0-exchange": "TEE-L"})
    assert words(answer, "status-link", "id") == ["Ihre Rücksendung verfolgen"]
    link = re.search(r'id="status-link" href="([^"]+)"', answer.get_data(as_text=True))
    assert link
    assert _heading(client.get(link.group(1)).get_data(as_text=True)) == (
        "Wo Ihre Rücksendung gerade ist")
