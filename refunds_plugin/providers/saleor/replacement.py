"""An exchange's replacement order on Saleor, step by step, each step's result saved first.

1. ``record``: the exchanged lines returned with ``replace: true``; Saleor makes a replacement
   draft order of the returned variants. A retry after a lost answer finds that draft by the
   original order's ``ORDER_REPLACEMENT_CREATED`` event rather than returning the lines again:
   never a second replacement order.
2. ``complete`` (when ship_on is reached): the draft's lines changed to the chosen variants
   (added, then the returned variants' lines deleted, each only if still needed) and
   ``draftOrderComplete``; a draft that is no longer a draft was completed by an earlier try.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from refunds_plugin.domain.decision import Exchange
from refunds_plugin.errors import FinalProviderError
from refunds_plugin.providers.saleor.provider import SaleorProvider, return_lines
from refunds_plugin.providers.saleor.transactions import fetch_order
from refunds_plugin.saleor import graphql
from refunds_plugin.saleor.client import SaleorClient

Save = Callable[[dict[str, Any]], None]  # the progress so far, saved before the next step


class SaleorReplacement:
    def __init__(self, provider: SaleorProvider) -> None:
        self.provider = provider  # its install tokens and HTTP session

    def record(self, api_url: str, order_id: str, exchange: Exchange,
               progress: dict[str, Any], save: Save) -> str:
        """The return with ``replace: true``; the replacement draft's id (made once)."""
        if progress.get("replacement"):
            return str(progress["replacement"])
        client = self.provider.client_for(api_url)
        if progress.get("return") == "requested":
            found = self._replacement_of(client, order_id, progress.get("events_before", []))
            if found is not None:  # the first try's answer was lost, Saleor did make it
                save({**progress, "replacement": found})
                return found
        before = self._replacement_events(client, order_id)
        order = fetch_order(client, order_id)
        wanted: dict[str, int] = {}
        for ln in exchange.lines:
            wanted[ln.line_id] = wanted.get(ln.line_id, 0) + ln.quantity
        fulfillment_lines, order_lines = return_lines(order, wanted, replace=True)
        save({**progress, "return": "requested", "events_before": before})
        payload = client.mutate(graphql.RETURN_PRODUCTS, {
            "order": order_id,
            "input": {"fulfillmentLines": fulfillment_lines, "orderLines": order_lines,
                      "refund": False},
        }, "orderFulfillmentReturnProducts")
        draft = (payload.get("replaceOrder") or {}).get("id")
        if not draft:
            raise FinalProviderError("Saleor made no replacement order", code="no_replacement")
        save({**progress, "return": "done", "replacement": draft})
        return str(draft)

    def complete(self, api_url: str, exchange: Exchange, progress: dict[str, Any],
                 save: Save) -> str:
        """The draft's lines as the chosen variants, then completed; the order's status."""
        draft_id = str(progress["replacement"])
        client = self.provider.client_for(api_url)
        draft = self._draft(client, draft_id)
        if draft["status"] != "DRAFT":
            save({**progress, "completed": draft["status"]})
            return str(draft["status"])
        wanted: dict[str, int] = {}
        for ln in exchange.lines:
            if not ln.variant_id:
                raise FinalProviderError(f"{ln.name} has no Saleor variant id to ship",
                                         code="no_variant")
            wanted[ln.variant_id] = wanted.get(ln.variant_id, 0) + ln.quantity
        have: dict[str | None, int] = {}
        for line in draft["lines"]:
            vid = (line.get("variant") or {}).get("id")
            have[vid] = have.get(vid, 0) + int(line["quantity"])
        add = [{"variantId": vid, "quantity": q - have.get(vid, 0)}
               for vid, q in sorted(wanted.items()) if q > have.get(vid, 0)]
        if add:
            client.mutate(graphql.DRAFT_LINES_CREATE, {"id": draft_id, "input": add},
                          "orderLinesCreate")
            draft = self._draft(client, draft_id)
        for line in draft["lines"]:
            if (line.get("variant") or {}).get("id") not in wanted:
                client.mutate(graphql.DRAFT_LINE_DELETE, {"id": line["id"]}, "orderLineDelete")
        save({**progress, "lines": "changed"})
        payload = client.mutate(graphql.DRAFT_COMPLETE, {"id": draft_id}, "draftOrderComplete")
        status = str((payload.get("order") or {}).get("status") or "UNFULFILLED")
        save({**progress, "lines": "changed", "completed": status})
        return status

    @staticmethod
    def _draft(client: SaleorClient, draft_id: str) -> dict[str, Any]:
        draft = client.execute(graphql.DRAFT, {"id": draft_id}).get("order")
        if not isinstance(draft, dict):
            raise FinalProviderError(f"Saleor has no replacement order {draft_id}",
                                     code="order_not_found")
        return draft

    @staticmethod
    def _replacement_events(client: SaleorClient, order_id: str) -> list[str]:
        order = client.execute(graphql.REPLACEMENT_OF, {"id": order_id}).get("order") or {}
        return [str(e["id"]) for e in order.get("events") or []
                if e.get("type") == "ORDER_REPLACEMENT_CREATED"]

    @staticmethod
    def _replacement_of(client: SaleorClient, order_id: str, before: list[str]) -> str | None:
        order = client.execute(graphql.REPLACEMENT_OF, {"id": order_id}).get("order") or {}
        for event in order.get("events") or []:
            related = (event.get("relatedOrder") or {}).get("id")
            if event.get("type") == "ORDER_REPLACEMENT_CREATED" and related \
                    and str(event["id"]) not in before:
                return str(related)
        return None
