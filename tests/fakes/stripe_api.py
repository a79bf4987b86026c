"""A stateful fake of the parts of Stripe's HTTP API this service uses, as a small Flask app.

It models what matters for money: payment intents with captured amounts, refunds checked against
the unrefunded remainder (``param=amount``), ``charge_already_refunded``, ``charge_disputed``,
coupons and promotion codes, Checkout Sessions in payment mode (paid with ``complete_session``,
expired with ``expire_session``, each returning the event's object; ``POST
.../checkout/sessions/:id/expire`` expires an ``open`` one and refuses any other), and Stripe's
idempotency semantics: the first answer for an ``Idempotency-Key`` is saved and replayed
(``Idempotent-Replayed: true``) for the same parameters, including a saved 500; different
parameters get ``idempotency_error``; a key still executing gets 409. Knobs inject failures
(``fail_next``) and slow answers (``hang_next``); ``calls`` logs every
request so tests can count provider calls.

The key's mode is Stripe's: a test key (``sk_test_…``, ``rk_test_…``) works in test mode, any
other in live mode, and the objects that carry ``livemode`` in Stripe's API reference (coupons,
promotion codes, Checkout Sessions) say which. A Refund carries none there, so it has none here:
the caller knows the mode from its key (and an event from the event's own ``livemode``).

The account itself (its objects, Stripe's checks on them, the knobs) is ``stripe_account``'s
``FakeStripe``, re-exported here; this module is its HTTP face: the keys, the routes, the server.

Start it in a thread with ``FakeStripeServer().start()`` or as a process with
``python -m tests.fakes.stripe_api --port N``; a process is seeded through ``POST /_fake/…``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, request
from werkzeug.datastructures import MultiDict

from tests.fakes.loopback import Loopback
from tests.fakes.stripe_account import (
    LIVEMODE_OBJECTS,
    TEST_KEYS,
    THREE_DECIMAL,
    WHOLE_UNITS,
    Call,
    FakeStripe,
    Fault,
    StripeFailure,
)

__all__ = ["LIVEMODE_OBJECTS", "TEST_KEYS", "THREE_DECIMAL", "WHOLE_UNITS", "Call", "FakeStripe",
           "FakeStripeServer", "Fault", "StripeFailure", "create_app", "main", "nested"]


def nested(form: MultiDict[str, str]) -> dict[str, Any]:
    """``metadata[order_id]=1`` and ``promotion[coupon]=x`` as nested dicts, as Stripe does."""
    out: dict[str, Any] = {}
    for raw_key, value in form.items(multi=True):
        parts = raw_key.replace("]", "").split("[")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def _answer(status: int, body: dict[str, Any], replayed: bool = False) -> Response:
    resp = Response(json.dumps(body), status=status, mimetype="application/json")
    resp.headers["Request-Id"] = f"req_fake{time.monotonic_ns()}"
    if replayed:
        resp.headers["Idempotent-Replayed"] = "true"
    return resp


def create_app(fake: FakeStripe) -> Flask:
    app = Flask("fake_stripe")
    routes: dict[tuple[str, str], Callable[[dict[str, Any]], dict[str, Any]]] = {
        ("POST", "/v1/refunds"): fake.create_refund,
        ("POST", "/v1/coupons"): fake.create_coupon,
        ("POST", "/v1/promotion_codes"): fake.create_promotion_code,
        ("POST", "/v1/checkout/sessions"): fake.create_checkout_session,
    }

    def api(path: str) -> Response:
        full = "/v1/" + path
        params = nested(request.form) if request.method == "POST" else nested(request.args)
        key = request.headers.get("Idempotency-Key")
        call = Call(request.method, full, params, key)
        with fake.lock:
            fake.calls.append(call)
            fault = fake.faults.pop(0) if fake.faults else None
        api_key = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if not api_key.startswith(("sk_", "rk_")):  # a secret or a restricted key
            call.status = 401
            return _answer(401, {"error": {"type": "invalid_request_error",
                                           "message": "Invalid API Key provided"}})
        fingerprint = json.dumps([request.method, full, params], sort_keys=True)
        if key and request.method == "POST":
            with fake.lock:
                if key in fake.saved:
                    saved_print, status, body = fake.saved[key]
                    if saved_print != fingerprint:
                        call.status = 400
                        return _answer(400, {"error": {
                            "type": "idempotency_error",
                            "message": "Keys for idempotent requests can only be used with the "
                            "same parameters they were first used with. Try using a key other "
                            f"than '{key}' if you meant to execute a different request."}})
                    call.status, call.replayed = status, True
                    return _answer(status, body, replayed=True)
                if key in fake.executing:
                    call.status = 409
                    return _answer(409, {"error": {
                        "type": "idempotency_error",
                        "message": "There is currently another in-progress request using this "
                        "Stripe-Idempotency-Key."}})
                fake.executing.add(key)
        try:
            if fault is not None and fault.kind == "hang":
                time.sleep(fault.seconds)
            if fault is not None and fault.kind == "status":
                status, body = fault.status, {"error": {
                    "type": "api_error", "message": "Something went wrong on Stripe's end."}}
                save = fault.saved
            else:
                status, body, save = _run(fake, routes, request.method, full, path, params,
                                          livemode=not api_key.startswith(TEST_KEYS))
            if key and request.method == "POST" and save:
                with fake.lock:
                    fake.saved[key] = (fingerprint, status, body)
            call.status = status
            return _answer(status, body)
        finally:
            if key and request.method == "POST":
                with fake.lock:
                    fake.executing.discard(key)

    app.add_url_rule("/v1/<path:path>", "api", api, methods=["GET", "POST"])
    _control(app, fake)
    return app


def _run(fake: FakeStripe, routes: dict[tuple[str, str], Any], method: str, full: str,
         path: str, params: dict[str, Any], livemode: bool = True
         ) -> tuple[int, dict[str, Any], bool]:
    with fake.lock:
        try:
            if method == "GET" and full == "/v1/refunds":
                return 200, fake.list_refunds(request.args), False
            if method == "GET" and path.startswith("refunds/"):
                found = [r for r in fake.refunds if r["id"] == path.split("/", 1)[1]]
                if not found:
                    raise StripeFailure(404, "invalid_request_error", "No such refund",
                                        code="resource_missing")
                return 200, found[0], False
            if method == "GET" and path.startswith("checkout/sessions/"):
                cs = fake.checkout_sessions.get(path.rsplit("/", 1)[1])
                if cs is None:
                    raise StripeFailure(404, "invalid_request_error", "No such checkout.session",
                                        code="resource_missing")
                return 200, cs, False
            if method == "POST" and path.startswith("checkout/sessions/") \
                    and path.endswith("/expire"):
                return 200, fake.expire_session_call(path.split("/")[2]), True
            handler = routes.get((method, full))
            if handler is None:
                raise StripeFailure(404, "invalid_request_error",
                                    f"Unrecognized request URL ({method}: {full}).")
            made = handler(params)
            if made.get("object") in LIVEMODE_OBJECTS:  # made in the key's mode, kept so
                made["livemode"] = livemode
            return 200, made, True
        except StripeFailure as exc:
            return exc.status, exc.body, True


def _control(app: Flask, fake: FakeStripe) -> None:
    """Seeding and inspection for a fake running in another process."""

    @app.post("/_fake/payment_intents")
    def seed() -> Response:
        data = request.get_json(force=True)
        pi = fake.add_payment_intent(int(data["amount"]), data["currency"], data.get("id"),
                                     **data.get("metadata", {}))
        return _answer(200, pi)

    @app.post("/_fake/faults")
    def faults() -> Response:
        data = request.get_json(force=True)
        if data.get("hang"):
            fake.hang_next(int(data.get("count", 1)), float(data["hang"]))
        else:
            fake.fail_next(int(data.get("count", 1)), int(data.get("status", 500)),
                           bool(data.get("saved", False)))
        return _answer(200, {"faults": len(fake.faults)})

    @app.get("/_fake/calls")
    def calls() -> Response:
        with fake.lock:
            rows = [c.__dict__ for c in fake.calls]
        return _answer(200, {"calls": rows})


@dataclass
class FakeStripeServer:
    """The fake served by a threaded werkzeug server on 127.0.0.1 and a free port."""

    fake: FakeStripe = field(default_factory=FakeStripe)
    host: str = "127.0.0.1"
    port: int = 0
    _loop: Loopback | None = None

    @property
    def url(self) -> str:
        assert self._loop is not None, "start() the server first"
        return self._loop.url

    def start(self) -> FakeStripeServer:
        self._loop = Loopback(create_app(self.fake), self.host, self.port, "fake-stripe").start()
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    args = parser.parse_args(argv)
    server = Loopback(create_app(FakeStripe()), args.host, args.port)
    print(f"fake Stripe API on {server.url}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
