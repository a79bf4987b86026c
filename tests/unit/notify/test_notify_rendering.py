"""Rendering and the rules around it, without a server: every kind renders in text and HTML,
a merchant's template wins, catalogues plug in per locale, HTML is escaped, the mail URL is
read strictly, and ``enqueue`` refuses what a kind cannot say."""

from __future__ import annotations

import gettext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from refunds_plugin.config import ConfigError, load_config
from refunds_plugin.ledger.db import make_engine, write_tx
from refunds_plugin.ledger.migrate import migrate
from refunds_plugin.ledger.tables import outbox
from refunds_plugin.notify.kinds import KINDS, MAIL_KINDS
from refunds_plugin.notify.mail import SmtpSettings, compose, parse_mail_url
from refunds_plugin.notify.outbox import enqueue, message_id, valid_email
from refunds_plugin.notify.render import Renderer

CONTEXT: dict[str, Any] = {
    "decision_id": "d-1", "order_id": "1001", "order_number": "1001", "currency": "USD",
    "amount": 2500, "refund_amount": 2500, "credit_amount": 0, "bonus": 0,
    "explanation": "Your return of 1 × Mug is approved.", "return_required": True,
    "items": [{"line_id": "l1", "name": "Mug <b>&", "quantity": 1, "amount": 2500}],
    "customer_note": "", "attempt_id": "a-1", "kind": "refund", "credit_code": "SAVE-1",
    "return_by": "2026-12-01T00:00:00+00:00", "received_at": "2026-11-24T12:00:05+00:00",
    "withdrawal_id": "w-1", "name": "Ann", "lines": [{"name": "Mug", "quantity": 1}],
    "statement": "I withdraw.",
}
# what a kind reads beyond CONTEXT (kept apart: a payment link changes the approved mail)
EXTRA: dict[str, dict[str, Any]] = {
    "exchange_original_due": {"due_amount": 2000, "payment_url": "https://pay.example/cs_1",
                              "sent": [{"name": "Mug <b>& large", "quantity": 1}]},
}


def _renderer(**settings: Any) -> Renderer:
    return Renderer(load_config(env={}, overrides={"saleor_app_url": "https://r.example",
                                                   **settings}), "key")


@pytest.mark.parametrize("kind", MAIL_KINDS)
def test_every_mail_kind_renders_a_subject_a_text_and_an_html_page(kind: str) -> None:
    out = _renderer(shop_name="Mugs & Co").render(kind, CONTEXT | EXTRA.get(kind, {}))
    assert out.subject and "\n" not in out.subject and "{" not in out.subject
    assert out.text.strip() and "{{" not in out.text and "{%" not in out.text
    assert out.html.startswith("<!doctype html>") and "Mugs &amp; Co" in out.html
    assert "Mug <b>&" not in out.html  # the HTML part escapes what the shop or customer wrote


def test_a_merchant_template_in_the_folder_wins_over_ours(tmp_path: Path) -> None:
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "refund_sent.html").write_text(
        '{% extends "mail/base.html" %}{% block subject %}Money back: '
        '{{ amount|money(currency) }}{% endblock %}{% block text %}Hi from Mugs.{% endblock %}'
        '{% block body %}<p>Hi from Mugs.</p>{% endblock %}')
    out = _renderer(templates_dir=str(tmp_path)).render("refund_sent", CONTEXT)
    assert (out.subject, out.text) == ("Money back: 25.00 USD", "Hi from Mugs.\n")
    assert _renderer(templates_dir=str(tmp_path)).render("approved", CONTEXT).subject == \
        "Your return for order 1001 is approved"  # the others stay ours


class German(gettext.NullTranslations):
    """Two entries of a catalogue, keyed by the msgids the templates mark."""

    CATALOGUE = {"Your return for order %(number)s is approved":
                 "Ihre Rücksendung zur Bestellung %(number)s ist genehmigt",
                 "Send it by %(date)s.": "Bitte senden Sie es bis %(date)s zurück."}

    def gettext(self, message: str) -> str:
        return self.CATALOGUE.get(message, message)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        return self.CATALOGUE.get(msgid1 if n == 1 else msgid2, msgid1 if n == 1 else msgid2)


def test_without_a_shop_name_the_email_signs_our_shop_in_the_readers_language() -> None:
    unnamed = _renderer()
    named = _renderer(shop_name="Mugs & Co")

    assert [unnamed.values(CONTEXT, locale)["shop"]["name"]
            for locale in ("de", "fr", "es", "en")] == [
        "Unser Shop", "Notre boutique", "Nuestra tienda", "Our shop"]
    assert named.values(CONTEXT, "de")["shop"]["name"] == "Mugs & Co"
    assert "Unser Shop" in unnamed.render("approved", CONTEXT, "de").html


def test_a_catalogue_translates_every_marked_sentence_for_its_locale() -> None:
    renderer = Renderer(load_config(env={}), "key",
                        translations=lambda loc: German() if loc == "de" else
                        gettext.NullTranslations())
    assert renderer.render("approved", CONTEXT, "de").subject == \
        "Ihre Rücksendung zur Bestellung 1001 ist genehmigt"
    assert "Bitte senden Sie es bis 1. Dezember 2026 zurück." in \
        renderer.render("approved", CONTEXT, "de").text
    assert renderer.render("approved", CONTEXT, "en").subject == \
        "Your return for order 1001 is approved"


