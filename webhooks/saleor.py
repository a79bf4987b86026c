"""The Saleor app's HTTP side: manifest, token exchange, and verified order webhooks.

``GET /saleor/manifest`` → the manifest; ``POST /saleor/register`` ← Saleor's token for its API
URL (only URLs the merchant allowed; the token is checked with ``{ app { id } }`` and the shop's
JWKS fetched before anything is stored); ``POST /webhooks/saleor`` ← order events, verified on
the raw body before anything is parsed or recorded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import requests
from flask import Blueprint, Flask, Response, current_app, jsonify, request

from refunds_plugin.bootstrap import Runtime
from refunds_plugin.errors import (
    PayloadError,
    ProviderError,
    RetryableProviderError,
    SignatureError,
)
from refunds_plugin.saleor import graphql, installs, jws
from refunds_plugin.saleor.client import SaleorClient
from refunds_plugin.saleor.egress import EgressRefused, GuardedSession
from refunds_plugin.saleor.events import HANDLED
from refunds_plugin.saleor.installs import jwks_url, normalize_api_url
from refunds_plugin.saleor.manifest import manifest
from webhooks.errors import error_response
from webhooks.schemas import parse_json

bp = Blueprint("saleor", __name__)
log = logging.getLogger("refunds.saleor")
TIMEOUT_S = 10.0


@dataclass
class SaleorWeb:
    runtime: Runtime
    session: GuardedSession
    keys: jws.JwksStore = field(init=False)

    def __post_init__(self) -> None:
        self.keys = jws.JwksStore(fetch=self.fetch_jwks, load=self.load_jwks, save=self.save_jwks,
                                  clock=lambda: self.runtime.service.clock().timestamp())

    def allowed(self, api_url: str) -> bool:
        allowed = {normalize_api_url(u) for u in self.runtime.config.saleor_allowed_api_urls}
        return api_url in allowed

    def fetch_jwks(self, api_url: str) -> dict[str, Any]:
        url = jwks_url(api_url)
        try:
            resp = self.session.get(url, timeout=TIMEOUT_S, allow_redirects=False)
        except requests.RequestException as exc:
            raise RetryableProviderError(
                f"could not fetch {url}: {type(exc).__name__}", code="jwks_unreachable"
            ) from exc
        if resp.status_code != 200:
            raise RetryableProviderError(
                f"{url} answered HTTP {resp.status_code}", code="jwks_unavailable"
            )
        try:
            data = resp.json()
        except ValueError as exc:
            raise RetryableProviderError(f"{url} is not JSON", code="jwks_invalid") from exc
        if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
            raise RetryableProviderError(f"{url} holds no key set", code="jwks_invalid")
        return data

    def load_jwks(self, api_url: str) -> dict[str, Any] | None:
        return installs.stored_jwks(self.runtime.engine, api_url)

    def save_jwks(self, api_url: str, keys: dict[str, Any]) -> None:
        installs.keep_jwks(self.runtime.engine, api_url, keys, self.runtime.service.clock())


def _web() -> SaleorWeb:
    return current_app.extensions["saleor"]


def _api_url() -> str:
    raw = request.headers.get("Saleor-Api-Url", "").strip()
    if not raw:
        raise PayloadError("Saleor-Api-Url header is missing", code="missing_api_url")
    return normalize_api_url(raw)


@bp.get("/saleor/manifest")
def get_manifest() -> Response:
    config = _web().runtime.config
    app_url = config.saleor_app_url or request.url_root
    # Saleor names its version when it fetches the manifest; the order widget needs 3.22+
    return jsonify(manifest(app_url, request.headers.get("Saleor-Schema-Version"),
                            restock=bool(config.saleor_restock_warehouse)))


@bp.post("/saleor/register")
def register() -> Response | tuple[Response, int]:
    web = _web()
    api_url = _api_url()
    if not web.allowed(api_url):
        return error_response(
            403, "api_url_not_allowed",
            f"{api_url} is not in REFUNDS_SALEOR_ALLOWED_API_URLS; ask the merchant to add it",
        )
    try:  # not a private address, unless the merchant allowed those
        web.session.egress.check(api_url)
    except EgressRefused as exc:
        return error_response(403, "api_url_not_allowed", exc.message)
    except requests.ConnectionError as exc:  # its host does not resolve: nothing was sent
        return _unreachable(api_url, str(exc))
    token = parse_json(request.get_data(cache=True)).get("auth_token")
    if not isinstance(token, str) or not token:
        raise PayloadError("auth_token is missing", code="missing_token")
    try:
        data = SaleorClient(api_url, token, session=web.session, timeout=TIMEOUT_S).execute(
            graphql.APP_ID
        )
    except ProviderError as exc:
        if exc.code == "network_error":  # refused, timed out: Saleor never saw the token
            return _unreachable(api_url, type(exc.__cause__ or exc).__name__)
        return error_response(400, "token_not_accepted", f"Saleor did not accept the token: "
                              f"{exc.message}")
    app_id = (data.get("app") or {}).get("id")
    if not app_id:
        return error_response(400, "token_not_accepted", "the token does not belong to an app")
    keys = web.fetch_jwks(api_url)
    installs.install(web.runtime.engine, api_url=api_url, app_id=str(app_id), token=token,
                     jwks=keys, now=web.runtime.service.clock())
    web.keys.forget(api_url)
    log.info("Saleor app installed for %s (app %s)", api_url, app_id)
    return jsonify({"success": True}), 200


def _unreachable(api_url: str, why: str) -> Response:
    """The install's answer when the store's API cannot be reached (a 400 the Dashboard shows:
    the ``Saleor-Api-Url`` or this service's network is wrong, not the token)."""
    return error_response(400, "saleor_unreachable",
                          f"could not reach Saleor at {api_url} ({why}); check that this "
                          "service can reach the store's API URL, then install again")


@bp.post("/webhooks/saleor")
def receive() -> Response | tuple[Response, int]:
    web = _web()
    body = request.get_data(cache=True)
    api_url = _api_url()
    install = installs.find(web.runtime.engine, api_url)
    if install is None or not web.allowed(api_url):
        raise SignatureError(f"{api_url} is not an installed Saleor", code="unknown_api_url")
    event = request.headers.get("Saleor-Event", "").strip().lower()
    if not event:
        raise PayloadError("Saleor-Event header is missing", code="missing_event")
    jws.verify(
        request.headers.get("Saleor-Signature"),
        body,
        api_url,
        web.keys,
        hmac_secret=web.runtime.config.saleor_hmac_secret,
    )
    if event not in HANDLED:
        log.info("saleor event %s is not handled; ignored", event)
        return jsonify({"received": True, "ignored": event}), 200
    payload = parse_json(body)
    ack = web.runtime.service.saleor_event(
        api_url, event, body.decode("utf-8"), payload, install.app_id
    )
    return jsonify({"received": True, "duplicate": ack.duplicate, **ack.detail}), 200


def init_app(app: Flask) -> None:
    runtime: Runtime = app.extensions["refunds"]
    # the order re-queries' session (bootstrap builds them): one connection pool per shop
    app.extensions["saleor"] = SaleorWeb(runtime, runtime.saleor_events.session)
    app.register_blueprint(bp)
