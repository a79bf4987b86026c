"""Who an email comes from, and where a customer's reply to it goes.

``REFUNDS_MAIL_FROM`` unset, the From is ``no-reply@`` the SMTP host: nobody reads a reply
there, so no email may invite one. ``REFUNDS_MAIL_REPLY_TO`` names an inbox a person reads
(the ``Reply-To`` header); without it, a From set by the merchant takes the replies unless its
mailbox reads as a no-reply one (``no-reply@``, ``noreply@``, ``donotreply@``, ``do-not-reply@``).
"""

from __future__ import annotations

import ipaddress
import re
from email.utils import formataddr, parseaddr
from urllib.parse import urlsplit

from refunds_plugin.config import Config, ConfigError

_NO_REPLY = re.compile(r"^(?:no-?reply|do-?not-?reply)(?:[+.-].*)?$", re.IGNORECASE)


def sender(config: Config) -> str:
    """``REFUNDS_MAIL_FROM``; unset, ``no-reply@`` the SMTP host, named after the shop."""
    if config.mail_from:
        return config.mail_from
    host = urlsplit(config.mail_url).hostname or "localhost"
    return formataddr((config.shop_name, f"no-reply@{host}"))


def reply_to(config: Config) -> str | None:
    """The address a reply reaches a person at: ``REFUNDS_MAIL_REPLY_TO``, else the From the
    merchant set when it is not a no-reply mailbox; None when a reply would reach nobody."""
    for candidate in (config.mail_reply_to, config.mail_from):
        address = parseaddr(candidate)[1] if candidate else ""
        if "@" in address and not _NO_REPLY.match(address.rpartition("@")[0]):
            return candidate
    return None


def sender_warning(config: Config) -> str | None:
    """For ``refunds serve``: mail is sent through SMTP with no ``REFUNDS_MAIL_FROM`` and the
    default From would be ``no-reply@`` an IP address or localhost, which mail servers refuse
    or file as spam; None when that is not so (no mail, the console, a From set)."""
    if config.mail_from or "://" not in config.mail_url:
        return None
    host = urlsplit(config.mail_url).hostname or "localhost"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if host.lower() != "localhost":
            return None
    return (f"mail: REFUNDS_MAIL_FROM is not set, so emails come from no-reply@{host}, which "
            "mail servers refuse or file as spam: set REFUNDS_MAIL_FROM to an address at your "
            "shop's domain, e.g. \"Our shop <returns@example.com>\"")


def check_addresses(config: Config) -> None:
    """``REFUNDS_MAIL_FROM`` and ``REFUNDS_MAIL_REPLY_TO``, when set, are each one email
    address (with a name or without): anything else a mail server refuses or a reply never
    reaches, email after email, so it stops the start instead."""
    for var, value in (("REFUNDS_MAIL_FROM", config.mail_from),
                       ("REFUNDS_MAIL_REPLY_TO", config.mail_reply_to)):
        if not value:
            continue
        local, at, domain = parseaddr(value)[1].rpartition("@")
        if not (local and at and domain) or any(c.isspace() for c in local + domain) \
                or "\n" in value or "\r" in value:
            raise ConfigError(f"{var}={value!r} is not an email address: use one such as "
                              "\"Our shop <returns@example.com>\" or returns@example.com")
