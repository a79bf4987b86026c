"""Mail and outbound-event settings a merchant got wrong stop the start in one line naming the
variable and the fix (the secret never shown), before any banner and before the database is
written: never a traceback, and never a service that sends the built-in words, a refused From,
or an email the merchant switched off."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from gunicorn.app.base import BaseApplication

from tests.integration.starting import start_serve


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What gunicorn was asked to serve (nothing is served)."""
    runs: list[str] = []
    monkeypatch.setattr(BaseApplication, "run", lambda app: runs.append(app.cfg.bind[0]))
    return runs


# --- REFUNDS_OUTBOUND_URL, REFUNDS_OUTBOUND_SECRET ----------------------------------------------

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # base64 after the prefix, as the docs make one


@pytest.mark.parametrize("secret", ["whsec_…", "whsec_!!not-base64", "whsec_abcde"])
def test_an_outbound_secret_that_is_not_base64_stops_serve_in_one_line_without_saying_it(
    tmp_path: Path, served: list[str], secret: str
) -> None:
    # the docs' own placeholder, copied as it was written, died with a UnicodeEncodeError
    # traceback from inside standardwebhooks
    code, output = start_serve(tmp_path, REFUNDS_OUTBOUND_URL="https://erp.example.com/hooks",
                          REFUNDS_OUTBOUND_SECRET=secret)

    assert code == 2  # a bad setting: exit 2, whichever check finds it
    assert len(output.splitlines()) == 1, output  # no key said, no database written
    assert not (tmp_path / "ledger.db").exists()
    assert output.splitlines()[-1] == (
        "Error: REFUNDS_OUTBOUND_SECRET is not a Standard Webhooks secret: after whsec_ must "
        "come base64; make one with echo \"whsec_$(openssl rand -base64 24)\"")
    assert secret not in output and "Traceback" not in output
    assert served == []


@pytest.mark.parametrize("url", ["erp.example.com/hooks", "ftp://erp.example.com/hooks",
                                 "https:///hooks"])
def test_an_outbound_url_that_is_not_http_stops_serve_instead_of_failing_every_event(
    tmp_path: Path, served: list[str], url: str
) -> None:
    code, output = start_serve(tmp_path, REFUNDS_OUTBOUND_URL=url, REFUNDS_OUTBOUND_SECRET=SECRET)

    assert code == 2  # a bad setting: exit 2, whichever check finds it
    assert len(output.splitlines()) == 1, output  # no key said, no database written
    assert not (tmp_path / "ledger.db").exists()
    assert output.splitlines()[-1] == (
        f"Error: REFUNDS_OUTBOUND_URL={url!r} is not an http(s) URL: give the address your "
        "systems receive our events at, such as https://erp.example.com/hooks/refunds")
    assert served == []


def test_an_outbound_url_and_a_secret_made_as_the_docs_say_start(
    tmp_path: Path, served: list[str]
) -> None:
    code, output = start_serve(tmp_path, REFUNDS_OUTBOUND_URL="https://erp.example.com/hooks",
                          REFUNDS_OUTBOUND_SECRET=SECRET)

    assert code == 0, output
    assert len(served) == 1


# --- REFUNDS_MAIL_OFF ------------------------------------------------------------------------


MAIL_KINDS = ("approved, credit_issued, declined, exchange_original_due, exchange_unavailable, "
              "in_review, item_received, label_ready, parcel_delivered, parcel_in_transit, "
              "parcel_problem, refund_failed, refund_sent, request_received, return_expired, "
              "return_reminder, withdrawal_receipt")


def test_a_misspelt_kind_to_switch_off_stops_serve_instead_of_switching_nothing_off(
    tmp_path: Path, served: list[str]
) -> None:
    # refund_sentt was taken, and every refund_sent email still went out
    code, output = start_serve(tmp_path, REFUNDS_MAIL_URL="console",
                          REFUNDS_MAIL_OFF="credit_issued,refund_sentt")

    assert code == 2  # a bad setting: exit 2, whichever check finds it
    assert len(output.splitlines()) == 1, output  # no key said, no database written
    assert not (tmp_path / "ledger.db").exists()
    assert output.splitlines()[-1] == (
        "Error: REFUNDS_MAIL_OFF ([mail] off) names 'refund_sentt', which is no email kind: "
        f"did you mean 'refund_sent'? the kinds are {MAIL_KINDS}")
    assert served == []


def test_an_event_kind_in_mail_off_is_named_with_the_email_kinds(
    tmp_path: Path, served: list[str]
) -> None:
    config_file = tmp_path / "refunds.toml"
    config_file.write_text('[mail]\noff = ["return.decided"]\n')

    code, output = start_serve(tmp_path, REFUNDS_CONFIG_FILE=str(config_file))

    assert code == 2  # a bad setting: exit 2, whichever check finds it
    assert len(output.splitlines()) == 1, output  # no key said, no database written
    assert not (tmp_path / "ledger.db").exists()
    assert output.splitlines()[-1] == (
        "Error: REFUNDS_MAIL_OFF ([mail] off) names 'return.decided', which is no email kind: "
        f"that is an event for your systems (REFUNDS_OUTBOUND_URL); the kinds are {MAIL_KINDS}")


