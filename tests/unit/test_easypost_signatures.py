"""Our test signer of EasyPost webhooks and the ``easypost`` SDK's own validator (the one the
receiver uses) agree both ways, for any secret a merchant may paste, so a test signed "for
real" proves what EasyPost's own signatures would."""

from __future__ import annotations

import hashlib
import hmac
import json
import unicodedata

import easypost
import pytest
from easypost.errors import SignatureVerificationError

from refunds_plugin.errors import SignatureError
from refunds_plugin.shipping.carriers.easypost import verify_webhook
from tests.fakes.easypost_api import sign, tracker_event

BODY = json.dumps(tracker_event("evt_1", "EZ0000000001", "delivered")).encode()
# plain ASCII, and secrets with characters NFKD changes: a composed "é" and a ligature "ﬁ"
SECRETS = ["whsec_plain", "caf\u00e9-secret", "\ufb01sh-\u00c5ngstr\u00f6m"]


def _sdk_signature(body: bytes, secret: str) -> str:
    """How EasyPost signs (its SDK's documented scheme): HMAC-SHA256 of the raw body under the
    secret in Unicode NFKD, UTF-8, hex with the ``hmac-sha256-hex=`` prefix."""
    key = unicodedata.normalize("NFKD", secret).encode("utf-8")
    return "hmac-sha256-hex=" + hmac.new(key, body, hashlib.sha256).hexdigest()


@pytest.mark.parametrize("secret", SECRETS)
def test_what_our_signer_makes_the_sdk_validates_and_the_receiver_takes(secret: str) -> None:
    headers = {"X-Hmac-Signature": sign(BODY, secret)}
    assert easypost.util.validate_webhook(BODY, headers, secret)["id"] == "evt_1"
    assert verify_webhook(BODY, headers, secret)["result"]["status"] == "delivered"


@pytest.mark.parametrize("secret", SECRETS)
def test_our_signer_is_easyposts_scheme_byte_for_byte(secret: str) -> None:
    assert sign(BODY, secret) == _sdk_signature(BODY, secret)


def test_a_signature_under_another_secret_is_refused_by_both() -> None:
    headers = {"X-Hmac-Signature": sign(BODY, "whsec_other")}
    with pytest.raises(SignatureVerificationError):
        easypost.util.validate_webhook(BODY, headers, "whsec_plain")
    with pytest.raises(SignatureError) as refused:
        verify_webhook(BODY, headers, "whsec_plain")
    assert refused.value.code == "bad_signature"
