"""Where the Saleor app may send requests: only to the allow-listed Saleor API URLs' origins,
never to a private, loopback or link-local address (unless the merchant allows it), without
following redirects, with a timeout and a limit on the answer's size.

The app calls URLs it was told by the caller (``Saleor-Api-Url`` on install and on webhooks,
the JWKS at that origin), so without these rules a forged install could make the service
fetch its cloud provider's metadata (``169.254.169.254``) or an internal admin page.
``GuardedSession`` applies them to every request made through it; ``bootstrap`` hands one to
the order re-queries, the provider and the install view.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from refunds_plugin.errors import FinalProviderError

MAX_ANSWER_BYTES = 4 * 1024 * 1024  # an order with hundreds of lines is well under 1 MiB
TIMEOUT_S = 10.0
Resolve = Callable[[str, int], list[str]]


class EgressRefused(FinalProviderError):
    """A request the rules forbid; nothing was sent (or the answer was too large)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="egress_refused")


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise requests.ConnectionError(f"cannot resolve {host}: {exc}") from None
    return [str(info[4][0]) for info in infos]


def _origin(url: str) -> str:
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{(parts.netloc or '').lower()}"


def forbidden_address(address: str) -> bool:
    """Not a public unicast address: private, loopback, link-local, shared (100.64/10),
    multicast, reserved or unspecified, v4 or v6 (a v4-mapped v6 address as its v4)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


@dataclass(frozen=True)
class Egress:
    allowed_api_urls: tuple[str, ...]
    allow_private: bool = False
    max_bytes: int = MAX_ANSWER_BYTES
    timeout_s: float = TIMEOUT_S
    resolve: Resolve = _resolve

    def check(self, url: str) -> None:
        """Raise ``EgressRefused`` unless ``url`` may be requested (resolving its host)."""
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise EgressRefused(f"{url[:200]} is not an http(s) URL")
        if _origin(url) not in {_origin(u) for u in self.allowed_api_urls}:
            raise EgressRefused(f"{_origin(url)[:200]} is not an allowed Saleor API URL's origin "
                                "(REFUNDS_SALEOR_ALLOWED_API_URLS)")
        if self.allow_private:
            return
        port = parts.port or (443 if parts.scheme == "https" else 80)
        for address in self.resolve(parts.hostname, port):
            if forbidden_address(address):
                raise EgressRefused(
                    f"{parts.hostname} resolves to {address}, a private, loopback or link-local "
                    "address (REFUNDS_SALEOR_ALLOW_PRIVATE_ADDRESSES allows it)")


class GuardedSession(requests.Session):
    """A ``requests.Session`` that checks every URL with ``egress``, never follows a redirect,
    always has a timeout and reads at most ``egress.max_bytes`` of an answer."""

    def __init__(self, egress: Egress) -> None:
        super().__init__()
        self.egress = egress

    def request(self, method: str | bytes, url: str | bytes,
                *args: Any, **kwargs: Any) -> requests.Response:
        text = url.decode("utf-8", "replace") if isinstance(url, bytes) else str(url)
        self.egress.check(text)
        kwargs["allow_redirects"] = False
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.egress.timeout_s
        kwargs["stream"] = True
        resp = super().request(method, url, *args, **kwargs)
        body = bytearray()
        try:
            for chunk in resp.iter_content(64 * 1024):
                body.extend(chunk)
                if len(body) > self.egress.max_bytes:
                    raise EgressRefused(f"{text[:200]} answered more than "
                                        f"{self.egress.max_bytes} bytes")
        finally:
            resp.close()
        resp._content = bytes(body)  # read: .text and .json() work as usual
        return resp
