"""A carrier or tracking number a person types: the service refuses exactly what the OpenAPI
document's pattern excludes (control characters and line separators), so a request the document
calls valid is never refused as malformed."""

from __future__ import annotations

import re

import pytest

from refunds_plugin.errors import InputError
from refunds_plugin.exchanges.by_hand import _field
from webhooks.finance.openapi import PRINTABLE


@pytest.mark.parametrize("text, accepted", [
    ("UPS", True),
    ("DHL Express", True),
    ("La Poste\u00a0Colissimo", True),  # a no-break space
    ("Ｙａｍａｔｏ 📦", True),
    ("1Z999\nAA1", False),
    ("\u007fq", False),  # DEL, the fuzzer's find
    ("x\u0085y", False),  # next line (C1)
    ("a\u2028b", False),  # line separator
    ("tab\tstop", False),
])
def test_the_service_and_its_document_agree_on_what_a_field_may_hold(text: str,
                                                                     accepted: bool) -> None:
    assert (re.fullmatch(PRINTABLE, text) is not None) is accepted
    if accepted:
        assert _field("carrier", text, 64) == text
    else:
        with pytest.raises(InputError, match="the carrier has a line break or control character"):
            _field("carrier", text, 64)
