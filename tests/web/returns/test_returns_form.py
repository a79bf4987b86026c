"""A return form that is wrong (a line the order lacks, a line twice, more units than are left)
is shown again naming the line, with nothing recorded; a second submit of a decided form shows
the first decision; lines the policy refuses are decided line by line."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

import pytest

from tests.fakes.returns_client import errors, field, open_form, submit, words
from tests.fakes.returns_shop import ReturnsShop, order_event

LINES = [
    {"id": "l1", "sku": "MUG-1", "name": "Blue enamel mug", "quantity": 2, "unit_amount": 2500},
    {"id": "l2", "sku": "TEE-M", "name": "Linen shirt", "quantity": 1, "unit_amount": 4000,
     "tags": ["final-sale"]},
]


@pytest.fixture
def db_shop(any_db_url: str, now: datetime) -> Iterator[ReturnsShop]:
    s = ReturnsShop(any_db_url, lambda: now, {"policy": "preset:standard-30-day"})
    s.seed(order_event("1001", lines=LINES))
    yield s
    s.close()


@pytest.mark.parametrize(("fields", "said"), [
    pytest.param({"line-1-qty": "9", "line-1-reason": "damaged"},
                 ["Linen shirt: you can return only 1, not 9."], id="9-of-1"),
    pytest.param({"line-0-qty": "9", "line-0-reason": "damaged"},
                 ["Blue enamel mug: you can return at most 2, not 9."], id="9-of-2"),
    pytest.param({"line-0-id": "l9", "line-0-qty": "1", "line-0-reason": "damaged"},
                 ["Your order has no item l9. Please start your return again."], id="unknown"),
    pytest.param({"line-1-id": "l1", "line-0-qty": "1", "line-0-reason": "damaged",
                  "line-1-qty": "1", "line-1-reason": "damaged"},
                 ["Blue enamel mug is listed twice. Please choose it once."], id="twice"),
    pytest.param({"line-0-qty": "1", "line-0-reason": "damaged", "line-1-qty": "-1",
                  "line-1-reason": "damaged"},
                 ["Linen shirt: choose how many to return."], id="negative"),
])
def test_one_bad_line_shows_the_form_again_naming_it_and_records_nothing(
    db_shop: ReturnsShop, fields: dict[str, str], said: list[str]
) -> None:
    client = db_shop.app.test_client()
    form = open_form(client)
    before = db_shop.snapshot()

    resp = submit(client, form, **fields)

    assert resp.status_code == 400
    assert errors(resp) == said
    assert field(resp, "form_token") == field(form, "form_token")  # the same form, again
    assert db_shop.snapshot() == before  # no event, no decision, no attempt: no money moved


TOO_MANY = {"line-1-qty": "9", "line-1-reason": "damaged", "line-0-qty": "9",
            "line-0-reason": "damaged"}
NO_COUNT = {"line-0-qty": "1", "line-0-reason": "damaged", "line-1-qty": "-1",
            "line-1-reason": "damaged"}


@pytest.mark.parametrize(("accept", "fields", "said"), [
    ("fr", TOO_MANY, ["Linen shirt\u00a0: vous ne pouvez en retourner que 1, et non 9.",
                      "Blue enamel mug\u00a0: vous pouvez en retourner au plus 2, et non 9."]),
    ("es", TOO_MANY, ["Linen shirt: solo puedes devolver 1, no 9.",
                      "Blue enamel mug: puedes devolver como máximo 2, no 9."]),
    ("de", TOO_MANY, ["Linen shirt: Sie können nur 1 zurücksenden, nicht 9.",
                      "Blue enamel mug: Sie können höchstens 2 zurücksenden, nicht 9."]),
    ("en", NO_COUNT, ["Linen shirt: choose how many to return."]),
    ("fr", NO_COUNT, ["Linen shirt\u00a0: indiquez combien vous souhaitez en retourner."]),
    ("es", NO_COUNT, ["Linen shirt: elige cuántas unidades quieres devolver."]),
    ("de", NO_COUNT, ["Linen shirt: Wählen Sie, wie viele Sie zurücksenden möchten."]),
])
def test_a_lines_count_names_the_item_first_and_counts_in_the_readers_plural(
    db_shop: ReturnsShop, accept: str, fields: dict[str, str], said: list[str]
) -> None:
    """The item's name as the shop wrote it leads (no language can put "Linen shirt" in its
    plural or give it a gender), the count's words follow it: "only 1", "at most 2", "choose
    how many"; never "1 de Linen shirt", "1 × Linen shirt" nor "how many of Linen shirt"."""
    client = db_shop.app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = accept
    before = db_shop.snapshot()

    resp = submit(client, open_form(client), **fields)

    assert resp.status_code == 400
    # ``errors`` reads the box as words: the no-break space before ":" reads as a space
    assert sorted(errors(resp)) == sorted(" ".join(s.split()) for s in said)
    assert all(s in resp.get_data(as_text=True) for s in said)
    assert db_shop.snapshot() == before


def test_sending_a_single_unit_line_twice_shows_the_first_decision(db_shop: ReturnsShop) -> None:
    client = db_shop.app.test_client()
    form = open_form(client)
    picked = {"line-1-qty": "1", "line-1-reason": "damaged"}

    first = submit(client, form, **picked)
    again = submit(client, form, **picked)  # a double click, or a reload of the answer

    assert first.status_code == again.status_code == 200
    ref = re.search(r"Your reference: ([0-9a-f-]{36})", first.get_data(as_text=True))
    assert ref and f"Your reference: {ref.group(1)}" in again.get_data(as_text=True)
    assert words(again, "outcome") == ["Your return is approved"]
    assert errors(again) == []
    counts = db_shop.counts()
    assert (counts["decisions"], counts["refund_attempts"]) == (1, 1)


def test_a_request_with_one_refusable_line_is_decided_line_by_line(db_shop: ReturnsShop) -> None:
    client = db_shop.app.test_client()

    resp = submit(client, open_form(client), **{
        "line-0-qty": "1", "line-0-reason": "too_small",
        "line-1-qty": "1", "line-1-reason": "changed_mind"})

    assert resp.status_code == 200
    # partly: the refused line is named at the top with why, not only in the "Why" paragraph
    assert words(resp, "outcome") == ["Your return is partly approved"]
    html = resp.get_data(as_text=True)
    assert html.index('class="refused"') < html.index('class="money"')
    assert '<h2 id="refused-heading">Not included in this return</h2>' in html
    assert words(resp, "refused-line") == [
        "Linen shirt was sold as final sale and cannot be returned."]
    assert words(resp, "amount") == ["Refund to your original payment: 25.00 USD"]
    assert "Linen shirt was sold as final sale and cannot be returned." in words(
        resp, "explanation")[0]
    assert db_shop.counts()["decisions"] == 1
    status = client.get(re.search(r'href="(/returns/status/[^"]+)"', html).group(1))
    assert words(status, "outcome") == [
        "Your return is partly approved. Decided on 24 November 2026."]
    assert words(status, "refused-line") == [
        "Linen shirt was sold as final sale and cannot be returned."]
