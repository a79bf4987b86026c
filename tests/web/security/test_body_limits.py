"""A body over ``REFUNDS_MAX_BODY_BYTES`` is a 413 whether it comes with a ``Content-Length`` or
chunked (sent over real HTTP, where the server dechunks it; Werkzeug used to cut it at the limit
silently, and the signature then failed on the cut body). Nothing is recorded."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator

import pytest
import stripe

from tests.fakes import STOREFRONT_SECRET, STRIPE_SECRETS, Clock, Harness, order_paid
from tests.fakes.loopback import Loopback
from webhooks import signatures

LIMIT = 2000
NOTHING = {"events": 0, "decisions": 0, "refund_attempts": 0, "ledger_entries": 0}


@pytest.fixture
def small(sqlite_url: str, clock: Clock) -> Iterator[Harness]:
    """A service taking bodies of up to ``LIMIT`` bytes."""
    from refunds_plugin.ledger.db import make_engine
    from refunds_plugin.ledger.migrate import migrate

    migrate(make_engine(sqlite_url))
    h = Harness(sqlite_url, clock, settings={"max_body_bytes": LIMIT})
    yield h
    h.close()


@pytest.fixture
def served(small: Harness) -> Iterator[Loopback]:
    server = Loopback(small.app, name="body-limits").start()
    yield server
    server.stop()


def _padded(size: int) -> bytes:
    """A storefront order.paid of exactly ``size`` bytes (an unread field fills it)."""
    body = json.dumps({**order_paid(), "pad": ""}).encode()
    return body.replace(b'"pad": ""', b'"pad": "' + b"x" * (size - len(body)) + b'"')


def _chunked(server: Loopback, path: str, body: bytes, headers: dict[str, str],
             ) -> tuple[int, dict[str, object]]:
    host, port = server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    chunks = iter([body[i:i + 500] for i in range(0, len(body), 500)])
    conn.request("POST", path, body=chunks, headers=headers)  # no length: Transfer-Encoding
    resp = conn.getresponse()
    answer = (resp.status, json.loads(resp.read()))
    conn.close()
    return answer


def _storefront_headers(h: Harness, body: bytes) -> dict[str, str]:
    return {"Refunds-Signature": signatures.sign(STOREFRONT_SECRET, body,
                                                 int(h.clock.timestamp())),
            "Content-Type": "application/json"}


@pytest.mark.parametrize("size", [LIMIT + 1, 3 * LIMIT])
def test_a_signed_chunked_storefront_body_over_the_limit_is_413(
    small: Harness, served: Loopback, size: int,
) -> None:
    body = _padded(size)

    answer = _chunked(served, "/webhooks/storefront", body, _storefront_headers(small, body))

    assert answer == (413, {"error": {"code": "body_too_large",
                                      "message": f"request body is over {LIMIT} bytes"}})
    assert small.money_rows() == NOTHING
    exact = _padded(LIMIT)  # the limit itself is still taken, chunked
    assert _chunked(served, "/webhooks/storefront", exact, _storefront_headers(small, exact)) \
        == (200, {"received": True, "duplicate": False, "updated": False})


def test_a_signed_chunked_stripe_body_over_the_limit_is_413(
    small: Harness, served: Loopback,
) -> None:
    text = json.dumps({"id": "evt_big", "type": "payment_intent.succeeded", "created": 1,
                       "data": {"object": {"id": "pi_1", "description": "x" * LIMIT}}})
    header = stripe.WebhookSignature.generate_signature_header(
        text, STRIPE_SECRETS[0], int(small.clock.timestamp()))

    answer = _chunked(served, "/webhooks/stripe", text.encode(),
                      {"Stripe-Signature": header, "Content-Type": "application/json"})

    assert answer[0] == 413 and answer[1]["error"] == {  # type: ignore[index]
        "code": "body_too_large", "message": f"request body is over {LIMIT} bytes"}
    assert small.money_rows() == NOTHING
