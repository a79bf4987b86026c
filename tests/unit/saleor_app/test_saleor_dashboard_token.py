"""The order widget's token checks, with real RS256 signatures and Saleor's real claims: only a
fresh token Saleor signed for this app, for a staff user, in an installed Saleor is believed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from refunds_plugin.saleor.dashboard_token import DashboardTokenError, verify
from refunds_plugin.saleor.installs import Install
from refunds_plugin.saleor.jws import JwksStore
from tests.fakes.saleor_api import API_URL, APP_ID, public_jwk, rsa_key
from tests.fakes.saleor_tokens import STAFF_EMAIL, STAFF_ID, claims, issue, tamper

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
APP_URL = "https://refunds.example.com"
INSTALL = Install(API_URL, APP_ID, "saleor-app-token-1", None)


class Keys:
    """The shop's JWKS as ``JwksStore`` fetches it, counting fetches; rotatable."""

    def __init__(self) -> None:
        self.kids = {"kid-1": "one"}
        self.fetched: list[str] = []
        self.store = JwksStore(fetch=self.fetch)

    def fetch(self, api_url: str) -> dict[str, object]:
        self.fetched.append(api_url)
        return {"keys": [public_jwk(rsa_key(name), kid) for kid, name in self.kids.items()]}


@pytest.fixture
def keys() -> Keys:
    return Keys()


def _check(keys: Keys, token: str, *, app_id: str = APP_ID, install: Install | None = INSTALL,
           now: datetime = NOW, audience: str | None = APP_URL):
    return verify(token, api_url=API_URL, app_id=app_id, install=install, store=keys.store,
                  now=now, audience=audience)


def _refused(keys: Keys, token: str, **kwargs: object) -> str:
    with pytest.raises(DashboardTokenError) as info:
        _check(keys, token, **kwargs)  # type: ignore[arg-type]
    return info.value.code


def test_a_fresh_token_for_this_app_names_the_staff_user_and_their_permissions(keys):
    staff = _check(keys, issue(claims(NOW), rsa_key("one"), "kid-1"))
    assert (staff.api_url, staff.app_id, staff.user_id, staff.email) == (
        API_URL, APP_ID, STAFF_ID, STAFF_EMAIL)
    assert staff.user_permissions == {"MANAGE_ORDERS", "HANDLE_PAYMENTS", "MANAGE_PRODUCTS"}
    assert staff.can("MANAGE_ORDERS") and not staff.can("MANAGE_APPS")
    assert staff.expires_at == NOW + timedelta(seconds=300)
    assert staff.who == f"{STAFF_EMAIL} (Saleor staff {STAFF_ID} @ shop.example.com)"
    assert keys.fetched == [API_URL]


def test_a_token_with_our_audience_is_accepted_and_one_for_another_audience_is_not(keys):
    ours = issue(claims(NOW, aud=APP_URL), rsa_key("one"), "kid-1")
    assert _check(keys, ours).email == STAFF_EMAIL
    theirs = issue(claims(NOW, aud="https://other-app.example.com"), rsa_key("one"), "kid-1")
    assert _refused(keys, theirs) == "wrong_audience"


def test_an_expired_token_is_refused_even_one_second_late(keys):
    token = issue(claims(NOW - timedelta(seconds=300)), rsa_key("one"), "kid-1")
    assert _refused(keys, token) == "expired_token"
    assert _check(keys, token, now=NOW - timedelta(seconds=1)).email == STAFF_EMAIL


def test_a_token_issued_for_another_app_is_refused(keys):
    token = issue(claims(NOW, app="QXBwOjk5"), rsa_key("one"), "kid-1")
    assert _refused(keys, token) == "wrong_app"


def test_a_posted_app_id_that_is_not_ours_is_refused_before_any_key_is_fetched(keys):
    token = issue(claims(NOW, app="QXBwOjk5"), rsa_key("one"), "kid-1")
    assert _refused(keys, token, app_id="QXBwOjk5") == "wrong_app"
    assert keys.fetched == []


