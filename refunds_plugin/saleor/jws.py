"""Saleor webhook signatures: detached JWS (RFC 7797, ``b64: false``), RS256 only.

The header value is ``BASE64URL(protected) + ".." + BASE64URL(signature)``; the signed input is
the protected header, a dot and the raw body bytes. The key is chosen by ``kid`` from the JWKS
at ``<api origin>/.well-known/jwks.json``, cached per API URL and re-fetched once when the
``kid`` is unknown (Saleor rotated its key), at most once per ``REFETCH_COOL_DOWN_S`` per shop
and process: a forged signature naming a random ``kid`` costs no outbound request and no
database write while the last re-fetch is that recent. Legacy HMAC-SHA256 hex digests are
accepted only when a secret is explicitly configured.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable
from typing import Any

import jwt
from jwt.api_jws import PyJWS

from refunds_plugin.errors import SignatureError

ALGORITHM = "RS256"
Jwks = dict[str, Any]
# a rotated key is picked up at most this long after the last re-fetch (Saleor retries a
# refused delivery); forged kids cannot make more than one re-fetch per shop in that time
REFETCH_COOL_DOWN_S = 60.0


class JwksStore:
    """JWKS per API URL: memory first, then ``load`` (the install row), then ``fetch``.
    ``clock`` (seconds) times the re-fetch cool-down."""

    def __init__(
        self,
        fetch: Callable[[str], Jwks],
        load: Callable[[str], Jwks | None] = lambda _url: None,
        save: Callable[[str, Jwks], None] = lambda _url, _jwks: None,
        clock: Callable[[], float] = time.monotonic,
        cool_down_s: float = REFETCH_COOL_DOWN_S,
    ) -> None:
        self._fetch = fetch
        self._load = load
        self._save = save
        self._clock = clock
        self._cool_down_s = cool_down_s
        self._cache: dict[str, Jwks] = {}
        self._refetched: dict[str, float] = {}
        self._lock = threading.Lock()
        self.fetches = 0

    def keys(self, api_url: str, *, refresh: bool = False) -> tuple[Jwks, bool]:
        """The key set and whether it was fetched just now. ``refresh`` fetches it again,
        unless the last re-fetch for ``api_url`` was under the cool-down ago: then the cached
        set (not fresh)."""
        with self._lock:
            cached = self._cache.get(api_url)
            if refresh and cached is not None:
                now, last = self._clock(), self._refetched.get(api_url)
                if last is not None and now - last < self._cool_down_s:
                    return cached, False
                self._refetched[api_url] = now  # before fetching: concurrent ones wait it out
                cached = None
        if cached is not None:
            return cached, False
        stored = None if refresh else self._load(api_url)
        if stored is not None:
            with self._lock:
                self._cache[api_url] = stored
            return stored, False
        fresh = self._fetch(api_url)
        self.fetches += 1
        self._save(api_url, fresh)
        with self._lock:
            self._cache[api_url] = fresh
        return fresh, True

    def forget(self, api_url: str) -> None:
        """A new install's keys: the cache and the cool-down start again."""
        with self._lock:
            self._cache.pop(api_url, None)
            self._refetched.pop(api_url, None)


def _find_key(jwks: Jwks, kid: str) -> Any | None:
    for jwk in jwks.get("keys") or []:
        if isinstance(jwk, dict) and jwk.get("kid") == kid:
            if jwk.get("alg", ALGORITHM) != ALGORITHM or jwk.get("kty") != "RSA":
                raise SignatureError(f"key {kid} is not an RS256 key", code="invalid_signature")
            return jwt.PyJWK(jwk, algorithm=ALGORITHM).key
    return None


def signing_key(api_url: str, kid: str, store: JwksStore) -> Any | None:
    """The shop's RS256 public key named ``kid``; the JWKS is fetched again once when the cached
    set does not hold it (Saleor rotated its key), within the store's cool-down. None when the
    shop has no such key."""
    jwks, fresh = store.keys(api_url)
    key = _find_key(jwks, kid)
    if key is None and not fresh:
        jwks, _ = store.keys(api_url, refresh=True)
        key = _find_key(jwks, kid)
    return key


def verify_jws(signature: str, body: bytes, api_url: str, store: JwksStore) -> dict[str, Any]:
    """Verify a detached JWS over ``body``; returns the protected header or raises."""
    parts = signature.split(".")
    if len(parts) != 3 or parts[1] != "" or not parts[0] or not parts[2]:
        raise SignatureError("Saleor-Signature is not a detached JWS (<header>..<signature>)")
    try:
        header = jwt.get_unverified_header(signature)
    except jwt.PyJWTError as exc:
        raise SignatureError(f"Saleor-Signature header is malformed: {exc}") from None
    if header.get("alg") != ALGORITHM:
        raise SignatureError(
            f"Saleor-Signature uses alg {header.get('alg')!r}; only {ALGORITHM} is accepted",
            code="unsupported_algorithm",
        )
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise SignatureError("Saleor-Signature names no key (kid)")
    key = signing_key(api_url, kid, store)
    if key is None:
        raise SignatureError(f"Saleor-Signature key {kid} is not in the shop's JWKS")
    try:
        PyJWS().decode_complete(
            signature, key=key, algorithms=[ALGORITHM], detached_payload=body
        )
    except jwt.PyJWTError as exc:
        raise SignatureError(f"Saleor-Signature does not match the body: {exc}") from None
    return header


def verify_hmac(signature: str, body: bytes, secret: str) -> None:
    """Legacy: ``hex(HMAC-SHA256(secret, body))``, for webhooks created with a secret key."""
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature.strip().lower()):
        raise SignatureError("Saleor-Signature HMAC does not match the body")


def verify(
    signature: str | None, body: bytes, api_url: str, store: JwksStore, hmac_secret: str = ""
) -> str:
    """Check ``Saleor-Signature``; returns ``"jws"`` or ``"hmac"`` for what was verified."""
    if not signature:
        raise SignatureError("Saleor-Signature header is missing", code="missing_signature")
    if not signature.isascii():  # compare_digest and base64 take ASCII only
        raise SignatureError("Saleor-Signature header is not ASCII")
    if "." not in signature and hmac_secret:
        verify_hmac(signature, body, hmac_secret)
        return "hmac"
    verify_jws(signature, body, api_url, store)
    return "jws"
