"""Detached-JWS verification and the JWKS cache, without HTTP."""

from __future__ import annotations

import pytest

from refunds_plugin.errors import SignatureError
from refunds_plugin.saleor.jws import REFETCH_COOL_DOWN_S, JwksStore, verify
from tests.fakes.saleor_api import public_jwk, rsa_key, sign

URL = "https://shop.example.com/graphql/"
BODY = b'{"order": {"id": "T3JkZXI6MQ=="}}'


class Keys:
    def __init__(self, *pairs):
        self.sets = [{"keys": [public_jwk(rsa_key(name), kid) for kid, name in pairs]}]

    def fetch(self, _url):
        return self.sets[-1]


def test_the_key_set_is_fetched_once_and_then_served_from_the_cache():
    keys = Keys(("k1", "one"))
    store = JwksStore(fetch=keys.fetch)
    for _ in range(3):
        assert verify(sign(BODY, rsa_key("one"), "k1"), BODY, URL, store) == "jws"
    assert store.fetches == 1


def test_a_stored_key_set_is_used_before_any_fetch():
    keys = Keys(("k1", "one"))
    store = JwksStore(fetch=keys.fetch, load=lambda _u: keys.sets[0])
    verify(sign(BODY, rsa_key("one"), "k1"), BODY, URL, store)
    assert store.fetches == 0


def test_an_unknown_kid_refetches_exactly_once_and_then_waits_out_the_cool_down():
    keys = Keys(("k1", "one"))
    saved = []
    now = [1000.0]
    store = JwksStore(fetch=keys.fetch, load=lambda _u: keys.sets[0],
                      save=lambda u, j: saved.append(j), clock=lambda: now[0])
    keys.sets.append({"keys": [public_jwk(rsa_key("two"), "k2")]})
    assert verify(sign(BODY, rsa_key("two"), "k2"), BODY, URL, store) == "jws"
    assert store.fetches == 1 and saved == [keys.sets[-1]]
    for _ in range(50):  # forged kids within the cool-down: no fetch, no write
        with pytest.raises(SignatureError, match="not in the shop's JWKS"):
            verify(sign(BODY, rsa_key("evil"), "k9"), BODY, URL, store)
    assert store.fetches == 1 and len(saved) == 1
    now[0] += REFETCH_COOL_DOWN_S  # the cool-down is over: one more re-fetch for k9
    with pytest.raises(SignatureError, match="not in the shop's JWKS"):
        verify(sign(BODY, rsa_key("evil"), "k9"), BODY, URL, store)
    assert store.fetches == 2


@pytest.mark.parametrize(
    ("signature", "message"),
    [
        ("", "missing"),
        ("abc", "not a detached JWS"),
        ("a.b.c", "not a detached JWS"),
        ("!!!..sig", "malformed"),
    ],
)
def test_malformed_signatures_name_the_exact_cause(signature, message):
    store = JwksStore(fetch=Keys(("k1", "one")).fetch)
    with pytest.raises(SignatureError, match=message):
        verify(signature, BODY, URL, store)
    assert store.fetches == 0


def test_an_hs256_signature_is_refused_before_any_key_is_looked_up():
    store = JwksStore(fetch=Keys(("k1", "one")).fetch)
    with pytest.raises(SignatureError, match="only RS256"):
        verify(sign(BODY, rsa_key("one"), "k1", "HS256"), BODY, URL, store)
    assert store.fetches == 0


def test_one_changed_byte_in_the_body_fails_verification():
    store = JwksStore(fetch=Keys(("k1", "one")).fetch)
    with pytest.raises(SignatureError, match="does not match"):
        verify(sign(BODY, rsa_key("one"), "k1"), BODY.replace(b"MQ", b"Mg"), URL, store)
