"""Money back straight from a Saleor transaction (``transactionRequestAction`` REFUND), for
corrections where nothing comes back; and the order look-up the Saleor provider's steps share.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from refunds_plugin.domain.kinds import AttemptStatus
from refunds_plugin.errors import FinalProviderError
from refunds_plugin.providers import Instruction, ProviderResult
from refunds_plugin.saleor import graphql
from refunds_plugin.saleor.client import SaleorClient
from refunds_plugin.saleor.order import decimal_amount, minor


def fetch_order(client: SaleorClient, order_id: str) -> dict[str, Any]:
    order = client.execute(graphql.ORDER, {"id": order_id}).get("order")
    if not isinstance(order, dict):
        raise FinalProviderError(f"Saleor has no order {order_id}", code="order_not_found")
    return order


def refund_transaction(client: SaleorClient, ins: Instruction, progress: dict[str, Any],
                       save: Callable[..., None]) -> ProviderResult:
    """Ask Saleor to refund ``ins.amount`` from the transaction ``ins.payment_reference``.

    Saleor's mutation has no idempotency key, so the REFUND_REQUEST events on the
    transaction are noted before asking; a retry after a lost answer looks for a new one of
    this amount and does not ask twice.
    """
    tx_id = ins.payment_reference
    if not tx_id:
        raise FinalProviderError("no Saleor transaction to refund", code="no_transaction")
    request_id = progress.get("refund_request")
    if not request_id and progress.get("action") == "requested":
        tx, granted = _transaction(client, ins, tx_id)
        request_id = _new_request(tx, [*(progress.get("requests_before") or []), *granted], ins)
        if request_id:
            save(refund_request=request_id)
    if not request_id:
        tx, granted = _transaction(client, ins, tx_id)
        if "REFUND" not in (tx.get("actions") or []):
            raise FinalProviderError(
                f"Saleor does not offer REFUND on transaction {tx_id}", code="not_refundable"
            )
        before = sorted(
            str(e["id"]) for e in tx.get("events") or [] if e.get("type") == "REFUND_REQUEST"
        )
        save(action="requested", requests_before=before)
        payload = client.mutate(
            graphql.TRANSACTION_REFUND,
            {"id": tx_id, "amount": decimal_amount(ins.amount, ins.currency)},
            "transactionRequestAction",
        )
        request_id = _new_request(payload.get("transaction") or {}, [*before, *granted], ins)
        if not request_id:
            raise FinalProviderError(
                "Saleor recorded no refund request on the transaction", code="bad_response"
            )
        save(refund_request=request_id)
    return ProviderResult(
        status=AttemptStatus.SENT,
        reference=request_id,
        sent_amount=ins.amount,
        detail={"transaction": tx_id, "refund_request": request_id},
    )


def _transaction(
    client: SaleorClient, ins: Instruction, tx_id: str
) -> tuple[dict[str, Any], list[str]]:
    """The transaction, and the ids of the events that belong to granted refunds (their
    REFUND_REQUESTs are ``transactionRequestRefundForGrantedRefund``'s, never ours)."""
    order = fetch_order(client, ins.order_id)
    granted = [
        str(ev["id"])
        for grant in order.get("grantedRefunds") or []
        for ev in grant.get("transactionEvents") or []
    ]
    for tx in order.get("transactions") or []:
        if tx.get("id") == tx_id:
            return dict(tx), granted
    raise FinalProviderError(
        f"order {ins.order_id} has no transaction {tx_id}", code="no_transaction"
    )


def _new_request(tx: dict[str, Any], before: list[str], ins: Instruction) -> str | None:
    """The REFUND_REQUEST event for ``ins`` on ``tx`` that is not among ``before`` (those
    there before it asked, and granted refunds')."""
    for ev in tx.get("events") or []:
        if (
            ev.get("type") == "REFUND_REQUEST"
            and str(ev.get("id")) not in before
            and minor(ev.get("amount"), ins.currency) == ins.amount
        ):
            return str(ev["id"])
    return None
