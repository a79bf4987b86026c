"""The fake Stripe account that ``stripe_api`` serves: its payment intents, refunds, coupons,
promotion codes and Checkout Sessions, the checks Stripe makes on each (the unrefunded remainder,
``charge_already_refunded``, ``charge_disputed``, three-decimal and whole-unit currencies), and
the knobs a test turns (``fail_next``, ``hang_next``; ``calls`` logs every request). No HTTP
here: the idempotency keys and the routes are ``stripe_api``'s.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import MultiDict

THREE_DECIMAL = {"bhd", "jod", "kwd", "omr", "tnd"}
WHOLE_UNITS = {"isk"}  # two-decimal in the API, whole krónur only (docs.stripe.com/currencies)
TEST_KEYS = ("sk_test_", "rk_test_")
# the objects Stripe's API reference gives a ``livemode``; its Refund object has none
LIVEMODE_OBJECTS = ("coupon", "promotion_code", "checkout.session")


@dataclass
class Call:
    method: str
    path: str
    params: dict[str, Any]
    idempotency_key: str | None
    status: int = 0
    replayed: bool = False


@dataclass
class Fault:
    kind: str  # "status" | "hang"
    status: int = 500
    saved: bool = False
    seconds: float = 0.0


class StripeFailure(Exception):
    def __init__(self, status: int, type_: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": type_, "message": message, **extra}}



class FakeStripe:
    """The fake's state; every method is safe to call from the test thread while it serves."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.ids = itertools.count(1)
        self.payment_intents: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, str] = {}  # charge id -> payment intent id
        self.refunds: list[dict[str, Any]] = []
        self.coupons: dict[str, dict[str, Any]] = {}
        self.promotion_codes: dict[str, dict[str, Any]] = {}
        self.checkout_sessions: dict[str, dict[str, Any]] = {}
        self.saved: dict[str, tuple[str, int, dict[str, Any]]] = {}  # key -> (fingerprint, …)
        self.executing: set[str] = set()
        self.faults: list[Fault] = []
        self.calls: list[Call] = []
        self.next_refund_status = "succeeded"

    # --- seeding and knobs --------------------------------------------------------------------
    def _id(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self.ids):06d}"

    def add_payment_intent(
        self, amount: int, currency: str, pi_id: str | None = None, **metadata: str
    ) -> dict[str, Any]:
        with self.lock:
            pi_id = pi_id or self._id("pi")
            charge = "ch_" + pi_id.removeprefix("pi_")
            self.payment_intents[pi_id] = {
                "id": pi_id, "object": "payment_intent", "amount": amount,
                "amount_received": amount, "currency": currency.lower(), "latest_charge": charge,
                "status": "succeeded", "metadata": dict(metadata), "disputed": False,
            }
            self.charges[charge] = pi_id
            return dict(self.payment_intents[pi_id])

    def dispute(self, pi_id: str) -> None:
        with self.lock:
            self.payment_intents[pi_id]["disputed"] = True

    def fail_next(self, count: int = 1, status: int = 500, saved: bool = False) -> None:
        """The next ``count`` requests answer ``status``; ``saved`` stores it under the key."""
        with self.lock:
            self.faults.extend(Fault("status", status=status, saved=saved) for _ in range(count))

    def hang_next(self, count: int = 1, seconds: float = 2.0) -> None:
        """The next ``count`` requests wait ``seconds`` and then do their work (a timeout)."""
        with self.lock:
            self.faults.extend(Fault("hang", seconds=seconds) for _ in range(count))

    def calls_to(self, method: str, path: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method == method and c.path == path]

    def refunded(self, pi_id: str) -> int:
        with self.lock:
            return sum(r["amount"] for r in self.refunds
                       if r["payment_intent"] == pi_id and r["status"] != "failed")

    # --- the endpoints ------------------------------------------------------------------------
    def create_refund(self, params: dict[str, Any]) -> dict[str, Any]:
        pi_id = params.get("payment_intent")
        if not pi_id and params.get("charge"):
            pi_id = self.charges.get(params["charge"])
            if pi_id is None:
                raise StripeFailure(404, "invalid_request_error",
                                    f"No such charge: '{params['charge']}'",
                                    code="resource_missing", param="charge")
        if not pi_id:
            raise StripeFailure(400, "invalid_request_error",
                                "One of the following params should be provided for this "
                                "request: payment_intent or charge.")
        pi = self.payment_intents.get(pi_id)
        if pi is None:
            raise StripeFailure(404, "invalid_request_error",
                                f"No such payment_intent: '{pi_id}'",
                                code="resource_missing", param="payment_intent")
        charge = pi["latest_charge"]
        if pi["disputed"]:
            raise StripeFailure(400, "invalid_request_error",
                                f"Charge {charge} has been charged back; cannot issue a refund.",
                                code="charge_disputed")
        remaining = pi["amount_received"] - self.refunded(pi_id)
        if remaining <= 0:
            raise StripeFailure(400, "invalid_request_error",
                                f"Charge {charge} has already been refunded.",
                                code="charge_already_refunded")
        amount = int(params.get("amount", remaining))
        if amount < 1:
            raise StripeFailure(400, "invalid_request_error",
                                "This value must be greater than or equal to 1.", param="amount")
        if amount > remaining:
            raise StripeFailure(400, "invalid_request_error",
                                f"Refund amount ({amount}) is greater than unrefunded amount on "
                                f"charge ({remaining})", param="amount")
        if pi["currency"] in THREE_DECIMAL and amount % 10:
            raise StripeFailure(400, "invalid_request_error",
                                "Amounts in three-decimal currencies must be a multiple of 10.",
                                param="amount")
        if pi["currency"] in WHOLE_UNITS and amount % 100:
            raise StripeFailure(400, "invalid_request_error",
                                "Amount must be a whole number of the currency's units "
                                "(divisible by 100).", param="amount",
                                code="invalid_charge_amount_no_decimal_compatible")
        reason = params.get("reason")
        if reason not in (None, "duplicate", "fraudulent", "requested_by_customer"):
            raise StripeFailure(400, "invalid_request_error", f"Invalid reason: {reason}",
                                param="reason")
        refund = {
            "id": self._id("re"), "object": "refund", "amount": amount,
            "currency": pi["currency"], "charge": charge, "payment_intent": pi_id,
            "created": int(self.clock()), "status": self.next_refund_status, "reason": reason,
            "metadata": params.get("metadata", {}),
        }
        self.refunds.append(refund)
        return refund

    def create_coupon(self, params: dict[str, Any]) -> dict[str, Any]:
        if "amount_off" in params and not params.get("currency"):
            raise StripeFailure(400, "invalid_request_error",
                                "You must pass currency when passing amount_off.",
                                param="currency")
        coupon = {
            "id": self._id("co"), "object": "coupon",
            "amount_off": int(params["amount_off"]) if "amount_off" in params else None,
            "currency": params.get("currency"), "duration": params.get("duration", "once"),
            "max_redemptions": int(params["max_redemptions"])
            if "max_redemptions" in params else None,
            "name": params.get("name"), "metadata": params.get("metadata", {}), "valid": True,
        }
        self.coupons[coupon["id"]] = coupon
        return coupon

    def create_promotion_code(self, params: dict[str, Any]) -> dict[str, Any]:
        promotion = params.get("promotion") or {}
        if promotion.get("type") != "coupon" or promotion.get("coupon") not in self.coupons:
            raise StripeFailure(400, "invalid_request_error",
                                f"No such coupon: '{promotion.get('coupon')}'",
                                param="promotion[coupon]", code="resource_missing")
        promo_id = self._id("promo")
        promo = {
            "id": promo_id, "object": "promotion_code",
            "code": params.get("code") or "CREDIT" + promo_id[-6:].upper(),
            "promotion": {"type": "coupon", "coupon": promotion["coupon"]},
            "customer": params.get("customer"), "active": True,
            "max_redemptions": int(params["max_redemptions"])
            if "max_redemptions" in params else None,
            "metadata": params.get("metadata", {}),
        }
        self.promotion_codes[promo_id] = promo
        return promo

    def create_checkout_session(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("mode") != "payment":
            raise StripeFailure(400, "invalid_request_error",
                                f"Invalid mode: {params.get('mode')!r}", param="mode")
        if not params.get("success_url"):
            raise StripeFailure(400, "invalid_request_error",
                                "Missing required param: success_url.", param="success_url")
        items = list((params.get("line_items") or {}).values())
        if not items:
            raise StripeFailure(400, "invalid_request_error",
                                "Missing required param: line_items.", param="line_items")
        total, currency = 0, None
        for item in items:
            price = item.get("price_data") or {}
            currency = price.get("currency")
            unit = int(price.get("unit_amount", 0))
            if unit < 1:
                raise StripeFailure(400, "invalid_request_error",
                                    "This value must be greater than or equal to 1.",
                                    param="line_items[0][price_data][unit_amount]")
            if currency in THREE_DECIMAL and unit % 10:
                raise StripeFailure(400, "invalid_request_error",
                                    "Amounts in three-decimal currencies must be a multiple "
                                    "of 10.", param="line_items[0][price_data][unit_amount]")
            total += unit * int(item.get("quantity", 1))
        cs_id = self._id("cs")
        session = {
            "id": cs_id, "object": "checkout.session", "mode": "payment", "status": "open",
            "payment_status": "unpaid", "amount_total": total, "currency": currency,
            "url": f"https://checkout.stripe.test/c/pay/{cs_id}",
            "client_reference_id": params.get("client_reference_id"),
            "customer_email": params.get("customer_email"),
            "metadata": params.get("metadata", {}), "payment_intent": None,
            "success_url": params["success_url"], "line_items": items,
        }
        self.checkout_sessions[cs_id] = session
        return session

    def complete_session(self, cs_id: str) -> dict[str, Any]:
        """The customer paid: the session completes with a payment intent for its total."""
        with self.lock:
            session = self.checkout_sessions[cs_id]
            if session["status"] == "open":
                pi = self.add_payment_intent(session["amount_total"], session["currency"],
                                             **session["metadata"])
                session.update(status="complete", payment_status="paid",
                               payment_intent=pi["id"])
            return dict(session)

    def expire_session(self, cs_id: str) -> dict[str, Any]:
        with self.lock:
            session = self.checkout_sessions[cs_id]
            if session["status"] == "open":
                session.update(status="expired")
            return dict(session)

    def expire_session_call(self, cs_id: str) -> dict[str, Any]:
        """``POST /v1/checkout/sessions/:id/expire``: Stripe expires only an ``open`` session
        and "returns an error if the Checkout Session has already expired or isn't in an
        expireable state" (the API reference)."""
        session = self.checkout_sessions.get(cs_id)
        if session is None:
            raise StripeFailure(404, "invalid_request_error",
                                f"No such checkout.session: '{cs_id}'", code="resource_missing")
        if session["status"] != "open":
            raise StripeFailure(400, "invalid_request_error",
                                f"This Checkout Session is {session['status']} and can no "
                                "longer be expired.")
        session.update(status="expired")
        return dict(session)

    def list_refunds(self, args: MultiDict[str, str]) -> dict[str, Any]:
        limit = min(100, max(1, int(args.get("limit", 10))))
        items = list(reversed(self.refunds))  # newest first, as Stripe lists
        bounds = {"gte": int.__ge__, "gt": int.__gt__, "lte": int.__le__, "lt": int.__lt__}
        for op, cmp in bounds.items():
            if f"created[{op}]" in args:
                edge = int(args[f"created[{op}]"])
                items = [r for r in items if cmp(r["created"], edge)]
        for key in ("payment_intent", "charge"):
            if args.get(key):
                items = [r for r in items if r[key] == args[key]]
        after = args.get("starting_after")
        if after:
            ids = [r["id"] for r in items]
            if after not in ids:
                raise StripeFailure(400, "invalid_request_error",
                                    f"No such refund: '{after}'", param="starting_after")
            items = items[ids.index(after) + 1:]
        return {"object": "list", "url": "/v1/refunds", "data": items[:limit],
                "has_more": len(items) > limit}
