"""The finance decision page shows what the customer was told, word for word: in test mode the
customer's answer and emails left out when the money arrives, so the page does too."""

from __future__ import annotations

from datetime import datetime

from markupsafe import escape

from refunds_plugin.finance.tokens import create_token
from tests.fakes.finance_scene import Scene
from tests.fakes.shop import Shop


def test_a_dry_run_decision_page_shows_the_answer_the_customer_got_with_no_promise(
    sqlite_url: str, now: datetime
) -> None:
    shop = Shop(sqlite_url, now)  # no Stripe key: the dry run
    shop.order("o-1", 2500, "ann@example.com")
    answer = shop.ask_return("o-1", "r-1")
    shop.pay_out()
    assert (answer["outcome"], answer["dry_run"]) == ("approve", True)
    token = create_token(shop.runtime.engine, "Fin Reader", "finance", now).secret
    scene = Scene(shop, token, token, answer["decision_id"], answer["decision_id"])

    page = scene.login(token).get(f"/finance/decisions/{answer['decision_id']}").get_data(
        as_text=True)

    told = f'<blockquote class="explanation">{escape(answer["explanation"])}</blockquote>'
    assert told in page
    assert "within 48 hours" not in page
    # the storefront's JSON answer carries no banner: only our own pages and emails show it
    assert ("<dt>Told the customer</dt><dd>no time for the money: when it was decided no money "
            "could move (the dry run), so the answer to the storefront gave none, and the "
            "returns pages and emails read “This shop is in test mode: no money moves.”</dd>"
            ) in page
    assert ('<dt>Money moved</dt><dd class="moved">25.00 EUR to the dry run (no money moved)'
            "</dd>") in page
    shop.runtime.engine.dispose()
