"""Dashboard access tokens as Saleor issues them for an app extension: RS256 JWTs signed with the
shop's key (named by ``kid``), with the claims of ``saleor/core/jwt.py``
(``_create_access_token_for_third_party_actions``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fakes.saleor_api import API_URL, APP_ID

STAFF_ID = "VXNlcjoy"
STAFF_EMAIL = "kim@shop.example.com"
ALL_ORDERS = ("MANAGE_ORDERS", "HANDLE_PAYMENTS", "MANAGE_PRODUCTS")


def claims(
    now: datetime,
    *,
    app: str = APP_ID,
    iss: str = API_URL,
    user_permissions: tuple[str, ...] = ALL_ORDERS,
    ttl_s: int = 300,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "iat": int(now.timestamp()),
        "owner": "saleor",
        "iss": iss,
        "exp": int((now + timedelta(seconds=ttl_s)).timestamp()),
        "token": "sblFekZuBIGW",
        "email": STAFF_EMAIL,
        "type": "thirdparty",
        "user_id": STAFF_ID,
        "is_staff": True,
        "app": app,
        "permissions": [p for p in user_permissions if p == "MANAGE_ORDERS"],
        "user_permissions": list(user_permissions),
        "app_extension": "QXBwRXh0ZW5zaW9uOjE=",
    }
    body.update(extra)
    return body


def issue(body: dict[str, Any], key: rsa.RSAPrivateKey, kid: str) -> str:
    """Saleor's ``JWTManager.encode``: RS256 with the key's ``kid`` in the header."""
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": kid})


def tamper(token: str, **changes: Any) -> str:
    """The same header and signature over a changed payload (what a forger can produce)."""
    header, _payload, signature = token.split(".")
    body = jwt.decode(token, options={"verify_signature": False})
    body.update(changes)
    forged = jwt.encode(body, "x" * 32, algorithm="HS256").split(".")[1]
    return ".".join([header, forged, signature])
