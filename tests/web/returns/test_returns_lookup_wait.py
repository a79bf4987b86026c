"""A refused look-up says how long to wait for the limit that refused it, in its words and in
its ``Retry-After``: the order's wrong-email limit (15 minutes here), or the address's (an hour)."""

from __future__ import annotations

import re
from html import unescape

from werkzeug.test import TestResponse

from tests.fakes.returns_client import lookup, reader
from tests.fakes.returns_shop import ReturnsShop


def words(html: str) -> str:
    """The page's text as a reader sees it: tags dropped, whitespace collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _wait(resp: TestResponse) -> int:
    return int(resp.headers["Retry-After"])


def test_the_order_limit_refuses_with_its_own_wait_not_the_address_hour(
    shop: ReturnsShop,
) -> None:
    shop.app.config["RETURNS_LOOKUP_LIMIT_IP"] = "20 per hour"
    shop.app.config["RETURNS_LOOKUP_LIMIT_ORDER"] = "5 per 15 minutes"
    client = shop.app.test_client()

    answers = [lookup(client, "1001", f"guess{i}@example.com") for i in range(7)]

    assert [a.status_code for a in answers] == [404] * 5 + [429] * 2
    refused = answers[5]
    assert 890 <= _wait(refused) <= 900  # the order's 15 minutes, not the address's hour
    assert refused.headers["X-RateLimit-Remaining"] == "14"  # the address limit let it in
    text = words(refused.get_data(as_text=True))
    assert "Please wait before trying again" in text
    assert ("Too many attempts. For your security, please wait 15 minutes before trying "
            "again.") in text
    assert "a few minutes" not in text


def test_the_address_limit_refuses_with_its_own_wait_in_the_words_too(
    shop: ReturnsShop,
) -> None:
    shop.app.config["RETURNS_LOOKUP_LIMIT_IP"] = "2 per hour"
    client = shop.app.test_client()

    answers = [lookup(client, number, "x@example.com") for number in ("7", "8", "9")]

    assert [a.status_code for a in answers] == [404, 404, 429]
    assert 3590 <= _wait(answers[2]) <= 3600
    assert ("Too many attempts. For your security, please wait 60 minutes before trying "
            "again.") in words(answers[2].get_data(as_text=True))


def test_the_wait_reads_in_every_language(shop: ReturnsShop) -> None:
    shop.app.config["RETURNS_LOOKUP_LIMIT_IP"] = "1 per hour"
    said = {}
    for lang in ("de", "fr", "es"):
        client = reader(shop, lang)
        client.environ_base["REMOTE_ADDR"] = f"10.9.0.{len(said)}"
        lookup(client, "7", "x@example.com")
        said[lang] = words(lookup(client, "8", "x@example.com").get_data(as_text=True))
    assert "Bitte warten Sie, bevor Sie es erneut versuchen" in said["de"]
    assert ("Zu viele Versuche. Zu Ihrer Sicherheit warten Sie bitte 60 Minuten, bevor Sie es "
            "erneut versuchen.") in said["de"]
    assert "Veuillez patienter avant de réessayer" in said["fr"]
    assert ("Trop de tentatives. Pour votre sécurité, veuillez patienter 60 minutes avant de "
            "réessayer.") in said["fr"]
    assert "Espera antes de volver a intentarlo" in said["es"]
    assert ("Demasiados intentos. Por tu seguridad, espera 60 minutos antes de volver a "
            "intentarlo.") in said["es"]
