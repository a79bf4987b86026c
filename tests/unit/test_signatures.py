"""Stripe-scheme signatures: made by stripe-python, checked on raw bytes, with an injected clock."""

from __future__ import annotations

import pytest
import stripe

from refunds_plugin.errors import SignatureError
from webhooks.signatures import sign, verify

BODY = b'{"id":"evt_1","type":"order.paid"}'
NOW = 1_795_003_200


def _clock() -> float:
    return float(NOW)


def test_a_header_made_by_stripe_python_verifies_and_returns_its_timestamp() -> None:
    header = stripe.WebhookSignature.generate_signature_header(BODY.decode(), "whsec_a", NOW)
    assert verify(BODY, header, ["whsec_a"], clock=_clock) == NOW


def test_our_sign_matches_stripe_pythons_scheme_byte_for_byte() -> None:
    ours = sign("whsec_a", BODY, NOW)
    theirs = stripe.WebhookSignature.generate_signature_header(BODY.decode(), "whsec_a", NOW)
    assert ours == theirs


def test_any_configured_secret_verifies_during_rotation() -> None:
    header = sign("whsec_old", BODY, NOW)
    assert verify(BODY, header, ["whsec_new", "whsec_old"], clock=_clock) == NOW


def test_blank_secrets_are_ignored_and_none_at_all_is_refused() -> None:
    with pytest.raises(SignatureError) as caught:
        verify(BODY, sign("x", BODY, NOW), ["", "  "], clock=_clock)
    assert caught.value.code == "signature_not_configured"


@pytest.mark.parametrize(("offset", "code"), [
    (-300, None), (300, None), (-301, "signature_expired"), (301, "signature_from_future"),
])
def test_the_tolerance_holds_in_both_directions_to_the_second(
    offset: int, code: str | None
) -> None:
    header = sign("whsec_a", BODY, NOW + offset)
    if code is None:
        assert verify(BODY, header, ["whsec_a"], clock=_clock) == NOW + offset
        return
    with pytest.raises(SignatureError) as caught:
        verify(BODY, header, ["whsec_a"], clock=_clock)
    assert caught.value.code == code


def test_a_body_changed_by_one_byte_after_signing_is_refused() -> None:
    header = sign("whsec_a", BODY, NOW)
    with pytest.raises(SignatureError) as caught:
        verify(BODY + b" ", header, ["whsec_a"], clock=_clock)
    assert caught.value.code == "signature_mismatch"
    assert caught.value.message == (
        "no Stripe-Signature signature matches the body: wrong secret, or the body was changed")


@pytest.mark.parametrize(("header", "code"), [
    (None, "signature_missing"), ("", "signature_missing"),
    ("v1=abc", "signature_malformed"), (f"t={NOW}", "signature_malformed"),
    ("t=now,v1=abc", "signature_malformed"), (f"t={NOW},v0=abc", "signature_malformed"),
])
def test_missing_or_malformed_headers_are_refused_with_their_own_code(
    header: str | None, code: str
) -> None:
    with pytest.raises(SignatureError) as caught:
        verify(BODY, header, ["whsec_a"], clock=_clock)
    assert caught.value.code == code
