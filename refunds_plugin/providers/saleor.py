"""Saleor: record the return, then refund through a granted refund, or credit as a gift card.

Each step's result is saved (``save_progress``) before the next step starts, and a marker is
saved before each creating mutation, so a retry after a crash or a lost answer finds what the
first try created (by the attempt id written into the granted refund's reason or the gift card's
tag) instead of creating a second one. ``REFUND_ALREADY_PROCESSED`` means the refund is done.
"""

from __future__ import annotations

import json
from typing import Any

import requests
from sqlalchemy import Engine, select

from refunds_plugin.config import Config
from refunds_plugin.db import make_engine
from refunds_plugin.domain import Decision, DecisionKind
from refunds_plugin.errors import FinalProviderError
from refunds_plugin.providers import Instruction, ProviderResult, SaveProgress
from refunds_plugin.saleor import graphql
from refunds_plugin.saleor.client import MutationError, SaleorClient
from refunds_plugin.saleor.events import ATTEMPT_MARK, attempt_in_reason
from refunds_plugin.saleor.facts import RETURNED, SHIPPED, decimal_amount, minor
from refunds_plugin.saleor.installs import get_install
from refunds_plugin.tables import decisions, refund_attempts

META_PREFIX = "refunds_plugin."


class SaleorProvider:
    name = "saleor"

    def __init__(
        self,
        engine: Engine | None = None,
        *,
        database_url: str = "",
        session: requests.Session | None = None,
        timeout: float = 15.0,
    ) -> None:
        self._engine = engine
        self._database_url = database_url
        self.session = session or requests.Session()
        self.timeout = timeout

    @classmethod
    def from_config(cls, config: Config) -> SaleorProvider:
        return cls(database_url=config.database_url)

    @property
    def engine(self) -> Engine:
        if self._engine is None:  # built on first use, never at import or wiring time
            self._engine = make_engine(self._database_url)
        return self._engine

    # --- the ledger side ----------------------------------------------------------------------
    def _client(self, api_url: str) -> SaleorClient:
        with self.engine.connect() as conn:
            install = get_install(conn, api_url)
        if install is None:
            raise FinalProviderError(
                f"the Saleor app is not installed for {api_url}", code="not_installed"
            )
        return SaleorClient(api_url, install.token, session=self.session, timeout=self.timeout)

    def _decision(self, ins: Instruction) -> tuple[Decision, bool]:
        """The decision, and whether this attempt is the one that records the return."""
        with self.engine.connect() as conn:
            body = conn.execute(
                select(decisions.c.body).where(decisions.c.id == ins.decision_id)
            ).scalar_one()
            first = conn.execute(
                select(refund_attempts.c.id)
                .where(
                    refund_attempts.c.decision_id == ins.decision_id,
                    refund_attempts.c.provider == self.name,
                )
                .order_by(refund_attempts.c.seq)
                .limit(1)
            ).scalar()
        return Decision.from_dict(json.loads(body)), first == ins.attempt_id

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

        decision, records_return = self._decision(ins)
        correction = decision.kind in (DecisionKind.OVERPAYMENT, DecisionKind.DUPLICATE_CHARGE)
        if correction and ins.kind == "refund":  # nothing comes back, no lines to grant for
            return self._transaction_refund(client, ins, progress, save)
        if records_return and not correction:
            self._return(client, ins, decision, progress, save)
        if ins.kind == "refund":
            return self._refund(client, ins, decision, progress, save)
        return self._credit(client, ins, saleor, progress, save)

    def _order(self, client: SaleorClient, order_id: str) -> dict[str, Any]:
        order = client.execute(graphql.ORDER, {"id": order_id}).get("order")
        if not isinstance(order, dict):
            raise FinalProviderError(f"Saleor has no order {order_id}", code="order_not_found")
        return order

    def _return(self, client: SaleorClient, ins: Instruction, decision: Decision,
                progress: dict[str, Any], save: Any) -> None:
        if progress.get("return_fulfillment") or progress.get("return") == "none":
            return
        wanted: dict[str, int] = {}
        if decision.return_required:
            for ln in decision.lines:
                if ln.return_required:
                    wanted[ln.line_id] = wanted.get(ln.line_id, 0) + ln.quantity
        if not wanted:
            save(**{"return": "none"})
            return
        order = self._order(client, ins.order_id)
        returned = sorted(f["id"] for f in order["fulfillments"] if f["status"] in RETURNED)
        if progress.get("return") == "requested":
            new = [fid for fid in returned if fid not in progress.get("returned_before", [])]
            if new:  # the first try's answer was lost, but Saleor did record the return
                save(return_fulfillment=new[0])
                return
        fulfillment_lines, order_lines = [], []
        for line_id, qty in sorted(wanted.items()):
            for ful in order["fulfillments"]:
                if ful["status"] not in SHIPPED or qty <= 0:
                    continue
                for fl in ful["lines"]:
                    if fl["orderLine"]["id"] == line_id and qty > 0:
                        take = min(qty, int(fl["quantity"]))
                        fulfillment_lines.append({"fulfillmentLineId": fl["id"], "quantity": take})
                        qty -= take
            if qty > 0:  # not shipped yet: returned from the order line itself
                order_lines.append({"orderLineId": line_id, "quantity": qty})
        save(**{"return": "requested", "returned_before": returned})
        payload = client.mutate(
            graphql.RETURN_PRODUCTS,
            {
                "order": ins.order_id,
                "input": {
                    "fulfillmentLines": fulfillment_lines,
                    "orderLines": order_lines,
                    "refund": False,
                },
            },
            "orderFulfillmentReturnProducts",
        )
        save(return_fulfillment=(payload.get("returnFulfillment") or {}).get("id") or "none")

    def _refund(self, client: SaleorClient, ins: Instruction, decision: Decision,
                progress: dict[str, Any], save: Any) -> ProviderResult:
        if not ins.payment_reference:
            raise FinalProviderError("no Saleor transaction to refund to", code="no_transaction")
        grant_id = progress.get("granted_refund")
        if not grant_id and progress.get("grant") == "requested":
            order = self._order(client, ins.order_id)
            grant_id = next(
                (g["id"] for g in order["grantedRefunds"]
                 if attempt_in_reason(g.get("reason") or "") == ins.attempt_id),
                None,
            )
            if grant_id:
                save(granted_refund=grant_id)
        if not grant_id:
            save(grant="requested")
            lines = [
                {"id": ln.line_id, "quantity": ln.quantity}
                for ln in decision.lines
                if ln.quantity > 0
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
        status = "sent"
        try:
            client.mutate(
                graphql.REQUEST_GRANTED_REFUND,
                {"grantedRefundId": grant_id, "transactionId": ins.payment_reference},
                "transactionRequestRefundForGrantedRefund",
            )
        except MutationError as exc:
            if "REFUND_ALREADY_PROCESSED" in exc.codes:
                status = "succeeded"
            elif "REFUND_IS_PENDING" not in exc.codes:
                raise
        save(refund_requested=True)
        return ProviderResult(
            status=status,
            reference=grant_id,
            sent_amount=ins.amount,
            detail={"granted_refund": grant_id},
        )

    def _transaction_refund(self, client: SaleorClient, ins: Instruction,
                            progress: dict[str, Any], save: Any) -> ProviderResult:
        """Money back from the extra transaction itself (``transactionRequestAction`` REFUND).

        Saleor's mutation has no idempotency key, so the REFUND_REQUEST events on the
        transaction are noted before asking; a retry after a lost answer looks for a new one of
        this amount and does not ask twice.
        """
        tx_id = ins.payment_reference
        if not tx_id:
            raise FinalProviderError("no Saleor transaction to refund", code="no_transaction")
        request_id = progress.get("refund_request")
        if not request_id and progress.get("action") == "requested":
            tx = self._transaction(client, ins, tx_id)
            request_id = _new_request(tx, progress.get("requests_before") or [], ins)
            if request_id:
                save(refund_request=request_id)
        if not request_id:
            tx = self._transaction(client, ins, tx_id)
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
            request_id = _new_request(payload.get("transaction") or {}, before, ins)
            if not request_id:
                raise FinalProviderError(
                    "Saleor recorded no refund request on the transaction", code="bad_response"
                )
            save(refund_request=request_id)
        return ProviderResult(
            status="sent",
            reference=request_id,
            sent_amount=ins.amount,
            detail={"transaction": tx_id, "refund_request": request_id},
        )

    def _transaction(self, client: SaleorClient, ins: Instruction, tx_id: str) -> dict[str, Any]:
        order = self._order(client, ins.order_id)
        for tx in order.get("transactions") or []:
            if tx.get("id") == tx_id:
                return dict(tx)
        raise FinalProviderError(
            f"order {ins.order_id} has no transaction {tx_id}", code="no_transaction"
        )

    def _credit(self, client: SaleorClient, ins: Instruction, saleor: dict[str, Any],
                progress: dict[str, Any], save: Any) -> ProviderResult:
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
            status="succeeded",
            reference=card["id"],
            sent_amount=total,
            credit_code=card.get("code"),
            detail={"gift_card": card["id"]},
        )


def _new_request(tx: dict[str, Any], before: list[str], ins: Instruction) -> str | None:
    """The REFUND_REQUEST event for ``ins`` on ``tx`` that was not there ``before``."""
    for ev in tx.get("events") or []:
        if (
            ev.get("type") == "REFUND_REQUEST"
            and str(ev.get("id")) not in before
            and minor(ev.get("amount"), ins.currency) == ins.amount
        ):
            return str(ev["id"])
    return None
