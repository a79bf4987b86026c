"""Stripe-scheme request signatures: ``t=<unix>,v1=<hex>[,v1=<hex>…]`` over ``"{t}.{body}"``.

Used for ``Stripe-Signature`` and for the storefront's ``Refunds-Signature``. Pure: the clock is
injected, comparison is constant-time, every failure names its exact cause. Unlike a bare
``stripe.WebhookSignature.verify_header``, the tolerance is always applied, in both directions.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Sequence

from refunds_plugin.errors import SignatureError

SCHEME = "v1"
DEFAULT_TOLERANCE = 300


def compute(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """A header value for ``body`` (for storefronts, tests and the benchmark)."""
    ts = int(time.time()) if timestamp is None else timestamp
    return f"t={ts},{SCHEME}={compute(secret, ts, body)}"


MAX_TIMESTAMP_DIGITS = 12  # unix seconds until the year 33658: anything longer is not a time


def parse_header(header: str) -> tuple[int, list[str]]:
    if not header.isascii():  # a WSGI header is latin-1 text; a real signature is ASCII
        raise SignatureError("signature header is not ASCII", code="signature_malformed")
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            # int() would also take "1_000", " 12" and 4,000-digit numbers
            if not value.isdigit():
                raise SignatureError(f"signature timestamp {value[:40]!r} is not an integer",
                                     code="signature_malformed")
            if len(value) > MAX_TIMESTAMP_DIGITS:
                raise SignatureError(f"signature timestamp {value[:40]}… is too large",
                                     code="signature_malformed")
            timestamp = int(value)
        elif key == SCHEME:
            signatures.append(value)
    if timestamp is None:
        raise SignatureError("signature header has no timestamp (t=…)", code="signature_malformed")
    if not signatures:
        raise SignatureError("signature header has no v1 signature", code="signature_malformed")
    return timestamp, signatures


def verify(
    body: bytes,
    header: str | None,
    secrets: Sequence[str],
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    clock: Callable[[], float] = time.time,
    header_name: str = "Stripe-Signature",
) -> int:
    """Check ``header`` against the raw ``body`` with any of ``secrets``; returns the timestamp."""
    usable = [s for s in secrets if s and s.strip()]
    if not usable:
        raise SignatureError(
            f"no secret is configured to verify {header_name}", code="signature_not_configured"
        )
    if not header:
        raise SignatureError(f"missing {header_name} header", code="signature_missing")
    timestamp, candidates = parse_header(header)
    now = clock()
    if timestamp < now - tolerance:
        raise SignatureError(
            f"signature timestamp is {int(now - timestamp)} s old (tolerance {tolerance} s)",
            code="signature_expired",
        )
    if timestamp > now + tolerance:
        raise SignatureError(
            f"signature timestamp is {int(timestamp - now)} s in the future "
            f"(tolerance {tolerance} s)",
            code="signature_from_future",
        )
    for secret in usable:
        expected = compute(secret, timestamp, body)
        if any(hmac.compare_digest(expected, c) for c in candidates):
            return timestamp
    raise SignatureError(
        f"no {header_name} signature matches the body: wrong secret, or the body was changed",
        code="signature_mismatch",
    )
