"""What the payment app behind a fake Saleor transaction does, and how Saleor books it.

Saleor's amounts as a live 3.23 keeps them (``transaction_item_calculations``): a refund
request moves its amount out of ``chargedAmount`` into ``refundPendingAmount`` until the app
answers; a success moves it on to ``refundedAmount`` (so ``chargedAmount`` is net of refunds), a
failure gives it back to ``chargedAmount``. The app answers a granted refund's
request later, from a Celery task, after the mutation has answered: ``decline_next`` queues a
REFUND_FAILURE (or Saleor giving up after the app's 5xx answers) that lands before the next
request reaches the fake (or, with ``after_s``, the first request once that many seconds of
the test clock have passed), and Saleor sends no order webhook for it (only the grant's status
changes). A refund made at the payment provider itself (``refund_outside``) and a merchant
re-requesting a failed grant in the Dashboard (``dashboard_rerequest``) are here too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

PAYMENT_APP = {"__typename": "App", "id": "QXBwOjI=", "isActive": True}
STAFF = {"__typename": "User"}  # a transaction a staff user created: no app can refund it
# Saleor's own gift-card gateway (3.22+, ``saleor.io.gift-card-payment-gateway``): the
# transaction has an app identifier but no App, so ``createdBy`` is null; Saleor refunds it
# itself, in the request, putting the money back on the gift card
GIFT_CARD_GATEWAY = "saleor.io.gift-card-payment-gateway"


class PaymentApp:
    """Mixed into ``FakeSaleor``: the payment app's answers and Saleor's bookkeeping of them."""

    orders: dict[str, dict[str, Any]]
    _n: int
    # Celery tasks: run before the next request is answered (from their due time, if any)
    deferred: list[tuple[datetime | None, Callable[[], None]]]
    # ("failure" | "5xx", seconds later or None): how the app answers the next grant requests
    declines: list[tuple[str, float | None]]
    clock: Callable[[], datetime] | None  # the test's clock, for answers that come later
    answer_before_reply = False  # the app's answer is booked before Saleor answers the mutation

    def _id(self, prefix: str) -> str:
        raise NotImplementedError

    def _touch(self, order: dict[str, Any]) -> None:
        raise NotImplementedError

    def _charge_status(self, order: dict[str, Any]) -> None:
        raise NotImplementedError

    # --- the amounts --------------------------------------------------------------------------
    @staticmethod
    def _tx(order: dict[str, Any], tx_id: str) -> dict[str, Any]:
        return next(tx for tx in order["transactions"] if tx["id"] == tx_id)

    @staticmethod
    def _pend(order: dict[str, Any], tx: dict[str, Any], amount: Decimal) -> None:
        """A refund of ``amount`` requested: Saleor moves it from charged to pending."""
        tx["refundPendingAmount"]["amount"] += amount
        order["totalRefundPending"]["amount"] += amount
        tx["chargedAmount"]["amount"] -= amount
        order["totalCharged"]["amount"] -= amount

    @staticmethod
    def _book(order: dict[str, Any], tx: dict[str, Any], amount: Decimal, outcome: str) -> None:
        """A pending refund of ``amount`` answered: ``success`` moves it from pending to
        refunded; ``failure`` gives it back to charged."""
        tx["refundPendingAmount"]["amount"] -= amount
        order["totalRefundPending"]["amount"] -= amount
        moved_to = ("refundedAmount", "totalRefunded") if outcome == "success" else (
            "chargedAmount", "totalCharged")
        tx[moved_to[0]]["amount"] += amount
        order[moved_to[1]]["amount"] += amount

    gateway: dict[str, str]  # transaction id -> Saleor's own gateway that took it

    def owned(self, tx: dict[str, Any]) -> bool:
        """Saleor sends TRANSACTION_REFUND_REQUESTED only to an active app that created it, or
        refunds a gift-card payment itself."""
        by = tx.get("createdBy") or {}
        return (by.get("__typename") == "App" and bool(by.get("isActive"))) or \
            tx["id"] in self.gateway

    def _event(self, tx: dict[str, Any], type_: str, amount: dict[str, Any],
               psp: str | None = None, **extra: Any) -> str:
        """An event on ``tx``; ``psp``: the payment app's reference (Saleor's field is
        ``String!``: "" where the app gave none, as on a request it has not answered). An
        outcome the app reports gets a reference of its own unless given one."""
        event_id = self._id("ev")
        if psp is None:
            psp = f"re_{event_id}" if type_ != "REFUND_REQUEST" else ""
        tx["events"].append({"id": event_id, "type": type_,
                             "createdAt": f"2026-11-24T13:00:{self._n:02d}+00:00",
                             "pspReference": psp, "amount": amount, **extra})
        return event_id

    # --- the app answers ----------------------------------------------------------------------
    def settle_request(self, tx_id: str, success: bool = True,
                       request_id: str | None = None) -> None:
        """The payment app answers the oldest open REFUND_REQUEST on ``tx_id`` (or
        ``request_id``)."""
        for order in self.orders.values():
            for tx in order["transactions"]:
                if tx["id"] != tx_id:
                    continue
                settled = {e["requestId"] for e in tx["events"] if e.get("requestId")}
                req = next(e for e in tx["events"]
                           if e["type"] == "REFUND_REQUEST" and e["id"] not in settled
                           and request_id in (None, e["id"]))
                self._book(order, tx, req["amount"]["amount"],
                           "success" if success else "failure")
                # Saleor copies the reference of the app's answer onto the request
                req["pspReference"] = psp = f"re_{self._id('psp')}"
                self._event(tx, "REFUND_SUCCESS" if success else "REFUND_FAILURE",
                            req["amount"], psp, requestId=req["id"])
                self._charge_status(order)
                self._touch(order)

    def settle(self, grant_id: str, success: bool = True) -> None:
        """The payment app reports a granted refund's outcome (REFUND_SUCCESS / _FAILURE)."""
        for order in self.orders.values():
            for grant in order["grantedRefunds"]:
                if grant["id"] == grant_id:
                    self._answer_grant(order, grant, "success" if success else "failure")

    def _answer_grant(self, order: dict[str, Any], grant: dict[str, Any], outcome: str) -> None:
        tx = self._tx(order, grant["transaction"]["id"])
        self._book(order, tx, grant["amount"]["amount"], outcome)
        said = self._event(tx, "REFUND_SUCCESS" if outcome == "success" else "REFUND_FAILURE",
                           grant["amount"])
        grant["transactionEvents"] = [*grant.get("transactionEvents", []), {"id": said}]
        grant["status"] = "SUCCESS" if outcome == "success" else "FAILURE"
        grant["updatedAt"] = f"2026-11-24T13:00:{self._n:02d}+00:00"
        self._touch(order)

    def decline_next(self, how: str = "failure", *, after_s: float | None = None) -> None:
        """The next granted-refund request is declined by the app (``failure``: it answers
        REFUND_FAILURE; ``5xx``: Saleor retries the app's 5xx answers five times, then writes
        REFUND_FAILURE). Either way the grant ends FAILURE and no order webhook is sent.
        ``after_s``: Saleor knows it that many seconds (of ``clock``) after the request, e.g.
        once its retries of the app's 5xx answers run out."""
        assert after_s is None or self.clock is not None, "a later answer needs the test clock"
        self.declines.append((how, after_s))

    def _requested(self, order: dict[str, Any], grant: dict[str, Any]) -> None:
        """Saleor queued TRANSACTION_REFUND_REQUESTED; the app answers from a Celery task. A
        gift-card payment Saleor refunds itself, before it answers the mutation."""
        if grant["transaction"]["id"] in self.gateway:
            self._answer_grant(order, grant, "success")
            return
        if self.declines:
            _how, after_s = self.declines.pop(0)
            due = None if after_s is None or self.clock is None else (
                self.clock() + timedelta(seconds=after_s))
            self.deferred.append((due, lambda: self._answer_grant(order, grant, "failure")))
        if self.answer_before_reply:
            self.run_tasks()

    def run_tasks(self) -> None:
        """Run the tasks that are due, in order; later ones wait for their time."""
        now = self.clock() if self.clock is not None else None
        waiting = []
        for due, task in self.deferred:
            if due is None or (now is not None and now >= due):
                task()
            else:
                waiting.append((due, task))
        self.deferred = waiting

    # --- outside this app ---------------------------------------------------------------------
    def refund_outside(self, order_id: str, amount: str, tx_id: str | None = None) -> None:
        """The payment provider refunded ``amount`` itself (its dashboard, or staff in
        Saleor's): the app reports REFUND_SUCCESS, no granted refund is involved."""
        order = self.orders[order_id]
        tx = self._tx(order, tx_id) if tx_id else order["transactions"][0]
        value = Decimal(amount)
        self._pend(order, tx, value)
        self._book(order, tx, value, "success")
        self._event(tx, "REFUND_SUCCESS", {"amount": value, "currency": tx["chargedAmount"][
            "currency"]})
        self._touch(order)

    def request_outside(self, order_id: str, amount: str, tx_id: str | None = None) -> str:
        """Staff ask the payment app for a refund in Saleor's Dashboard; it has not answered
        yet: the amount sits in ``refundPendingAmount``, out of ``chargedAmount``. Returns the
        request event's id."""
        order = self.orders[order_id]
        tx = self._tx(order, tx_id) if tx_id else order["transactions"][0]
        value = Decimal(amount)
        self._pend(order, tx, value)
        asked = self._event(tx, "REFUND_REQUEST", {"amount": value, "currency": tx[
            "chargedAmount"]["currency"]})
        self._touch(order)
        return asked

    def give_up_on(self, order_id: str, request_id: str) -> None:
        """Saleor gives up on the app for a request (its 5xx answers ran out): it writes a
        REFUND_FAILURE with no reference (the app never answered) and gives the amount back."""
        order = self.orders[order_id]
        for tx in order["transactions"]:
            for req in tx["events"]:
                if req["id"] == request_id:
                    self._book(order, tx, req["amount"]["amount"], "failure")
                    self._event(tx, "REFUND_FAILURE", req["amount"], "", requestId=req["id"])
                    self._charge_status(order)
                    self._touch(order)
                    return
        raise KeyError(request_id)

    def dashboard_rerequest(self, grant_id: str) -> dict[str, Any]:
        """A merchant sends a FAILURE grant again from the Dashboard; returns the grant."""
        for order in self.orders.values():
            for grant in order["grantedRefunds"]:
                if grant["id"] == grant_id:
                    assert grant["status"] == "FAILURE"
                    tx = self._tx(order, grant["transaction"]["id"])
                    self._pend(order, tx, grant["amount"]["amount"])
                    grant["status"] = "PENDING"
                    self._touch(order)
                    return grant
        raise KeyError(grant_id)
