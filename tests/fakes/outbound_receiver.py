"""The merchant's endpoint for outbound events: every delivery verified with the
``standardwebhooks`` package's own verifier."""

from __future__ import annotations

import base64
from typing import Any

import requests
from standardwebhooks import Webhook

HOOK = "https://erp.mugs.example/hooks/refunds"
SECRET = "whsec_" + base64.b64encode(b"merchant-erp-signing-secret-0001").decode()
# the settings of a shop whose systems receive our events (``exchange.ready_to_ship`` too)
ANNOUNCED = {"outbound_url": HOOK, "outbound_secret": SECRET}


class Receiver:
    """The merchant's endpoint: verifies every delivery with the package's verifier, answers
    500 to the first ``fail_first`` deliveries of each id (or is unreachable, or, while
    ``gone``, 410 Gone), then 204."""

    def __init__(self, fail_first: int = 0, down: bool = False, gone: bool = False) -> None:
        self.fail_first = fail_first
        self.down = down
        self.gone = gone
        self.deliveries: list[tuple[str, dict[str, Any]]] = []
        self.verified: list[tuple[str, dict[str, Any]]] = []  # the ones answered 2xx

    def __call__(self, request: Any) -> tuple[int, dict[str, str], str]:
        if self.down:
            raise requests.ConnectionError("connection refused")
        payload = Webhook(SECRET).verify(request.body, dict(request.headers))
        msg_id = request.headers["webhook-id"]
        self.deliveries.append((msg_id, payload))
        if self.gone:
            return 410, {}, "gone"
        if sum(1 for i, _ in self.deliveries if i == msg_id) <= self.fail_first:
            return 500, {}, "busy"
        self.verified.append((msg_id, payload))
        return 204, {}, ""
