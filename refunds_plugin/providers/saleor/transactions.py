"""Money back straight from a Saleor transaction (``transactionRequestAction`` REFUND), for
corrections where nothing comes back; and the order look-up the Saleor provider's steps share.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from refunds_plugin.domain.kinds import AttemptStatus
from refunds_plugin.errors import FinalProviderError
from refunds_plugin.money import Money
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
    found: tuple[str, int] | None = None
    if progress.get("refund_request"):
        found = (str(progress["refund_request"]),
                 int(progress.get("refund_request_amount") or ins.amount))
    elif progress.get("action") == "requested":
        tx, granted = _transaction(client, ins, tx_id)
        found = _new_request(tx, [*(progress.get("requests_before") or []), *granted], ins)
        if found:
            save(refund_request=found[0], refund_request_amount=found[1])
    if not found:
        tx, granted = _transaction(client, ins, tx_id)
        if "REFUND" not in (tx.get("actions") or []):
            raise FinalProviderError(
                f"Saleor does not offer REFUND on transaction {tx_id}", code="not_refundable"
            )
        # Saleor would make the request smaller, not refuse it: it clamps the amount to what
        # is still charged, net of refunds pending on the transaction (staff's, say)
        charged = minor(tx.get("chargedAmount"), ins.currency)
        if charged < ins.amount:
            raise FinalProviderError(
                f"transaction {tx_id} has only {Money(charged, ins.currency)} still charged "
                f"(refunds pending on it hold the rest), less than the "
                f"{Money(ins.amount, ins.currency)} to refund: nothing was asked",
                code="not_enough_charged")
        before = sorted(
            str(e["id"]) for e in tx.get("events") or [] if e.get("type") == "REFUND_REQUEST"
        )
        save(action="requested", requests_before=before)
        payload = client.mutate(
            graphql.TRANSACTION_REFUND,
            {"id": tx_id, "amount": decimal_amount(ins.amount, ins.currency)},
            "transactionRequestAction",
        )
        found = _new_request(payload.get("transaction") or {}, [*before, *granted], ins)
        if not found:
            raise FinalProviderError(
                "Saleor recorded no refund request on the transaction", code="bad_response"
            )
        save(refund_request=found[0], refund_request_amount=found[1])
    request_id, asked = found
    return ProviderResult(
        status=AttemptStatus.SENT,
        reference=request_id,
        sent_amount=asked,  # less than the attempt's where Saleor clamped it (below)
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


def _new_request(tx: dict[str, Any], before: list[str], ins: Instruction
                 ) -> tuple[str, int] | None:
    """The REFUND_REQUEST event for ``ins`` on ``tx`` that is not among ``before`` (those
    there before it asked, and granted refunds'), and its amount: of ``ins.amount``; or, the
    one new request there is, smaller, where Saleor clamped ours to what was still charged
    (a refund requested on the transaction between our look and our request): it is on its
    way, so it is recorded sent for what it asks, never failed."""
    new = [(str(ev["id"]), minor(ev.get("amount"), ins.currency))
           for ev in tx.get("events") or []
           if ev.get("type") == "REFUND_REQUEST" and str(ev.get("id")) not in before]
    exact = next((n for n in new if n[1] == ins.amount), None)
    if exact is not None:
        return exact
    smaller = [n for n in new if 0 < n[1] < ins.amount]
    return smaller[0] if len(smaller) == 1 else None
