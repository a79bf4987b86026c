"""A percentage is written as its reader writes it: a store credit bonus and a restocking fee
of 12.5% read "12,5 %" in German, French and Spanish (and a whole one "10 %"), on the order
form, the published policy, the quote, the answer and the status page alike, while English
keeps "12.5%" and the ledger keeps the English it said."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from html import unescape
from pathlib import Path

import pytest
from werkzeug.test import TestResponse

from refunds_plugin.ledger.tables import decisions
from tests.fakes.returns_client import open_form, reader, submit
from tests.fakes.returns_shop import ReturnsShop, order_event

NBSP = "\u00a0"  # Babel's space before "%" in de, fr, es: the sign never wraps to its own line

POLICY = """\
name: percent-words
window: {days: 30, start: delivery, outside: decline}
resolution:
  default: refund
  allow: [refund, credit]
  credit_bonus_percent: "12.5"
fees:
  restocking_percent: "12.5"
"""


@pytest.fixture
def shop(sqlite_url: str, now: datetime, tmp_path: Path) -> Iterator[ReturnsShop]:
    path = tmp_path / "percent.yaml"
    path.write_text(POLICY)
    s = ReturnsShop(sqlite_url, lambda: now, {"policy": str(path)})
    s.seed(order_event("1001", shipping=0, lines=[
        {"id": "l1", "sku": "LAMP-1", "name": "Brass lamp", "quantity": 1, "unit_amount": 8000},
        {"id": "l2", "sku": "CUP-1", "name": "Cup", "quantity": 1, "unit_amount": 1000}]))
    yield s
    s.close()


def _policy_sentences(shop: ReturnsShop, accept: str) -> list[str]:
    html = reader(shop, accept).get("/returns/policy").get_data(as_text=True)
    block = html.split('<ul class="policy">')[1].split("</ul>")[0]
    return [_plain(s) for s in re.findall(r"<li>(.*?)</li>", block, re.S)]


def _plain(html: str) -> str:
    """Text as read, tags dropped, runs of ASCII white space one space; a no-break space kept
    (``str.split`` would take it for a space)."""
    return re.sub(r"[ \t\r\n]+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def _explained(page: TestResponse) -> str:
    (found,) = re.findall(r'<(\w+)[^>]*class="explanation[^"]*"[^>]*>(.*?)</\1>',
                          page.get_data(as_text=True), re.S)
    return _plain(found[1])


@pytest.mark.parametrize(("accept", "bonus", "restocking", "policy_bonus"), [
    ("en", "Store credit, with a 12.5% bonus",
     "For a return that is not our fault, a restocking fee of 12.5% is taken from your refund.",
     "Choosing store credit adds a bonus of 12.5%."),
    ("de", "Guthaben, mit 12,5 % Bonus",
     f"Bei einer Rücksendung, die nicht unser Fehler ist, ziehen wir eine "
     f"Wiedereinlagerungsgebühr von 12,5{NBSP}% von Ihrer Erstattung ab.",
     f"Wenn Sie Guthaben wählen, erhalten Sie 12,5{NBSP}% Bonus."),
    ("fr", "Avoir, avec un bonus de 12,5 %",
     f"Pour un retour qui n’est pas de notre fait, des frais de remise en stock de "
     f"12,5{NBSP}% sont déduits de votre remboursement.",
     f"Si vous choisissez un avoir, vous recevez un bonus de 12,5{NBSP}%."),
    ("es", "Crédito de tienda, con un 12,5 % de bono",
     f"En una devolución que no es culpa nuestra, descontamos de tu reembolso una tarifa "
     f"de reposición del 12,5{NBSP}%.",
     f"Si eliges crédito de tienda, recibes un bono del 12,5{NBSP}%."),
])
def test_the_form_and_the_published_policy_write_a_percentage_as_the_reader_does(
    shop: ReturnsShop, accept: str, bonus: str, restocking: str, policy_bonus: str,
) -> None:
    form = open_form(reader(shop, accept))
    assert bonus in _plain(form.get_data(as_text=True)), bonus

    sentences = _policy_sentences(shop, accept)
    assert policy_bonus in sentences, sentences
    assert restocking in sentences, sentences


@pytest.mark.parametrize(("accept", "fee"), [
    ("en", "12.5% restocking fee"),
    ("de", f"Wir haben eine Wiedereinlagerungsgebühr (12,5{NBSP}%) von 10,00{NBSP}$ abgezogen"),
    ("fr", f"frais de remise en stock (12,5{NBSP}%)"),
    ("es", f"gastos de reposición (12,5{NBSP}%)"),
])
def test_the_quote_answer_and_status_name_the_restocking_fee_in_the_readers_numbers(
    shop: ReturnsShop, accept: str, fee: str,
) -> None:
    client = reader(shop, accept)
    form = open_form(client)
    picked = {"line-0-qty": "1", "line-0-reason": "changed_mind", "resolution": "refund"}
    quote = submit(client, form, step="quote", **picked)
    answer = submit(client, form, **picked)
    status = client.get(answer.request.path.replace("/answer/", "/status/"))

    for page in (quote, answer, status):
        explained = _explained(page)
        assert fee in explained, explained
        assert "12.5%" not in explained or accept == "en", explained
    assert "12.5% restocking fee" in _explanation(shop)  # the ledger keeps the English


def _explanation(shop: ReturnsShop) -> str:
    with shop.runtime.engine.connect() as conn:
        (text,) = conn.execute(decisions.select().with_only_columns(
            decisions.c.explanation)).scalars().all()
    return str(text)
