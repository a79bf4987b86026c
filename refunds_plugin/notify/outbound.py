"""Events for the merchant's systems, signed with the Standard Webhooks scheme.

``POST REFUNDS_OUTBOUND_URL`` with ``{"type", "timestamp", "data"}`` and the headers
``webhook-id`` (the outbox row's id: the same on every try, so a receiver deduplicates by it),
``webhook-timestamp`` and ``webhook-signature`` (``v1,<base64 HMAC-SHA256>`` with
``REFUNDS_OUTBOUND_SECRET``, ``whsec_…``), made by the ``standardwebhooks`` package. A receiver
that answers anything but 2xx (a redirect is not followed), or cannot be reached, is tried
again later, not before the ``Retry-After`` it asked for; one that answers 410 Gone is sent
nothing more (the spec's "stop sending"): that event's row is ``outbox.GONE``, and the later
ones wait until a person sends it again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from standardwebhooks import Webhook

from refunds_plugin.config import Config, ConfigError
from refunds_plugin.notify.mail import DeliveryError

RETRY_AFTER_MAX_S = 86400.0  # the longest ``Retry-After`` waited for


class Outbound:
    def __init__(self, url: str, secret: str, session: requests.Session, *,
                 timeout: float = 15.0, wall: Callable[[], float] = time.time) -> None:
        self.url = url
        self.signer = Webhook(secret)
        self.session = session
        self.timeout = timeout
        self.wall = wall  # signing time: receivers check it against their own clock

    def body(self, kind: str, created_at: datetime, data: dict[str, Any]) -> bytes:
        payload = {"type": kind, "timestamp": created_at.astimezone(UTC).isoformat(),
                   "data": data}
        return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()

    def send(self, row_id: str, kind: str, created_at: datetime, data: dict[str, Any]) -> None:
        body = self.body(kind, created_at, data)
        signed_at = datetime.fromtimestamp(int(self.wall()), UTC)
        headers = {
            "content-type": "application/json",
            "webhook-id": row_id,
            "webhook-timestamp": str(int(signed_at.timestamp())),
            # as text: standardwebhooks before 1.3 writes bytes into the signed string as "b'…'"
            "webhook-signature": self.signer.sign(row_id, signed_at, body.decode()),
        }
        try:  # a redirect is a failure, not followed (a 302's GET would pass for acceptance)
            resp = self.session.post(self.url, data=body, headers=headers, timeout=self.timeout,
                                     allow_redirects=False)
        except requests.RequestException as exc:
            raise DeliveryError(f"{self.url} unreachable: {type(exc).__name__}",
                                retryable=True, unreachable=True) from None
        status = resp.status_code
        if status == 410:  # Standard Webhooks: the receiver wants no more events; stop
            raise DeliveryError(f"{self.url} answered 410 Gone: it no longer takes our events",
                                retryable=False, gone=True)
        if 300 <= status < 400:
            raise DeliveryError(f"{self.url} answered {status} (a redirect, not followed: set "
                                "REFUNDS_OUTBOUND_URL to the address it names, "
                                f"{resp.headers.get('Location', '?')})", retryable=True)
        if not 200 <= status < 300:
            raise DeliveryError(f"{self.url} answered {status}", retryable=True,
                                retry_after=self.wait_asked(resp.headers.get("Retry-After")))

    def wait_asked(self, said: str | None) -> float | None:
        """A ``Retry-After`` in seconds (a number, or an HTTP date from now), at most a day (a
        year's wait would leave the event queued, neither sent nor failed), or None."""
        if not said:
            return None
        if said.strip().isdigit():
            return min(float(said.strip()), RETRY_AFTER_MAX_S)
        try:
            until = parsedate_to_datetime(said)
        except (TypeError, ValueError):
            return None
        if until.tzinfo is None:
            return None
        left = until.timestamp() - self.wall()
        return min(left, RETRY_AFTER_MAX_S) if left > 0 else None


def check_outbound(config: Config) -> None:
    """``REFUNDS_OUTBOUND_URL`` and its secret as a sender can use them, or a ``ConfigError``
    naming the variable (never the secret); nothing to check without a URL."""
    if not config.outbound_url:
        return
    url = urlsplit(config.outbound_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ConfigError(f"REFUNDS_OUTBOUND_URL={config.outbound_url!r} is not an http(s) URL: "
                          "give the address your systems receive our events at, such as "
                          "https://erp.example.com/hooks/refunds")
    if not config.outbound_secret.startswith("whsec_"):
        raise ConfigError("REFUNDS_OUTBOUND_SECRET must be set to a whsec_… secret when "
                          "REFUNDS_OUTBOUND_URL is set")
    try:
        Webhook(config.outbound_secret)
    except ValueError:  # not base64 after the prefix; the secret itself is never said
        raise ConfigError("REFUNDS_OUTBOUND_SECRET is not a Standard Webhooks secret: after "
                          "whsec_ must come base64; make one with "
                          "echo \"whsec_$(openssl rand -base64 24)\"") from None


def build_outbound(config: Config, session: requests.Session) -> Outbound | None:
    check_outbound(config)
    if not config.outbound_url:
        return None
    return Outbound(config.outbound_url, config.outbound_secret, session)
