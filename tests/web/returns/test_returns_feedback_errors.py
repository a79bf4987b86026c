""""How did we do?" refused (no rating among 1 to 5, an invisible character in the comment):
its message takes the focus like the look-up's and the order form's, since a screen reader
does not read out an alert that is already there when the page loads; nothing is kept."""

from __future__ import annotations

import re

import pytest

from refunds_plugin.ledger.tables import feedback
from tests.fakes.returns_client import open_form, submit
from tests.fakes.returns_shop import ReturnsShop


def _feedback_link(shop: ReturnsShop) -> str:
    client = shop.app.test_client()
    answer = submit(client, open_form(client), **{"line-0-qty": "1",
                                                  "line-0-reason": "changed_mind"})
    found = re.search(r'<form method="post" action="(/returns/feedback/[^"]+)" class="rate-us"',
                      answer.get_data(as_text=True))
    assert found
    return found.group(1)


@pytest.mark.parametrize(("form", "said"), [
    ({"rating": "9"}, "Please choose a number from 1 to 5. Nothing was recorded."),
    ({"rating": "4", "comment": "fine\x00"}, None),
])
def test_a_refused_answer_takes_the_focus_and_keeps_nothing(
    shop: ReturnsShop, form: dict[str, str], said: str | None,
) -> None:
    link = _feedback_link(shop)

    resp = shop.app.test_client().post(link, data=form)

    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    found = re.search(r'<p class="notice" role="alert" id="feedback-error" tabindex="-1" '
                      r'autofocus>([^<]+)</p>', html)
    assert found, html
    if said:
        assert found.group(1) == said
    assert html.index('id="feedback-error"') > html.index("<h1>")  # under the page's heading
    assert shop.rows(feedback) == []


def test_a_comment_with_a_nul_comes_back_in_its_box_less_the_nul_and_stores_nothing(
    shop: ReturnsShop,
) -> None:
    link = _feedback_link(shop)
    client = shop.app.test_client()
    assert client.post(link, data={"rating": "4"}).status_code == 200
    stored = shop.rows(feedback)

    resp = client.post(link, data={"rating": "4", "comment": "Quick <refund>\x00, thanks"})

    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert ('autofocus>What you entered contains an invisible control character that we cannot '
            "accept. Please remove it (type the text again rather than pasting it) and try "
            "again.</p>") in html
    box = re.search(r'<form method="post" action="([^"]+)" class="rate-us-comment">\s*'
                    r'<input type="hidden" name="rating" value="(\d)">.*?'
                    r'<textarea id="comment" name="comment" rows="3" maxlength="2000" '
                    r'aria-invalid="true" aria-describedby="feedback-error">([^<]*)</textarea>',
                    html, re.S)
    assert box is not None, html
    assert box.groups() == (link, "4", "Quick &lt;refund&gt;, thanks")
    assert shop.rows(feedback) == stored  # nothing stored with it

    # sent again as shown, it is kept
    again = client.post(link, data={"rating": "4", "comment": "Quick <refund>, thanks"})
    assert again.status_code == 200
    assert [r[1] for r in shop.rows(feedback)] == [4]
