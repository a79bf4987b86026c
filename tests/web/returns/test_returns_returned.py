"""An order with nothing left to return lists its returns, each with its status link, instead of
a form that could only ever say "please choose at least one item"."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import select, update

from refunds_plugin.ledger.tables import decisions
from tests.fakes import Clock
from tests.fakes.returns_client import open_form, submit, text, words
from tests.fakes.returns_shop import SECRET, ReturnsShop, order_event
from webhooks import signatures

LINES = [{"id": "l1", "sku": "TEE-M", "name": "Linen shirt", "quantity": 1, "unit_amount": 4000}]


@pytest.fixture
def db_shop(any_db_url: str, now: datetime) -> Iterator[ReturnsShop]:
    s = ReturnsShop(any_db_url, lambda: now)
    s.seed(order_event("1001", lines=LINES))
    yield s
    s.close()


@pytest.fixture
def db_shop_two_mugs(any_db_url: str, now: datetime) -> Iterator[ReturnsShop]:
    s = ReturnsShop(any_db_url, lambda: now)
    s.seed(order_event("1001", lines=[{"id": "l1", "sku": "MUG-1", "name": "Blue enamel mug",
                                       "quantity": 2, "unit_amount": 2500}]))
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
        "Return of Linen shirt requested on 24 November 2026: approved. Follow your money"]
    assert f'href="{link.group(1)}"' in page.get_data(as_text=True)
    assert 'name="form_token"' not in page.get_data(as_text=True)
    assert "Please choose at least one item" not in text(page)
    assert later.get(link.group(1)).status_code == 200
    assert db_shop.snapshot() == before


SHIRTS = [{"id": "l1", "sku": "TEE-M", "name": "Linen shirt", "quantity": 4, "unit_amount": 4000},
          {"id": "l2", "sku": "BELT", "name": "Belt", "quantity": 1, "unit_amount": 2500}]


def test_returns_of_the_same_day_each_say_what_and_when_so_no_two_lines_read_the_same(
    any_db_url: str, clock: Clock,
) -> None:
    """Four returns on one day: a shirt at 12:00, the belt with a shirt at 12:00, a shirt at
    15:30, a shirt at 15:30 again. Each line names its items; the two single shirts say the
    minute; the two asked in the same minute are one line with a link each."""
    shop = ReturnsShop(any_db_url, clock)
    try:
        shop.seed(order_event("1001", lines=SHIRTS))

        def ask(**fields: str) -> str:
            client = shop.app.test_client()
            answer = submit(client, open_form(client), **fields)
            link = re.search(r'href="(/returns/status/[^"]+)"', answer.get_data(as_text=True))
            assert link
            return link.group(1)

        one_shirt = {"line-0-qty": "1", "line-0-reason": "damaged"}
        links = [ask(**one_shirt),
                 ask(**one_shirt, **{"line-1-qty": "1", "line-1-reason": "damaged"})]
        clock.advance(3.5 * 3600)
        links += [ask(**one_shirt)]
        page = open_form(shop.app.test_client())
        # shirts are left: the form, and the returns so far with their links
        assert 'name="form_token"' in page.get_data(as_text=True)
        assert len(words(page, "earlier-return")) == 3
        links += [ask(**one_shirt)]

        page = open_form(shop.app.test_client())
        listed = words(page, "earlier-return")  # oldest first; the first two in either order
        assert sorted(listed[:2]) == [
            "Return of Linen shirt and Belt requested on 24 November 2026: approved. "
            "Follow your money",
            "Return of Linen shirt requested on 24 November 2026, 12:00 UTC: approved. "
            "Follow your money"]
        assert listed[2:] == [
            "Return of Linen shirt requested on 24 November 2026, 15:30 UTC: approved. "
            "Follow your money · Follow your money"]
        html = page.get_data(as_text=True)
        assert [html.count(f'href="{link}"') for link in links] == [1, 1, 1, 1]
        assert len(set(words(page, "earlier-return"))) == 3
    finally:
        shop.close()


SHIRT_AND_BELT = [
    {"id": "l1", "sku": "TEE-M", "name": "Linen shirt", "quantity": 1, "unit_amount": 4000},
    {"id": "l2", "sku": "BELT", "name": "Belt", "quantity": 1, "unit_amount": 2500}]


@pytest.mark.parametrize("stored", ['{"lines": [{"line_id": "l1", "quanti', '["l1", 1]'])
def test_a_return_whose_stored_request_cannot_be_read_is_one_line_and_the_others_are_listed(
    any_db_url: str, clock: Clock, stored: str,
) -> None:
    """The shirt's return request, as stored, was cut short (or edited into another shape):
    the customer still sees the order's returns, that one as a line saying it cannot be shown
    with its status link, the belt's as usual; nothing quotes the stored row."""
    shop = ReturnsShop(any_db_url, clock)
    try:
        shop.seed(order_event("1001", lines=SHIRT_AND_BELT))
        first = shop.app.test_client()
        submit(first, open_form(first), **{"line-0-qty": "1", "line-0-reason": "damaged"})
        clock.advance(3600)
        second = shop.app.test_client()
        submit(second, open_form(second), **{"line-1-qty": "1", "line-1-reason": "damaged"})
        with shop.runtime.engine.begin() as conn:
            shirt = conn.execute(select(decisions.c.id).where(
                decisions.c.request.like('%"l1"%'))).scalar_one()
            conn.execute(update(decisions).where(decisions.c.id == shirt)
                         .values(request=stored))

        client = shop.app.test_client()
        page = open_form(client)
        german = client.get("/returns/order", headers={"Accept-Language": "de"})

        assert page.status_code == 200, page.get_data(as_text=True)
        assert words(page, "earlier-return") == [
            "A return requested on 24 November 2026 cannot be shown right now; our team has "
            "been told. Follow your money",
            "Return of Belt requested on 24 November 2026: approved. Follow your money"]
        assert words(german, "earlier-return")[0] == (
            "Eine am 24. November 2026 beantragte Rücksendung kann gerade nicht angezeigt "
            "werden; unser Team ist informiert. Ihr Geld verfolgen")
        assert stored not in page.get_data(as_text=True)
    finally:
        shop.close()


