"""The merchant's packing notes in the reader's language: a policy may give them per language
(``packing_notes: {en: …, de: …}``); a reader of a language not given reads the shop's (else
English), marked with its ``lang`` so a screen reader says it in that language, as it does a
plain text, which is taken as written in the shop's language (``REFUNDS_DEFAULT_LOCALE``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import url_for

from policies import PolicyError, load_policy_text
from tests.integration.shipping.conftest import Returns
from webhooks.returns.views import status_token

PER_LANGUAGE = """currency: USD
window: {days: 365, start: payment}
return_shipping:
  label: easypost
  packing_notes:
    en: "Pack it in its box, please."
    DE: "Bitte im Originalkarton verpacken."
refund_on: first_scan
"""
PLAIN = PER_LANGUAGE.replace(
    '\n    en: "Pack it in its box, please."\n    DE: "Bitte im Originalkarton verpacken."',
    ' "Pack it in its box, please."')


def _status(returns_service: Callable[..., Returns], policy: str, lang: str, **kw: str) -> str:
    r = returns_service(policy, **kw)
    r.paid()
    decision = r.ask(lines=[{"line_id": "l1", "quantity": 1, "reason": "changed_mind"}])
    r.labels()
    with r.h.app.test_request_context():
        url = url_for("returns.status", token=status_token(str(decision["decision_id"])))
    resp = r.h.client().get(f"{url}?lang={lang}")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


@pytest.mark.parametrize(("lang", "said"), [
    ("de", '<p class="packing">Verpackung: Bitte im Originalkarton verpacken.</p>'),
    ("en", '<p class="packing">Packing: Pack it in its box, please.</p>'),
    ("fr", '<p class="packing">Emballage\u00a0: <span lang="en">Pack it in its box, please.'
           '</span></p>'),
    ("es", '<p class="packing">Embalaje: <span lang="en">Pack it in its box, please.</span></p>'),
])
def test_packing_notes_given_per_language_are_read_in_the_readers_or_marked_as_the_shops(
    returns_service: Callable[..., Returns], lang: str, said: str,
) -> None:
    page = _status(returns_service, PER_LANGUAGE, lang)
    assert said in page
    assert page.count('class="packing"') == 1


def test_a_shop_writing_in_german_gives_its_german_notes_to_a_french_reader(
    returns_service: Callable[..., Returns],
) -> None:
    page = _status(returns_service, PER_LANGUAGE, "fr", default_locale="de")
    assert ('<p class="packing">Emballage\u00a0: <span lang="de">Bitte im Originalkarton '
            'verpacken.</span></p>') in page


def test_plain_packing_notes_are_marked_as_the_shops_language_on_another_languages_page(
    returns_service: Callable[..., Returns],
) -> None:
    german = _status(returns_service, PLAIN, "de")
    assert ('<p class="packing">Verpackung: <span lang="en">Pack it in its box, please.</span>'
            '</p>') in german


def test_packing_notes_keyed_by_something_other_than_a_language_are_refused() -> None:
    bad = PER_LANGUAGE.replace("DE:", "german language:")
    with pytest.raises(PolicyError) as caught:
        load_policy_text(bad, "p")
    assert "packing_notes" in str(caught.value)
    assert "'german language'" in str(caught.value)


def test_the_policy_description_lists_the_notes_of_each_language() -> None:
    lines = load_policy_text(PER_LANGUAGE, "p").describe()
    assert [ln for ln in lines if ln.startswith("Packing")] == [
        "Packing notes (en): Pack it in its box, please.",
        "Packing notes (de): Bitte im Originalkarton verpacken."]
