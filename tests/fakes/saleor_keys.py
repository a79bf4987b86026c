"""The shop's signing keys, as Saleor uses them: an RS256 key per name (its JWKS entry with a
``kid``), and Saleor's detached JWS over a webhook's exact body bytes."""

from __future__ import annotations

import json
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

_KEYS: dict[str, rsa.RSAPrivateKey] = {}


def rsa_key(name: str) -> rsa.RSAPrivateKey:
    """One 2048-bit key per name per session (generating them is the slow part)."""
    if name not in _KEYS:
        _KEYS[name] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _KEYS[name]


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": kid, "alg": "RS256", "use": "sig"})
    return dict(jwk)


def sign(body: bytes, key: rsa.RSAPrivateKey, kid: str, alg: str = "RS256") -> str:
    """Saleor's ``JWTManager.jws_encode``: ``<header>..<signature>`` with ``b64: false``."""
    secret: Any = key if alg.startswith("RS") else "not-a-key-for-hmac-but-long-enough-32b"
    return jwt.api_jws.encode(
        body, key=secret, algorithm=alg, headers={"kid": kid, "crit": ["b64"]},
        is_payload_detached=True,
    )
