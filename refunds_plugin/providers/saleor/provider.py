"""Saleor: record the return, then refund through a granted refund, or credit as a gift card.

Each step's result is saved (``save_progress``) before the next step starts, and a marker is
saved before each creating mutation, so a retry after a crash or a lost answer finds what the
first try created (by the attempt id written into the granted refund's reason or the gift card's
tag) instead of creating a second one. ``REFUND_ALREADY_PROCESSED`` means the refund is done.
The gift-card step is in ``saleor.gift_cards``; a correction's refund straight from the
transaction is in ``saleor.transactions``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests
from sqlalchemy import Engine

from refunds_plugin.domain.decision import Decision
from refunds_plugin.domain.kinds import AttemptStatus, DecisionKind
from refunds_plugin.errors import FinalProviderError
from refunds_plugin.providers import Instruction, ProviderResult, SaveProgress
from refunds_plugin.providers.saleor.gift_cards import credit_gift_card
from refunds_plugin.providers.saleor.transactions import fetch_order, refund_transaction
from refunds_plugin.saleor import graphql
from refunds_plugin.saleor.client import MutationError, SaleorClient
from refunds_plugin.saleor.graphql import ATTEMPT_MARK, attempt_in_reason
from refunds_plugin.saleor.installs import get_install
from refunds_plugin.saleor.order import RETURNABLE, RETURNED, decimal_amount, minor


class SaleorProvider:
    name = "saleor"

    def __init__(
        self,
        engine: Engine,
        *,
        session: requests.Session | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.engine = engine  # the service's own: the install tokens are read through it
        self.session = session or requests.Session()
        self.timeout = timeout

    def client_for(self, api_url: str) -> SaleorClient:
        """A client with the install's token (the exchange's replacement steps use it too)."""
        return self._client(api_url)

    def _client(self, api_url: str) -> SaleorClient:
        with self.engine.connect() as conn:
            install = get_install(conn, api_url)
        if install is None:
            raise FinalProviderError(
                f"the Saleor app is not installed for {api_url}", code="not_installed"
            )
        return SaleorClient(api_url, install.token, session=self.session, timeout=self.timeout)

    # --- the steps ----------------------------------------------------------------------------
    def execute(self, instruction: Instruction, save_progress: SaveProgress) -> ProviderResult:
        ins = instruction
        saleor = ins.extra.get("saleor") or {}
        api_url = saleor.get("api_url")
        if not api_url:
            raise FinalProviderError(
                f"order {ins.order_id} has no Saleor API URL on record", code="not_saleor"
            )
        client = self._client(api_url)
        progress = dict(ins.progress)

        def save(**values: Any) -> None:
            progress.update(values)
            save_progress(dict(progress))

        # read by the executor with the attempt (``execution.instructions``): the decision,
        # whether this attempt is the decision's first on Saleor, the one that records the
        # return, and the replacement order of the exchange a fallback decision replaces
        decision = Decision.from_dict(ins.extra["decision"])
        records_return = bool(ins.extra["records_return"])
        correction = decision.kind in (DecisionKind.OVERPAYMENT, DecisionKind.DUPLICATE_CHARGE)
        if correction and ins.kind == "refund":  # nothing comes back, no lines to grant for
            return refund_transaction(client, ins, progress, save)
        if records_return and not correction:
            replaced = ins.extra.get("returned_by_exchange")
            if not replaced:
                record_return(client, ins.order_id, decision.units_back(), progress, save)
            elif progress.get("return") != "exchange":
                # a fallback's lines are its exchange's, returned with ``replace: true`` when
                # the replacement was made: sent again, Saleor refuses them (INVALID_QUANTITY)
                save(**{"return": "exchange", "replacement": replaced})
        if ins.kind == "refund":
            return self._refund(client, ins, decision, progress, save)
        return credit_gift_card(client, ins, saleor, progress, save)

    @staticmethod
    def _failed_grant(client: SaleorClient, ins: Instruction) -> str | None:
        """The decision's earlier granted refund that failed, or whose request Saleor refused
        (still NONE: the payment app was off, say), of this amount on this transaction: a
        retry requests it again (``transactionRequestRefundForGrantedRefund`` accepts either)
        rather than granting the same lines twice, which Saleor refuses
        (QUANTITY_GREATER_THAN_AVAILABLE counts every grant's lines)."""
        order = fetch_order(client, ins.order_id)
        mark = f": decision {ins.decision_id}"
        for grant in order["grantedRefunds"]:
            if (grant.get("status") in ("FAILURE", "NONE")
                    and attempt_in_reason(grant.get("reason") or "")
                    and (grant.get("reason") or "").endswith(mark)
                    and (grant.get("transaction") or {}).get("id") == ins.payment_reference
                    and minor(grant.get("amount"), ins.currency) == ins.amount):
                return str(grant["id"])
        return None

    def _refund(self, client: SaleorClient, ins: Instruction, decision: Decision,
                progress: dict[str, Any], save: Any) -> ProviderResult:
        if not ins.payment_reference:
            raise FinalProviderError("no Saleor transaction to refund to", code="no_transaction")
        grant_id = progress.get("granted_refund")
        if not grant_id and not ins.extra["records_return"]:
            grant_id = self._failed_grant(client, ins)
            if grant_id:  # a retry: Saleor counts the failed grant's lines as granted
                save(granted_refund=grant_id, reused_grant=True)
        if not grant_id and progress.get("grant") == "requested":
            order = fetch_order(client, ins.order_id)
            grant_id = next(
                (g["id"] for g in order["grantedRefunds"]
                 if attempt_in_reason(g.get("reason") or "") == ins.attempt_id),
                None,
            )
            if grant_id:
                save(granted_refund=grant_id)
        if not grant_id:
            save(grant="requested")
            swapped = {x.line_id: x.quantity for x in decision.exchange.lines} \
                if decision.exchange else {}
            lines = [
                {"id": ln.line_id, "quantity": ln.quantity - swapped.get(ln.line_id, 0)}
                for ln in decision.lines
                if ln.quantity - swapped.get(ln.line_id, 0) > 0
            ]
            payload = client.mutate(
                graphql.GRANT_REFUND,
                {
                    "id": ins.order_id,
                    "input": {
                        "amount": decimal_amount(ins.amount, ins.currency),
                        "reason": f"{ATTEMPT_MARK}{ins.attempt_id}: decision {ins.decision_id}",
                        "lines": lines,
                        "transactionId": ins.payment_reference,
                    },
                },
                "orderGrantRefundCreate",
            )
            grant_id = (payload.get("grantedRefund") or {}).get("id")
            if not grant_id:
                raise FinalProviderError("Saleor granted no refund", code="bad_response")
            save(granted_refund=grant_id)
        status = AttemptStatus.SENT
        try:
            payload = client.mutate(
                graphql.REQUEST_GRANTED_REFUND,
                {"grantedRefundId": grant_id, "transactionId": ins.payment_reference},
                "transactionRequestRefundForGrantedRefund",
            )
        except MutationError as exc:
            if "REFUND_ALREADY_PROCESSED" in exc.codes:
                status = AttemptStatus.SUCCEEDED
            elif "REFUND_IS_PENDING" not in exc.codes:
                raise
        else:  # the payment app may have answered already; usually it is still PENDING
            order = (payload.get("transaction") or {}).get("order") or {}
            now = next((g.get("status") for g in order.get("grantedRefunds") or []
                        if g.get("id") == grant_id), None)
            if now == "FAILURE":
                save(refund_requested=True)
                raise FinalProviderError(
                    "Saleor reports the granted refund FAILURE in its answer",
                    code="refund_failure",
                )
            if now == "SUCCESS":
                status = AttemptStatus.SUCCEEDED
        save(refund_requested=True)
        return ProviderResult(
            status=status,
            reference=grant_id,
            sent_amount=ins.amount,
            detail={"granted_refund": grant_id},
        )


def record_return(client: SaleorClient, order_id: str, wanted: dict[str, int],
                  progress: dict[str, Any], save: Callable[..., None]) -> None:
    """Saleor records the return of ``wanted`` units per order line, once
    (``orderFulfillmentReturnProducts`` with ``refund: false``: no money moves). The RETURNED
    fulfillments already there are saved before the call; a retry after a lost answer takes
    the new one Saleor made instead of returning the lines again. A paid order's first attempt
    calls it, and ``execution/saleor_returns.py`` for a return without one (a free order's)."""
    if progress.get("return_fulfillment") or progress.get("return") == "none":
        return
    if not wanted:
        save(**{"return": "none"})
        return
    order = fetch_order(client, order_id)
    returned = sorted(f["id"] for f in order["fulfillments"] if f["status"] in RETURNED)
    if progress.get("return") == "requested":
        new = [fid for fid in returned if fid not in progress.get("returned_before", [])]
        if new:  # the first try's answer was lost, but Saleor did record the return
            save(return_fulfillment=new[0])
            return
    fulfillment_lines, order_lines = return_lines(order, wanted)
    save(**{"return": "requested", "returned_before": returned})
    payload = client.mutate(
        graphql.RETURN_PRODUCTS,
        {"order": order_id, "input": {"fulfillmentLines": fulfillment_lines,
                                      "orderLines": order_lines, "refund": False}},
        "orderFulfillmentReturnProducts",
    )
    save(return_fulfillment=(payload.get("returnFulfillment") or {}).get("id") or "none")


def return_lines(order: dict[str, Any], wanted: dict[str, int],
                 replace: bool = False) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``orderFulfillmentReturnProducts`` input for ``wanted`` units per order line: from the
    shipped fulfillments first, the rest from the order line itself (not shipped yet). A
    fulfillment line holding no units is passed over (Saleor deletes one a return empties):
    no line of 0 units is ever sent."""
    fulfillment_lines, order_lines = [], []
    mark = {"replace": True} if replace else {}
    for line_id, qty in sorted(wanted.items()):
        for ful in order["fulfillments"]:
            if ful["status"] not in RETURNABLE or qty <= 0:
                continue
            for fl in ful["lines"]:
                take = min(qty, int(fl["quantity"]))
                if fl["orderLine"]["id"] == line_id and take > 0:  # never a line of 0 units
                    fulfillment_lines.append({"fulfillmentLineId": fl["id"], "quantity": take,
                                              **mark})
                    qty -= take
        if qty > 0:  # not shipped yet: returned from the order line itself
            order_lines.append({"orderLineId": line_id, "quantity": qty, **mark})
    return fulfillment_lines, order_lines
