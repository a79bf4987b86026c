"""Settings as the environment writes them, read into values (each a ``ValueError`` naming what
was expected, which ``load_config`` says with the variable's name): a language, a list, a rate,
a flag, a web address."""

from __future__ import annotations

from urllib.parse import urlsplit

import limits

from refunds_plugin.language import LOCALES, normalise


def locale(value: str) -> str:
    code = normalise(value)
    if code is None:
        raise ValueError(f"one of {', '.join(LOCALES)} (got {value!r})")
    return code


def split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def rate(raw: str) -> str:
    """A rate such as ``5 per 15 minutes`` (the ``limits`` notation Flask-Limiter reads)."""
    try:
        limits.parse(raw)
    except ValueError:
        raise ValueError("expected a rate such as '5 per 15 minutes' or '20/hour'") from None
    return raw.strip()


def flag(raw: str) -> bool:
    word = raw.strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def web_address(raw: str) -> str:
    """This service's public address (``REFUNDS_APP_URL``): the Saleor manifest's URLs and the
    emails' status links are made from it, so anything but an http(s) URL is refused; empty is
    unset."""
    url = raw.strip()
    try:
        parts = urlsplit(url)
        _port = parts.port  # a port out of range raises here
    except ValueError:
        parts = None
    if url and (parts is None or parts.scheme not in ("http", "https") or not parts.hostname
                or any(c.isspace() for c in url) or parts.query or parts.fragment):
        raise ValueError("expected the public http(s) address customers and Saleor reach this "
                         "service at, such as https://returns.example.com")
    return url