def test_the_kinds_the_docs_switch_off_are_taken(tmp_path: Path, served: list[str]) -> None:
    code, output = start_serve(tmp_path, REFUNDS_MAIL_URL="console",
                          REFUNDS_MAIL_OFF="refund_sent,credit_issued")

    assert code == 0, output
    assert len(served) == 1


# --- REFUNDS_TEMPLATES_DIR -------------------------------------------------------------------

BUILT_IN_MAIL = Path(__file__).resolve().parents[2] / "refunds_plugin/notify/templates/mail"


def test_a_templates_dir_that_does_not_exist_stops_serve_instead_of_sending_ours(
    tmp_path: Path, served: list[str]
) -> None:
    # it was taken, and every email went out in the built-in words the merchant had replaced
    code, output = start_serve(tmp_path, REFUNDS_TEMPLATES_DIR=str(tmp_path / "my-mails"))

    assert code == 2  # a bad setting: exit 2, whichever check finds it
    assert len(output.splitlines()) == 1, output  # no key said, no database written
    assert not (tmp_path / "ledger.db").exists()
    assert output.splitlines()[-1] == (
        f"Error: REFUNDS_TEMPLATES_DIR={str(tmp_path / 'my-mails')!r} is not a folder: copy "
        "refunds_plugin/notify/templates/mail/ into a folder of yours (as its mail/ folder) and "
        "name that folder")
    assert served == []


def test_a_template_jinja_cannot_parse_is_named_with_its_line_at_start(
    tmp_path: Path, served: list[str]
) -> None:
    # it was found at the first email of that kind: a traceback in `mail preview`, and each
    # such email failing in the outbox
    folder = tmp_path / "my-mails"
    (folder / "mail").mkdir(parents=True)
    (folder / "mail" / "approved.html").write_text(
        '{% extends "mail/base.html" %}\n{% block subject %}Approved{% endblock %}\n'
        "{% block body %}{% if %}{% endblock %}\n")

    code, output = start_serve(tmp_path, REFUNDS_TEMPLATES_DIR=str(folder))

    assert code == 2  # a bad setting: exit 2, whichever check finds it
    assert len(output.splitlines()) == 1, output  # no key said, no database written
    assert not (tmp_path / "ledger.db").exists()
    assert output.splitlines()[-1] == (
        "Error: REFUNDS_TEMPLATES_DIR: mail/approved.html, line 3: Expected an expression, got "
        "'end of statement block'")
    assert served == []


def test_templates_put_beside_instead_of_in_a_mail_folder_are_said_to_be_unused(
    tmp_path: Path, served: list[str]
) -> None:
    folder = tmp_path / "my-mails"
    folder.mkdir()
    (folder / "approved.html").write_text('{% extends "mail/base.html" %}')

    code, output = start_serve(tmp_path, REFUNDS_TEMPLATES_DIR=str(folder))

    assert code == 2  # a bad setting: exit 2, whichever check finds it
    assert len(output.splitlines()) == 1, output  # no key said, no database written
    assert not (tmp_path / "ledger.db").exists()
    assert output.splitlines()[-1] == (
        f"Error: REFUNDS_TEMPLATES_DIR={str(folder)!r} holds approved.html but no mail/ folder: "
        "templates are found as mail/<kind>.html there (mail/approved.html), so it would not be "
        "used")


def test_the_built_in_templates_copied_as_the_docs_say_start(
    tmp_path: Path, served: list[str]
) -> None:
    folder = tmp_path / "my-mails"
    shutil.copytree(BUILT_IN_MAIL, folder / "mail")

    code, output = start_serve(tmp_path, REFUNDS_TEMPLATES_DIR=str(folder))

    assert code == 0, output
    assert len(served) == 1


# --- REFUNDS_MAIL_FROM, REFUNDS_MAIL_REPLY_TO ------------------------------------------------


@pytest.mark.parametrize(("var", "value"), [
    ("REFUNDS_MAIL_FROM", "notanemail"), ("REFUNDS_MAIL_FROM", "Mugs <returns@>"),
    ("REFUNDS_MAIL_FROM", "returns at mugs.example"),
    ("REFUNDS_MAIL_REPLY_TO", "care"), ("REFUNDS_MAIL_REPLY_TO", "@mugs.example")])
def test_a_from_or_reply_to_that_is_no_email_address_stopsstart_serve(
    tmp_path: Path, served: list[str], var: str, value: str
) -> None:
    # REFUNDS_MAIL_FROM=notanemail was taken: every email went out "From: notanemail", which
    # an SMTP server refuses, and its Message-ID named "@notanemail"
    code, output = start_serve(tmp_path, REFUNDS_MAIL_URL="console", **{var: value})

    assert code == 2  # a bad setting: exit 2, whichever check finds it
    assert len(output.splitlines()) == 1, output  # no key said, no database written
    assert not (tmp_path / "ledger.db").exists()
    assert output.splitlines()[-1] == (
        f"Error: {var}={value!r} is not an email address: use one such as "
        "\"Our shop <returns@example.com>\" or returns@example.com")
    assert served == []


def test_the_addresses_the_docs_set_start(tmp_path: Path, served: list[str]) -> None:
    code, output = start_serve(tmp_path, REFUNDS_MAIL_URL="console",
                          REFUNDS_MAIL_FROM="Mugs & Co <returns@mugs.example>",
                          REFUNDS_MAIL_REPLY_TO="Mugs & Co care <care@mugs.example>")

    assert code == 0, output
    assert len(served) == 1
