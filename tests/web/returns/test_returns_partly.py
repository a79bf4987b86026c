"""A request the policy approves for some lines and refuses for others (``partially_approved``):
headed "partly approved" in each language, with each refused line and why at the top of the
answer, the quote and the status page, not only in the "Why" paragraph."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from markupsafe import escape

from tests.fakes.returns_client import open_form, reader, submit, words
from tests.fakes.returns_shop import ReturnsShop, order_event

POLICY = """\
currency: USD
window: {days: 30}
reasons: {changed_mind: decline}
"""
CHANGED_MIND_REFUSED = {"line-0-qty": "1", "line-0-reason": "damaged",
                        "line-1-qty": "1", "line-1-reason": "changed_mind"}


@pytest.fixture
def shop(sqlite_url: str, now: datetime, tmp_path: Path) -> Iterator[ReturnsShop]:
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    s = ReturnsShop(sqlite_url, lambda: now, {"policy": str(tmp_path / "policy.yaml")})
    s.seed(order_event("1001"))
    yield s
    s.close()


def test_a_refused_line_is_named_with_why_under_a_partly_approved_heading(
    shop: ReturnsShop,
) -> None:
    client = reader(shop, "en")
    form = open_form(client)

    quote = submit(client, form, step="quote", **CHANGED_MIND_REFUSED)
    answer = submit(client, form, **CHANGED_MIND_REFUSED)
    status = client.get(re.search(r'href="(/returns/status/[^"]+)"',
                                  answer.get_data(as_text=True)).group(1))

    html = answer.get_data(as_text=True)
    assert words(answer, "outcome") == ["Your return is partly approved"]
    assert "<title>Your return is partly approved · Harbour &amp; Co</title>" in html
    refused = ['<section class="refused" aria-labelledby="refused-heading">',
               '<h2 id="refused-heading">Not included in this return</h2>',
               '<ul><li class="refused-line">Linen shirt: Returns because of &#39;changed '
               'mind&#39; are not accepted.</li></ul>']
    assert re.findall(r"<section class=\"refused\"[^>]*>|<h2 id=\"refused-heading\">.*?</h2>|"
                      r"<ul><li class=\"refused-line\">.*?</ul>", html) == refused
    assert html.index('class="refused"') < html.index('class="money"')  # near the top
    assert words(answer, "amount") == ["Refund to your original payment: 30.00 USD"]
    assert words(quote, "refused-line") == words(status, "refused-line") == [
        "Linen shirt: Returns because of 'changed mind' are not accepted."]
    assert words(status, "outcome") == [
        "Your return is partly approved. Decided on 24 November 2026."]


@pytest.mark.parametrize(("accept", "heading", "line"), [
    ("de", "Ihre Rücksendung ist teilweise genehmigt",
     "Linen shirt: Rücksendungen mit dem Grund „Meinungsänderung“ werden nicht angenommen."),
    ("fr", "Votre retour est partiellement accepté",
     "Linen shirt\u00a0: Les retours pour le motif «\u202fchangement d'avis\u202f» ne sont pas "
     "acceptés."),
    ("es", "Tu devolución está aprobada en parte",
     "Linen shirt: No se aceptan las devoluciones por el motivo «cambio de opinión»."),
])
def test_the_partly_approved_answer_is_said_in_the_readers_language(
    shop: ReturnsShop, accept: str, heading: str, line: str,
) -> None:
    client = reader(shop, accept)

    answer = submit(client, open_form(client), **CHANGED_MIND_REFUSED)

    assert words(answer, "outcome") == [heading]
    # the markup as sent (``words`` reads a no-break space as a space)
    assert re.findall(r'<li class="refused-line">(.*?)</li>', answer.get_data(as_text=True)) \
        == [escape(line)]


def test_an_approval_of_every_line_is_approved_with_nothing_listed(shop: ReturnsShop) -> None:
    client = reader(shop, "en")

    answer = submit(client, open_form(client), **{"line-0-qty": "1",
                                                  "line-0-reason": "damaged"})

    assert words(answer, "outcome") == ["Your return is approved"]
    assert 'class="refused' not in answer.get_data(as_text=True)
