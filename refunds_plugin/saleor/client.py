"""GraphQL over HTTP to one Saleor API URL, with errors classified at the boundary.

Network failures, timeouts, 429 and 5xx may succeed later (``RetryableProviderError``); a
refusal in the answer is final unless its code says otherwise. Saleor's ``Float`` money is
parsed as ``Decimal`` so an amount is never rounded through a binary float.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import requests

from refunds_plugin.errors import FinalProviderError, RetryableProviderError

USER_AGENT = "refunds-plugin (Saleor app)"


class MutationError(FinalProviderError):
    """A mutation answered with ``errors``; ``codes`` lists their Saleor error codes."""

    def __init__(self, message: str, *, codes: tuple[str, ...]) -> None:
        super().__init__(message, code=codes[0].lower() if codes else "saleor_error")
        self.codes = codes


def _is_permission(errors: list[dict[str, Any]]) -> bool:
    for err in errors:
        code = ((err.get("extensions") or {}).get("exception") or {}).get("code", "")
        if code == "PermissionDenied" or "permission" in str(err.get("message", "")).lower():
            return True
    return False


class SaleorClient:
    def __init__(
        self,
        api_url: str,
        token: str,
        *,
        session: requests.Session | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.api_url = api_url
        self._token = token
        self.session = session or requests.Session()
        self.timeout = timeout

    def __repr__(self) -> str:  # never show the token
        return f"SaleorClient({self.api_url!r})"

    def execute(self, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send one document; returns ``data`` or raises a classified ``ProviderError``."""
        try:
            resp = self.session.post(
                self.api_url,
                json={"query": document, "variables": variables or {}},
                headers={"Authorization": f"Bearer {self._token}", "User-Agent": USER_AGENT},
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise RetryableProviderError(
                f"could not reach Saleor at {self.api_url}: {type(exc).__name__}",
                code="network_error",
            ) from exc
        if resp.status_code == 429 or resp.status_code >= 500:
            raise RetryableProviderError(
                f"Saleor answered HTTP {resp.status_code}", code=f"http_{resp.status_code}"
            )
        try:
            body = json.loads(resp.text, parse_float=Decimal)
        except ValueError as exc:
            raise RetryableProviderError(
                f"Saleor answered HTTP {resp.status_code} without JSON", code="bad_response"
            ) from exc
        errors = body.get("errors") if isinstance(body, dict) else None
        if resp.status_code in (401, 403) or (errors and _is_permission(errors)):
            # the merchant can grant the permission or reinstall; the same call may work later
            raise RetryableProviderError(
                "Saleor refused the app's token or permissions: "
                + "; ".join(str(e.get("message", "")) for e in errors or [])[:300],
                code="permission_denied",
            )
        if errors:
            raise FinalProviderError(
                "Saleor refused the request: "
                + "; ".join(str(e.get("message", "")) for e in errors)[:500],
                code="graphql_error",
            )
        if resp.status_code >= 400 or not isinstance(body.get("data"), dict):
            raise FinalProviderError(f"Saleor answered HTTP {resp.status_code}", code="http_error")
        return dict(body["data"])

    def mutate(self, document: str, variables: dict[str, Any], field: str) -> dict[str, Any]:
        """Run a mutation and raise ``MutationError`` when its payload lists errors."""
        payload = self.execute(document, variables).get(field)
        if not isinstance(payload, dict):
            raise FinalProviderError(f"Saleor returned no {field} payload", code="bad_response")
        errors = payload.get("errors") or []
        if errors:
            # a line's own error says why (INVALID alone only says "lines is invalid")
            lines = [ln for e in errors for ln in e.get("lines") or []]
            codes = tuple(str(e.get("code") or "") for e in [*errors, *lines])
            text = "; ".join(f"{e.get('code')}: {e.get('message')}" + "".join(
                f" (line {ln.get('lineId')} {ln.get('field')} {ln.get('code')}: "
                f"{ln.get('message')})" for ln in e.get("lines") or []) for e in errors)
            raise MutationError(f"{field} refused: {text}"[:1000], codes=codes)
        return payload
