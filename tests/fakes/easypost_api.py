"""A stateful fake of the parts of EasyPost's HTTP API the return labels use, as a small Flask
app on a loopback port (the official client talks to it through ``api_base``).

It models shipments (created with a ``reference`` and looked up by id or by that reference, as
EasyPost allows), their rates, one purchase per shipment (a second ``buy`` is refused as EasyPost
refuses it), labels with a QR code form, a tracker per bought label, and refunds of unused
labels. Knobs: ``rates`` (what every shipment is offered), ``reject_zip`` (an address the carrier
refuses, 422), ``fail_next`` (statuses the next calls answer with, before doing anything),
``lose_next_buy`` (the label IS bought, then the answer is a 503: a crash between buy and record,
seen from our side), and ``stale_reads`` (the next look-ups still show a bought shipment
unbought: a purchase EasyPost finished after our call timed out), ``lose_next_refund`` (the
void IS taken, then the answer is a 503; a second void is refused). ``calls`` logs every
request. ``sign`` and ``tracker_event`` make webhooks signed for real, with EasyPost's
``X-Hmac-Signature: hmac-sha256-hex=…``.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, request

from tests.fakes.loopback import Loopback

DEFAULT_RATES = (
    {"carrier": "UPS", "service": "Ground", "rate": "11.20", "currency": "USD"},
    {"carrier": "USPS", "service": "GroundAdvantage", "rate": "7.45", "currency": "USD"},
    {"carrier": "FedEx", "service": "FEDEX_GROUND", "rate": "9.80", "currency": "USD"},
)


@dataclass
class FakeEasyPost:
    rates: tuple[dict[str, str], ...] = DEFAULT_RATES
    reject_zip: str = "00000"
    fail_next: list[int] = field(default_factory=list)
    lose_next_buy: bool = False
    stale_reads: int = 0
    lose_next_refund: bool = False
    shipments: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def find(self, key: str) -> dict[str, Any] | None:
        return self.shipments.get(key) or next(
            (s for s in self.shipments.values() if s.get("reference") == key), None)

    def count(self, method: str, suffix: str) -> int:
        return sum(1 for m, p in self.calls if m == method and p.endswith(suffix))

    @property
    def bought(self) -> list[dict[str, Any]]:
        return [s for s in self.shipments.values() if s.get("postage_label")]


def _error(status: int, code: str, message: str,
           errors: list[dict[str, Any]] | None = None) -> Response:
    body = {"error": {"code": code, "message": message, "errors": errors or []}}
    return Response(json.dumps(body),
                    status=status, mimetype="application/json")


def _ok(body: dict[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def create_app(fake: FakeEasyPost) -> Flask:
    app = Flask("fake_easypost")

    @app.before_request
    def _log_and_fail() -> Response | None:
        with fake.lock:
            fake.calls.append((request.method, request.path))
            if not request.headers.get("Authorization", "").startswith("Bearer "):
                return _error(401, "APIKEY.REQUIRED", "no API key")
            if fake.fail_next:
                status = fake.fail_next.pop(0)
                return _error(status, "INTERNAL_SERVER_ERROR", "the fake was told to fail")
        return None

    @app.post("/v2/shipments")
    def create() -> Response:
        params = (request.get_json() or {}).get("shipment") or {}
        with fake.lock:
            if params.get("to_address", {}).get("zip") == fake.reject_zip:
                # EasyPost's error object: code, message, and the field errors behind it
                return _error(422, "ADDRESS.VERIFY.FAILURE", "Address not found", [
                    {"field": "address", "message": "Address not found", "suggestion": None},
                    {"field": "street1", "message": "House number is missing",
                     "suggestion": None}])
            n = next(fake._ids)
            sid = f"shp_{n:032x}"
            shipment = {
                "id": sid, "object": "Shipment", "reference": params.get("reference"),
                "is_return": bool(params.get("is_return")),
                "to_address": params.get("to_address"), "from_address": params.get("from_address"),
                "parcel": params.get("parcel"), "postage_label": None, "selected_rate": None,
                "tracking_code": None, "tracker": None, "forms": [], "refund_status": None,
                "rates": [{"id": f"rate_{n}_{i}", "object": "Rate", "shipment_id": sid, **r}
                          for i, r in enumerate(fake.rates)],
            }
            fake.shipments[sid] = shipment
        return _ok(shipment, 201)

    @app.get("/v2/shipments/<key>")
    def retrieve(key: str) -> Response:
        with fake.lock:
            found = fake.find(key)
            if found is not None and found["postage_label"] and fake.stale_reads > 0:
                fake.stale_reads -= 1
                found = {**found, "postage_label": None, "selected_rate": None,
                         "tracking_code": None, "tracker": None, "forms": []}
        if found is None:
            return _error(404, "NOT_FOUND", "The requested resource could not be found.")
        return _ok(found)

    @app.post("/v2/shipments/<sid>/buy")
    def buy(sid: str) -> Response:
        rate_id = ((request.get_json() or {}).get("rate") or {}).get("id")
        with fake.lock:
            shipment = fake.shipments.get(sid)
            if shipment is None:
                return _error(404, "NOT_FOUND", "The requested resource could not be found.")
            if shipment["postage_label"]:
                return _error(422, "SHIPMENT.POSTAGE.EXISTS", "postage already exists")
            rate = next((r for r in shipment["rates"] if r["id"] == rate_id), None)
            if rate is None:
                return _error(422, "SHIPMENT.RATE.INVALID", "no such rate")
            code = f"EZ{len(fake.bought) + 1:010d}"
            shipment.update(
                selected_rate=rate, tracking_code=code,
                postage_label={"object": "PostageLabel",
                               "label_url": f"https://labels.example/{sid}.pdf"},
                forms=[{"object": "Form", "form_type": "label_qr_code",
                        "form_url": f"https://labels.example/{sid}-qr.png"}],
                tracker={"object": "Tracker", "tracking_code": code, "status": "pre_transit"})
            lost, fake.lose_next_buy = fake.lose_next_buy, False
        if lost:
            return _error(503, "SERVICE_UNAVAILABLE", "the answer was lost")
        return _ok(shipment)

    @app.post("/v2/shipments/<sid>/refund")
    def refund(sid: str) -> Response:
        with fake.lock:
            shipment = fake.shipments.get(sid)
            if shipment is None or not shipment["postage_label"]:
                return _error(422, "SHIPMENT.REFUND.INVALID", "nothing to refund")
            if shipment["refund_status"]:  # asked for already: refused, not asked twice
                return _error(422, "SHIPMENT.REFUND.INVALID", "a refund was already requested")
            shipment["refund_status"] = "submitted"
            lost, fake.lose_next_refund = fake.lose_next_refund, False
        if lost:
            return _error(503, "SERVICE_UNAVAILABLE", "the answer was lost")
        return _ok(shipment)

    return app


def sign(body: bytes, secret: str) -> str:
    """EasyPost's webhook signature: HMAC-SHA256 of the raw body, hex, with its prefix, keyed by
    the secret in Unicode NFKD (as EasyPost and its SDK's validator key it)."""
    key = unicodedata.normalize("NFKD", secret).encode("utf-8")
    return "hmac-sha256-hex=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def tracker_event(event_id: str, tracking_code: str, status: str,
                  created_at: str = "2026-11-10T12:00:00Z",
                  shipment_id: str | None = None) -> dict[str, Any]:
    """EasyPost's ``tracker.updated``; a tracker of a bought label names its ``shipment_id``."""
    result = {"id": f"trk_{tracking_code}", "object": "Tracker", "tracking_code": tracking_code,
              "status": status} | ({"shipment_id": shipment_id} if shipment_id else {})
    return {"id": event_id, "object": "Event", "description": "tracker.updated",
            "created_at": created_at, "mode": "test", "result": result}


@dataclass
class FakeEasyPostServer:
    fake: FakeEasyPost = field(default_factory=FakeEasyPost)
    host: str = "127.0.0.1"
    _loop: Loopback | None = None

    @property
    def url(self) -> str:
        """The ``api_base`` the client is given (EasyPost's own is ``…/v2``)."""
        assert self._loop is not None, "start() the server first"
        return f"{self._loop.url}/v2"

    def start(self) -> FakeEasyPostServer:
        self._loop = Loopback(create_app(self.fake), self.host, name="fake-easypost").start()
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.stop()
