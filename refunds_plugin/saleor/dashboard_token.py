"""The access token Saleor's Dashboard gives an app extension: who is looking, for which app.

When the Dashboard mounts the order widget it posts ``saleorApiUrl``, ``appId``, ``orderId`` and
``accessToken``. The token is an RS256 JWT that Saleor signs with the same key as its webhooks
(JWKS at the API URL's origin) and issues for a staff user *for one app*
(``saleor/core/jwt.py``, ``_create_access_token_for_third_party_actions``):

    iss              the API URL (``https://shop.example.com/graphql/``; older Saleors: the domain)
    exp, iat         a few minutes (``JWT_TTL_APP_ACCESS``, 5 min by default)
    owner, type      ``saleor``, ``thirdparty``
    app              the App's global id: our install's app id
    aud              the manifest's ``audience``, when the app declared one
    user_id, email   the staff user; ``is_staff``
    user_permissions everything the user may do; ``permissions``: that ∩ the app's/extension's

Nothing posted is believed until ``verify`` has checked, in order: the API URL is an installed
(and allowed) Saleor, the posted app id is ours, the signature is by that Saleor's key, the token
is not expired, its issuer is that Saleor, its ``app`` is our app, its audience (if any) is ours,
and it is a staff user's third-party token. The permission to decide a review is then read from
``user_permissions`` (``StaffToken.can``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import jwt

from refunds_plugin.errors import SignatureError
from refunds_plugin.saleor.installs import Install, normalize_api_url
from refunds_plugin.saleor.jws import ALGORITHM, JwksStore, signing_key

# Saleor's and our clocks may differ a little; a token "issued" a minute ahead is still fine
LEEWAY = timedelta(seconds=60)


class DashboardTokenError(SignatureError):
    """The Dashboard's token (or what was posted with it) cannot be trusted."""

    code = "invalid_dashboard_token"


@dataclass(frozen=True)
class StaffToken:
    """A verified token: the Saleor it came from and the staff user it speaks for."""

    api_url: str
    app_id: str
    user_id: str
    email: str
    user_permissions: frozenset[str]
    expires_at: datetime

    def can(self, permission: str) -> bool:
        return permission in self.user_permissions

    @property
    def who(self) -> str:
        """How the journal names this person: e-mail, Saleor user id and shop host."""
        host = urlsplit(self.api_url).netloc
        return f"{self.email} (Saleor staff {self.user_id} @ {host})"[:255]


def _refuse(message: str, code: str) -> DashboardTokenError:
    return DashboardTokenError(message, code=code)


def _issuer_matches(iss: Any, api_url: str) -> bool:
    """Saleor 3.x issues ``iss`` as its API URL; older releases wrote only the domain."""
    if not isinstance(iss, str) or not iss:
        return False
    if "://" in iss:
        return normalize_api_url(iss) == api_url
    return iss.lower() == urlsplit(api_url).netloc


def verify(
    token: str,
    *,
    api_url: str,
    app_id: str,
    install: Install | None,
    store: JwksStore,
    now: datetime,
    audience: str | None = None,
) -> StaffToken:
    """Check everything about ``token`` posted with ``api_url`` (normalized) and ``app_id``;
    ``install`` is the install row for ``api_url`` (None: not installed, or not allowed)."""
    if install is None or not install.app_id:
        raise _refuse(f"{api_url} is not a Saleor this app is installed in", "unknown_saleor")
    if app_id != install.app_id:
        raise _refuse("the posted appId is not this app's id in that Saleor", "wrong_app")
    if not token:
        raise _refuse("the Dashboard sent no access token", "missing_token")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise _refuse(f"the access token is not a JWT: {exc}", "malformed_token") from None
    if header.get("alg") != ALGORITHM:
        raise _refuse(f"the access token uses alg {header.get('alg')!r}; only RS256 is "
                      "accepted", "unsupported_algorithm")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise _refuse("the access token names no key (kid)", "malformed_token")
    try:
        key = signing_key(api_url, kid, store)
    except SignatureError as exc:
        raise _refuse(exc.message, "invalid_signature") from None
    if key is None:
        raise _refuse(f"key {kid} is not one of {api_url}'s signing keys", "invalid_signature")
    try:
        # expiry is checked below against the service's clock; the audience by hand, because
        # a token without one (an app that never declared an audience) is still Saleor's
        claims = jwt.decode(
            token, key=key, algorithms=[ALGORITHM],
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False,
                     "verify_aud": False, "verify_iss": False, "require": ["exp", "iat"]},
        )
    except jwt.InvalidSignatureError:
        raise _refuse("the access token's signature does not match", "invalid_signature") from None
    except jwt.PyJWTError as exc:
        raise _refuse(f"the access token cannot be read: {exc}", "malformed_token") from None
    return _check_claims(claims, api_url=api_url, app_id=app_id, now=now, audience=audience)


def _when(value: Any, name: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _refuse(f"the access token's {name} is not a time", "malformed_token")
    return datetime.fromtimestamp(value, tz=UTC)


def _check_claims(
    claims: dict[str, Any], *, api_url: str, app_id: str, now: datetime, audience: str | None
) -> StaffToken:
    expires = _when(claims.get("exp"), "exp")
    if expires <= now:
        raise _refuse("the access token has expired; reload the order page", "expired_token")
    if _when(claims.get("iat"), "iat") > now + LEEWAY:
        raise _refuse("the access token was issued in the future", "malformed_token")
    if not _issuer_matches(claims.get("iss"), api_url):
        raise _refuse(f"the access token was issued by {claims.get('iss')!r}, not {api_url}",
                      "wrong_saleor")
    if claims.get("app") != app_id:
        raise _refuse("the access token was issued for another app", "wrong_app")
    aud = claims.get("aud")
    if aud is not None:
        wanted = (audience or "").rstrip("/")
        auds = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if not wanted or wanted not in [str(a).rstrip("/") for a in auds]:
            raise _refuse(f"the access token is meant for {aud!r}, not this app",
                          "wrong_audience")
    if claims.get("owner", "saleor") != "saleor" or claims.get("type") != "thirdparty":
        raise _refuse("this is not a token Saleor issued for an app", "wrong_token_type")
    user_id, email = claims.get("user_id"), claims.get("email")
    if not isinstance(user_id, str) or not user_id or not isinstance(email, str) or not email:
        raise _refuse("the access token names no staff user", "malformed_token")
    if claims.get("is_staff") is not True:
        raise _refuse("the access token is not a staff user's", "not_staff")
    perms = claims.get("user_permissions")
    if not isinstance(perms, list):
        raise _refuse("the access token lists no user permissions", "malformed_token")
    return StaffToken(
        api_url=api_url, app_id=app_id, user_id=user_id, email=email,
        user_permissions=frozenset(str(p) for p in perms), expires_at=expires,
    )
