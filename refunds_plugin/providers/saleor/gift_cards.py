"""Store credit on Saleor as a gift card, created once per attempt.

The attempt id goes into the card's tag, and a marker is saved before the creating mutation, so
a retry after a lost answer finds the card the first try made instead of creating a second one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from refunds_plugin.domain.kinds import AttemptStatus
from refunds_plugin.errors import FinalProviderError
from refunds_plugin.providers import Instruction, ProviderResult
from refunds_plugin.saleor import graphql
from refunds_plugin.saleor.client import SaleorClient
from refunds_plugin.saleor.order import decimal_amount

META_PREFIX = "refunds_plugin."


def credit_gift_card(client: SaleorClient, ins: Instruction, saleor: dict[str, Any],
                     progress: dict[str, Any], save: Callable[..., None]) -> ProviderResult:
    """``ins.amount`` plus ``ins.bonus`` as a gift card, sent to the customer when Saleor can."""
    total = ins.amount + ins.bonus
    tag = f"refunds-attempt-{ins.attempt_id}"
    card = progress.get("gift_card")
    if not card and progress.get("gift") == "requested":
        edges = client.execute(graphql.GIFT_CARDS_BY_TAG, {"tag": tag})["giftCards"]["edges"]
        if edges:
            node = edges[0]["node"]
            card = {"id": node["id"], "code": node.get("code") or node["last4CodeChars"]}
            save(gift_card=card)
    if not card:
        save(gift="requested")
        balance = {"currency": ins.currency, "amount": decimal_amount(total, ins.currency)}
        data: dict[str, Any] = {
            "balance": balance,
            "isActive": True,
            "addTags": [tag],
            "note": (
                f"Store credit from refunds-plugin decision {ins.decision_id} "
                f"for order {saleor.get('order_number') or ins.order_id}"
            ),
            "metadata": [
                {"key": META_PREFIX + "decision_id", "value": ins.decision_id},
                {"key": META_PREFIX + "attempt_id", "value": ins.attempt_id},
                {"key": META_PREFIX + "order_id", "value": ins.order_id},
            ],
        }
        if ins.customer_email and saleor.get("channel"):
            data["userEmail"] = ins.customer_email  # Saleor requires a channel with it
            data["channel"] = saleor["channel"]
        payload = client.mutate(graphql.GIFT_CARD_CREATE, {"input": data}, "giftCardCreate")
        node = payload.get("giftCard") or {}
        if not node.get("id"):
            raise FinalProviderError("Saleor created no gift card", code="bad_response")
        card = {"id": node["id"], "code": node.get("code") or node.get("last4CodeChars")}
        save(gift_card=card)
    return ProviderResult(
        status=AttemptStatus.SUCCEEDED,
        reference=card["id"],
        sent_amount=total,
        credit_code=card.get("code"),
        detail={"gift_card": card["id"]},
    )