def test_a_saleor_this_app_is_not_installed_in_is_refused(keys):
    token = issue(claims(NOW), rsa_key("one"), "kid-1")
    assert _refused(keys, token, install=None) == "unknown_saleor"
    assert keys.fetched == []


def test_a_token_issued_by_another_saleor_is_refused_even_with_the_same_key(keys):
    # two stores on one signing key (a hosted cluster): the issuer tells them apart
    token = issue(claims(NOW, iss="https://other.example.com/graphql/"), rsa_key("one"), "kid-1")
    assert _refused(keys, token) == "wrong_saleor"


def test_a_token_signed_by_another_saleors_key_is_refused_after_one_refetch(keys):
    assert _check(keys, issue(claims(NOW), rsa_key("one"), "kid-1")).email == STAFF_EMAIL
    token = issue(claims(NOW), rsa_key("other-shop"), "kid-9")
    assert _refused(keys, token) == "invalid_signature"
    assert keys.fetched == [API_URL, API_URL]  # unknown kid: the JWKS was fetched again, once
    assert _refused(keys, token) == "invalid_signature"
    # within the re-fetch cool-down a second unknown kid costs no fetch (never a loop either)
    assert len(keys.fetched) == 2


def test_a_token_signed_by_another_key_under_our_kid_is_refused(keys):
    token = issue(claims(NOW), rsa_key("other-shop"), "kid-1")
    assert _refused(keys, token) == "invalid_signature"


def test_a_tampered_token_is_refused(keys):
    token = issue(claims(NOW, user_permissions=("MANAGE_PRODUCTS",)), rsa_key("one"), "kid-1")
    forged = tamper(token, user_permissions=["MANAGE_ORDERS"])
    assert _refused(keys, forged) == "invalid_signature"
    later = tamper(issue(claims(NOW - timedelta(hours=1)), rsa_key("one"), "kid-1"),
                   exp=int((NOW + timedelta(hours=1)).timestamp()))
    assert _refused(keys, later) == "invalid_signature"


def test_after_saleor_rotates_its_key_the_new_kid_is_fetched_and_accepted(keys):
    assert _check(keys, issue(claims(NOW), rsa_key("one"), "kid-1")).email == STAFF_EMAIL
    keys.kids = {"kid-2": "two"}
    assert _check(keys, issue(claims(NOW), rsa_key("two"), "kid-2")).email == STAFF_EMAIL
    assert keys.fetched == [API_URL, API_URL]


def test_an_hmac_or_unsigned_token_is_refused(keys):
    import jwt

    hs = jwt.encode(claims(NOW), "a-shared-secret-long-enough-for-hs256", algorithm="HS256",
                    headers={"kid": "kid-1"})
    assert _refused(keys, hs) == "unsupported_algorithm"
    none = jwt.encode(claims(NOW), None, algorithm="none", headers={"kid": "kid-1"})
    assert _refused(keys, none) == "unsupported_algorithm"
    assert _refused(keys, "not.a.jwt") == "malformed_token"
    assert _refused(keys, "") == "missing_token"


def test_a_users_own_access_token_or_a_customers_token_is_not_a_staff_app_token(keys):
    own = issue(claims(NOW, type="access"), rsa_key("one"), "kid-1")
    assert _refused(keys, own) == "wrong_token_type"
    customer = issue(claims(NOW, is_staff=False), rsa_key("one"), "kid-1")
    assert _refused(keys, customer) == "not_staff"


def test_an_older_saleor_that_issues_its_domain_as_iss_is_still_that_saleor(keys):
    token = issue(claims(NOW, iss="shop.example.com"), rsa_key("one"), "kid-1")
    assert _check(keys, token).email == STAFF_EMAIL
    other = issue(claims(NOW, iss="other.example.com"), rsa_key("one"), "kid-1")
    assert _refused(keys, other) == "wrong_saleor"
