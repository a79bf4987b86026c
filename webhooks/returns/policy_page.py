"""``/returns/policy``: the shop's return policy, published for anyone (no look-up, no login),
in the reader's language; and ``/returns/policy.json``, the same policy as schema.org's
``MerchantReturnPolicy`` in JSON-LD (also in the page's ``<head>``), for search engines such as
Google's free listings. Both are read from the running policy by ``policies.published``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import Response, request

from policies.published import customer_sentences, merchant_return_policy
from refunds_plugin.bootstrap import Runtime
from refunds_plugin.language.said import render
from refunds_plugin.routing import no_money_moves

Page = Callable[..., tuple[str, int]]


def views(page: Page, rt: Callable[[], Runtime], lang: Callable[[], str],
          ) -> tuple[Callable[[], Any], Callable[[], Any]]:
    def _jsonld() -> dict[str, Any]:
        cfg = rt().config
        base = (cfg.saleor_app_url or request.url_root).rstrip("/")
        return merchant_return_policy(rt().policy, link=f"{base}/returns/policy",
                                      can_label=cfg.can_label)

    def policy_page() -> tuple[str, int]:
        cfg = rt().config
        # as the service will act: no return address, no deadline kept and no money waiting
        # for a parcel; in a dry run (the page says test mode) no promise of when money goes
        sentences = customer_sentences(rt().policy, can_label=cfg.can_label,
                                       returns_open=bool(cfg.return_addresses),
                                       promise=not no_money_moves(cfg))
        return page("policy.html", sentences=[render(s, lang()) for s in sentences],
                    jsonld=_jsonld())

    def policy_json() -> Response:
        return Response(json.dumps(_jsonld(), indent=2), mimetype="application/ld+json")

    return policy_page, policy_json
