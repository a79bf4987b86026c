""""How did we do?" opened from the answer, the status page or an email: in the order's
language (as the status page is), asked once on its page, and "you can change it" said only
once there is an answer to change."""

from __future__ import annotations

import re

from refunds_plugin.ledger.tables import feedback
from tests.fakes.returns_client import open_form, reader, submit, text, words
from tests.fakes.returns_shop import ReturnsShop

ENGLISH = "en-US,en;q=0.9"  # the browser's language, which the order's wins over


def _feedback_link(shop: ReturnsShop) -> str:
    """The link the answer page's 1-5 buttons post to, which the emails carry too."""
    client = shop.app.test_client()
    answer = submit(client, open_form(client), **{"line-0-qty": "1",
                                                  "line-0-reason": "changed_mind"})
    found = re.search(r'<form method="post" action="(/returns/feedback/[^"]+)" class="rate-us"',
                      answer.get_data(as_text=True))
    assert found
    return found.group(1)


def _headings(html: str) -> list[str]:
    return [" ".join(re.sub(r"<[^>]+>", " ", h).split())
            for h in re.findall(r"<h[12][^>]*>(.*?)</h[12]>", html, re.S)]


def test_the_mail_link_opens_the_question_in_the_orders_language(
    french_order_shop: ReturnsShop,
) -> None:
    link = _feedback_link(french_order_shop)

    page = reader(french_order_shop, ENGLISH).get(link)  # the customer's mail app, in English

    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<html lang="fr">' in html
    assert _headings(html) == ["Comment nous en sommes-nous sortis ?"]  # asked once
    assert words(page, "hint") == ["Choisissez une note : 1 pour mauvais, 5 pour excellent.",
                                   "Vous pouvez répondre jusqu'au 8 décembre 2026."]
    assert "modifier" not in text(page)  # nothing answered yet: nothing to change


def test_a_rating_from_the_french_page_is_thanked_in_french(french_order_shop: ReturnsShop) -> None:
    link = _feedback_link(french_order_shop)

    thanked = reader(french_order_shop, ENGLISH).post(link, data={"rating": "4"})

    html = thanked.get_data(as_text=True)
    assert thanked.status_code == 200
    assert '<html lang="fr">' in html
    assert _headings(html)[0] == "Merci"
    assert words(thanked, "notice") == ["Nous avons bien reçu votre réponse : 4 sur 5."]
    assert "Vous pouvez la modifier jusqu'au 8 décembre 2026." in words(thanked, "hint")
    assert "Thank you" not in html
    assert [r[1] for r in french_order_shop.rows(feedback)] == [4]


def test_an_answered_question_says_until_when_it_can_be_changed(shop: ReturnsShop) -> None:
    link = _feedback_link(shop)
    client = reader(shop, ENGLISH)

    before = client.get(link)
    client.post(link, data={"rating": "2"})
    after = client.get(link)

    assert _headings(before.get_data(as_text=True)) == ["How did we do?"]
    assert words(before, "hint")[-1] == "You can answer until 8 December 2026."
    assert words(after, "hint")[-1] == "You can change it until 8 December 2026."
    page = after.get_data(as_text=True)
    assert 'value="2" class="rating chosen" aria-pressed="true" aria-label="2 of 5"' in page
    assert 'value="3" class="rating" aria-pressed="false"' in page  # said to a screen reader too
    assert "aria-pressed" not in before.get_data(as_text=True)  # nothing chosen yet


def test_a_forged_link_says_nothing_about_the_order_and_stays_in_the_browsers_language(
    french_order_shop: ReturnsShop,
) -> None:
    link = _feedback_link(french_order_shop)

    forged = reader(french_order_shop, ENGLISH).post(link[:-2] + "xx", data={"rating": "5"})

    assert forged.status_code == 404
    assert '<html lang="en">' in forged.get_data(as_text=True)
    assert words(forged, "notice") == [
        "This feedback link is not valid. Nothing was recorded."]
    assert french_order_shop.rows(feedback) == []