EARLIER_WORDS = {
    "en": ("You have already asked to return 1 of the 2 you ordered. See where your returns are",
           "Return of Blue enamel mug requested on 24 November 2026: approved. "
           "Follow your money"),
    "de": ("Für 1 der 2 bestellten Stück haben Sie bereits eine Rücksendung angefragt. Sehen, "
           "wo Ihre Rücksendungen gerade sind",
           "Rücksendung von Blue enamel mug, beantragt am 24. November 2026: genehmigt. "
           "Ihr Geld verfolgen"),
    "fr": ("Vous avez déjà demandé le retour de 1 des 2 unités commandées. Voir où en sont vos "
           "retours",  # words() reads the no-break space before ":" as a space
           "Retour de Blue enamel mug demandé le 24 novembre 2026 : accepté. Suivre votre argent"),
    "es": ("Ya ha solicitado devolver 1 de las 2 unidades que pidió. Ver dónde están tus "
           "devoluciones",
           "Devolución de Blue enamel mug solicitada el 24 de noviembre de 2026: aprobada. "
           "Sigue tu dinero"),
}


@pytest.mark.parametrize("lang", ["en", "de", "fr", "es"])
def test_an_order_with_units_left_lists_its_earlier_returns_with_their_status_links(
    db_shop_two_mugs: ReturnsShop, lang: str,
) -> None:
    """One of two mugs is in a return: the form still offers the other, the line says one was
    asked for and links to the list of the order's returns, each with its status link, as an
    order with nothing left shows them."""
    first = db_shop_two_mugs.app.test_client()
    answer = submit(first, open_form(first), **{"line-0-qty": "1", "line-0-reason": "damaged"})
    link = re.search(r'href="(/returns/status/[^"]+)"', answer.get_data(as_text=True))
    assert link
    before = db_shop_two_mugs.snapshot()

    later = db_shop_two_mugs.app.test_client()
    open_form(later)
    page = later.get(f"/returns/order?lang={lang}")  # the language chosen on the page
    html = page.get_data(as_text=True)

    assert 'name="form_token"' in html  # the other mug can still go back
    assert words(page, "note") == [EARLIER_WORDS[lang][0]]
    assert '<a href="#earlier-returns">' in html and 'id="earlier-returns"' in html
    assert words(page, "earlier-return") == [EARLIER_WORDS[lang][1]]
    assert html.count(f'href="{link.group(1)}"') == 1
    assert later.get(link.group(1)).status_code == 200
    assert db_shop_two_mugs.snapshot() == before


def test_a_return_the_storefront_sent_late_is_listed_on_the_day_the_customer_asked(
    sqlite_url: str, now: datetime
) -> None:
    """A storefront that queued a request sends its ``requested_at``: the policy decides as of
    then, and the customer's page says they asked then, not the day the event arrived."""
    shop = ReturnsShop(sqlite_url, lambda: now)
    try:
        shop.seed(order_event("1001", lines=LINES))
        body = json.dumps({"id": "evt_r1", "type": "return.requested", "created": 1763500000,
                           "data": {"return": {
                               "id": "r-1", "order_id": "1001",
                               "requested_at": "2026-11-19T23:30:00-05:00",  # 20 Nov, UTC
                               "lines": [{"line_id": "l1", "quantity": 1,
                                          "reason": "changed_mind"}]}}}).encode()
        sent = shop.app.test_client().post(
            "/webhooks/storefront", data=body, headers={
                "Refunds-Signature": signatures.sign(SECRET, body, int(now.timestamp())),
                "Content-Type": "application/json"})
        assert sent.status_code == 201, sent.get_data(as_text=True)

        client = shop.app.test_client()
        assert words(open_form(client), "earlier-return") == [
            "Return of Linen shirt requested on 20 November 2026: approved. Follow your money"]
    finally:
        shop.close()
