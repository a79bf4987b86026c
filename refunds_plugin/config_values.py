"""Settings as the environment writes them, read into values (each a ``ValueError`` naming what
was expected, which ``load_config`` says with the variable's name): a language, a list, a rate,
a flag, a web address, an https image, an API base, a colour; and Stripe's keys, each where it
belongs."""

from __future__ import annotations

import re
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


def _address(raw: str, schemes: tuple[str, ...], expected: str, query: bool = False) -> str:
    """``raw`` stripped when it is a URL of one of ``schemes`` with a host (and a query only
    where ``query``; empty is unset), else a ``ValueError`` saying ``expected``."""
    url = raw.strip()
    try:
        parts = urlsplit(url)
        _port = parts.port  # a port out of range raises here
    except ValueError:
        parts = None
    if url and (parts is None or parts.scheme not in schemes or not parts.hostname
                or any(c.isspace() for c in url) or parts.fragment
                or (parts.query and not query)):
        raise ValueError(expected)
    return url


def web_address(raw: str) -> str:
    """This service's public address (``REFUNDS_APP_URL``): the Saleor manifest's URLs and the
    emails' status links are made from it, so anything but an http(s) URL is refused."""
    return _address(raw, ("http", "https"), "expected the public http(s) address customers and "
                    "Saleor reach this service at, such as https://returns.example.com")


def https_image(raw: str) -> str:
    """The shop's logo (``REFUNDS_SHOP_LOGO_URL``): the returns pages load images over https
    only (their Content-Security-Policy) and an email needs a whole address."""
    return _address(raw, ("https",), "expected the https address of an image, such as "
                    "https://cdn.example.com/logo.png (the pages show images over https only, "
                    "and an email needs the whole address)", query=True)


def api_base(raw: str) -> str:
    """A provider's API base (``REFUNDS_STRIPE_API_BASE``, ``REFUNDS_EASYPOST_API_BASE``): a
    proxy or a local fake, reached over http(s)."""
    return _address(raw, ("http", "https"), "expected the http(s) address of a proxy or a "
                    "local fake, such as http://127.0.0.1:12111")


def dashboards(raw: str) -> tuple[str, ...]:
    """``REFUNDS_SALEOR_DASHBOARD_URLS``: where the Saleor Dashboard that frames the order
    widget runs; one that is no URL would be dropped from the pages' frame-ancestors."""
    return tuple(_address(part, ("http", "https"), "expected comma-separated http(s) addresses "
                          "of your Saleor Dashboard, such as https://dashboard.example.com/")
                 for part in split(raw))


_HEX = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


def colour(raw: str) -> str:
    """The shop's colour (``REFUNDS_SHOP_PRIMARY_COLOR``), as the pages' CSS and the emails
    take it; anything else showed the default blue instead, with nothing said (empty: unset)."""
    value = raw.strip()
    if value and not _HEX.fullmatch(value):
        raise ValueError("expected a colour written #rgb or #rrggbb, such as #1f4b99")
    return value


def stripe_keys(api_key: str, webhook_secrets: tuple[str, ...]) -> None:
    """A Stripe key that cannot do its job is refused at start, never printed: a publishable
    key (``pk_…``) or the webhook secret as the API key was taken as a live key and failed
    every refund; anything but a ``whsec_…`` as a webhook secret refused every event."""
    if api_key.startswith(("pk_live_", "pk_test_")):
        raise ValueError("REFUNDS_STRIPE_API_KEY is a publishable key (pk_…), which cannot "
                         "refund: use the secret key (sk_live_…, sk_test_…) or a restricted "
                         "key (rk_…) from Stripe's Dashboard, Developers, API keys")
    if api_key.startswith("whsec_"):
        raise ValueError("REFUNDS_STRIPE_API_KEY is a webhook signing secret (whsec_…): it "
                         "belongs in REFUNDS_STRIPE_WEBHOOK_SECRETS; the API key is sk_… or rk_…")
    for n, secret in enumerate(webhook_secrets, 1):
        if not secret.startswith("whsec_"):
            kind = f"an API key ({secret[:3]}…)" if secret.startswith(
                ("sk_", "rk_", "pk_")) else "not a Stripe signing secret"
            raise ValueError(f"REFUNDS_STRIPE_WEBHOOK_SECRETS: secret {n} of "
                             f"{len(webhook_secrets)} is {kind}: use the endpoint's signing "
                             "secret (whsec_…, its Signing secret in Stripe's Dashboard, "
                             "Developers, Webhooks)")
