"""The reader chooses the pages' language (a link per catalogue language, ``?lang=``), and the
choice is kept for the rest of the return, over the order's own language, and with the return
it asked for (its status page; its emails: ``tests/integration/notify/test_email_chosen_language``);
a ``lang`` naming no shipped language changes nothing."""

from __future__ import annotations

import re

from tests.fakes.returns_client import field, lookup, reader, submit, text
from tests.fakes.returns_shop import EMAIL, ReturnsShop

NAV = re.compile(r'<nav class="languages[^"]*" aria-label="([^"]*)">(.*?)</nav>', re.S)


def choices(html: str) -> tuple[str, list[tuple[str, ...]]]:
    """The choice's label and its links: (href, lang, hreflang, current, name)."""
    nav = NAV.search(html)
    assert nav, "no language choice on the page"
    links = re.findall(r'<a href="([^"]*)" lang="([^"]*)" hreflang="([^"]*)"'
                       r'( aria-current="true")?>([^<]*)</a>', nav.group(2))
    return nav.group(1), [(h.replace("&amp;", "&"), lg, hl, bool(c), n)
                          for h, lg, hl, c, n in links]


def test_each_page_offers_every_catalogue_language_named_in_itself(
    french_order_shop: ReturnsShop,
) -> None:
    client = reader(french_order_shop, "de-DE,de;q=0.9")

    label, links = choices(client.get("/returns").get_data(as_text=True))

    assert label == "Sprache"
    assert links == [
        ("/returns?lang=en", "en", "en", False, "English"),
        ("/returns?lang=de", "de", "de", True, "Deutsch"),
        ("/returns?lang=fr", "fr", "fr", False, "Français"),
        ("/returns?lang=es", "es", "es", False, "Español")]


def test_a_chosen_language_beats_the_orders_and_is_kept_through_the_return(
    french_order_shop: ReturnsShop,
) -> None:
    """The order says French, the browser German: the customer picks Spanish on the order page,
    and the quote, the (CSRF-checked) send, the answer and the status page stay Spanish."""
    client = reader(french_order_shop, "de-DE,de;q=0.9")
    assert lookup(client, "1001", EMAIL).status_code == 303
    french = client.get("/returns/order")
    assert "Commande 1001" in text(french)
    _label, links = choices(french.get_data(as_text=True))
    assert links[3][0] == "/returns/order?lang=es"

    form = client.get(links[3][0])
    again = client.get("/returns/order")  # no lang in the address: the choice is kept

    assert '<html lang="es">' in form.get_data(as_text=True)
    assert "Pedido 1001" in text(form) and "Pedido 1001" in text(again)
    assert choices(again.get_data(as_text=True))[1][3] == (
        "/returns/order?lang=es", "es", "es", True, "Español")
    answer = submit(client, again, **{"line-0-qty": "1", "line-0-reason": "changed_mind"})
    assert answer.status_code == 200
    assert '<html lang="es">' in answer.get_data(as_text=True)
    assert "Tu devolución está aprobada" in text(answer)
    status = re.search(r'href="(/returns/status/[^"]+)"', answer.get_data(as_text=True))
    assert status
    assert "Dónde está tu dinero" in text(client.get(status.group(1)))
    # the link (the one in the return's emails, written in Spanish too) opened in another
    # browser, without the session's choice, reads the language chosen when asking
    assert "Dónde está tu dinero" in text(french_order_shop.app.test_client().get(
        status.group(1)))


def test_a_language_chosen_on_the_look_up_page_carries_into_the_order(
    french_order_shop: ReturnsShop,
) -> None:
    client = reader(french_order_shop, "fr")
    start = client.get("/returns?lang=de")
    posted = client.post("/returns", data={"csrf_token": field(start, "csrf_token"),
                                           "order_number": "1001", "email": EMAIL})

    assert posted.status_code == 303
    assert "Rücksendung starten" in text(start)
    assert "Bestellung 1001" in text(client.get("/returns/order"))


def test_a_lang_that_names_no_shipped_language_is_ignored(
    french_order_shop: ReturnsShop,
) -> None:
    client = reader(french_order_shop, "de")
    assert lookup(client, "1001", EMAIL).status_code == 303

    pages = [client.get("/returns/order", query_string={"lang": v})
             for v in ("it", "xx", "<b>", "", "deutsch")]

    assert [p.status_code for p in pages] == [200] * 5
    assert all("Commande 1001" in text(p) for p in pages)  # the order's French, as before
    assert "Rücksendung starten" in text(client.get("/returns?lang=zz"))  # the browser's