def test_the_message_is_multipart_with_a_stable_message_id() -> None:
    rendered = _renderer().render("refund_sent", CONTEXT)
    msg = compose(sender="Mugs <returns@mugs.example>", to="ann@example.com",
                  rendered=rendered, row_id="0c5e",
                  sent_at=datetime(2026, 12, 5, 19, 40, 7, tzinfo=UTC))
    assert msg["Message-ID"] == "<0c5e@mugs.example>"
    assert msg["Date"] == "Sat, 05 Dec 2026 19:40:07 +0000"
    assert msg["Content-Language"] == "en"
    assert msg["Reply-To"] is None
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]


@pytest.mark.parametrize(("url", "read"), [
    ("smtp://mail.example", SmtpSettings("smtp", "mail.example", 25)),
    ("smtp+starttls://u%40x:p%3Aw@mail.example:2525",
     SmtpSettings("smtp+starttls", "mail.example", 2525, "u@x", "p:w")),
    ("smtps://u:pw@mail.example", SmtpSettings("smtps", "mail.example", 465, "u", "pw")),
])
def test_the_mail_url_is_read_with_its_defaults(url: str, read: SmtpSettings) -> None:
    assert parse_mail_url(url) == read


@pytest.mark.parametrize("url", ["http://mail.example", "smtp://", "mail.example:25",
                                 "smtp://u:secret@mail.example:x"])
def test_a_wrong_mail_url_is_refused_without_showing_the_password(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_mail_url(url)
    assert "secret" not in str(caught.value) and "REFUNDS_MAIL_URL" in str(caught.value)


def test_the_mail_settings_come_from_the_environment_and_the_file(tmp_path: Path) -> None:
    file = tmp_path / "refunds.toml"
    file.write_text('[mail]\nfrom = "Mugs <r@mugs.example>"\noff = ["refund_sent"]\n')
    config = load_config(env={"REFUNDS_CONFIG_FILE": str(file),
                              "REFUNDS_MAIL_URL": "smtp://u:pw@h:25"})
    assert (config.mail_off, config.mail_from, config.mail_url) == (
        ("refund_sent",), "Mugs <r@mugs.example>", "smtp://u:pw@h:25")
    assert "pw" not in repr(config)
    file.write_text('[mail]\nurl = "smtp://u:pw@h:25"\n')
    with pytest.raises(ConfigError, match="mail_url is a secret"):
        load_config(env={"REFUNDS_CONFIG_FILE": str(file)})


@pytest.fixture
def engine(tmp_path: Path) -> Any:
    made = make_engine(f"sqlite:///{tmp_path / 'o.db'}")
    migrate(made)
    yield made
    made.dispose()


def test_enqueue_is_once_per_cause_kind_and_recipient_and_says_why_it_skips(
    engine: Any, now: Any
) -> None:
    def put(recipient: str | None, cause: str = "decision:d-1") -> bool:
        with write_tx(engine) as conn:
            return enqueue(conn, cause=cause, kind="approved", recipient=recipient, now=now,
                           context=CONTEXT)

    assert put("ann@example.com") and not put("ann@example.com")
    assert put("ann@example.com", "decision:d-2")
    assert put("ann at example") and put(None, "decision:d-3")
    with engine.connect() as conn:
        rows = {(r.cause, r.recipient): (r.id, r.status, r.note)
                for r in conn.execute(outbox.select())}
    assert rows == {
        ("decision:d-1", "ann@example.com"): (
            message_id("decision:d-1", "approved", "ann@example.com"), "queued", None),
        ("decision:d-2", "ann@example.com"): (
            message_id("decision:d-2", "approved", "ann@example.com"), "queued", None),
        ("decision:d-1", "ann at example"): (
            message_id("decision:d-1", "approved", "ann at example"), "skipped",
            "no message: the customer's email 'ann at example' is not a valid address"),
        ("decision:d-3", ""): (message_id("decision:d-3", "approved", ""), "skipped",
                               "no message: the order has no customer email"),
    }


def test_enqueue_refuses_a_context_its_kind_cannot_be_written_from(engine: Any, now: Any) -> None:
    with write_tx(engine) as conn, pytest.raises(ValueError, match="needs received_at"):
        enqueue(conn, cause="withdrawal:w", kind="withdrawal_receipt", recipient="a@b.example",
                now=now, context={k: CONTEXT[k] for k in KINDS["withdrawal_receipt"].needs
                                  if k != "received_at"})
    with write_tx(engine) as conn, pytest.raises(ValueError, match="unknown message kind"):
        enqueue(conn, cause="x", kind="refund.sent", recipient="merchant", now=now, context={})
    with engine.connect() as conn:
        assert conn.execute(outbox.select()).first() is None


@pytest.mark.parametrize(("address", "ok"), [
    ("ann@example.com", True), ("a.b+c@mail.example.co.uk", True), ("ann@example", False),
    ("ann at example.com", False), ("", False), ("<ann@example.com>", False),
])
def test_valid_email(address: str, ok: bool) -> None:
    assert valid_email(address) is ok


