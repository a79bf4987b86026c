"""Where a customer's reply goes: a Reply-To the merchant set, else a From that is not a no-reply
mailbox, else nowhere (and then no email may ask for a reply)."""

from __future__ import annotations

import pytest

from refunds_plugin.config import load_config
from refunds_plugin.notify.address import reply_to, sender


def _config(**settings: str):  # type: ignore[no-untyped-def]
    return load_config(env={}, overrides={"mail_url": "smtp://smtp.mugs.example:25",
                                          "shop_name": "Mugs", **settings})


def test_the_default_from_is_no_reply_at_the_smtp_host_and_takes_no_reply() -> None:
    config = _config()

    assert sender(config) == "Mugs <no-reply@smtp.mugs.example>"
    assert reply_to(config) is None


@pytest.mark.parametrize("mail_from", [
    "Mugs <no-reply@mugs.example>", "noreply@mugs.example", "DoNotReply@mugs.example",
    "do-not-reply+returns@mugs.example"])
def test_a_no_reply_from_takes_no_reply(mail_from: str) -> None:
    assert reply_to(_config(mail_from=mail_from)) is None


def test_a_from_a_person_reads_takes_the_replies() -> None:
    assert reply_to(_config(mail_from="Mugs <returns@mugs.example>")) == \
        "Mugs <returns@mugs.example>"


def test_a_reply_to_wins_over_any_from() -> None:
    config = _config(mail_from="Mugs <no-reply@mugs.example>",
                     mail_reply_to="Mugs care <care@mugs.example>")

    assert reply_to(config) == "Mugs care <care@mugs.example>"


def test_the_reply_to_is_read_from_the_environment() -> None:
    config = load_config(env={"REFUNDS_MAIL_REPLY_TO": "care@mugs.example"}, overrides={})

    assert config.mail_reply_to == "care@mugs.example"
    assert reply_to(config) == "care@mugs.example"
