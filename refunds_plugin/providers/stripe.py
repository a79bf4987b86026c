"""Stripe through stripe-python's ``StripeClient``: refunds, and store credit as promotion codes.

Every call carries an idempotency key derived from the attempt id, so a retry after a timeout,
a crash or a redelivery gets Stripe's saved answer instead of a second refund. Stripe prunes a
key once it is 24 hours old: a refund retried that late (the service was down in between) or
requeued by a person is first looked for by its metadata. Errors are classified here, at the
boundary, into retryable and final.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import stripe
from stripe.params import RefundCreateParams, RefundListParams
from stripe.params.checkout import SessionCreateParams

from refunds_plugin.config import STRIPE_TEST_PREFIXES
from refunds_plugin.domain.kinds import AttemptStatus
from refunds_plugin.errors import FinalProviderError, ProviderError, RetryableProviderError
from refunds_plugin.money import Money, refund_increment, written
from refunds_plugin.providers import Instruction, ProviderResult, SaveProgress

FINAL_CODES = {
    "charge_already_refunded": "the charge was already refunded in full",
    "charge_disputed": "the charge is disputed; Stripe refuses refunds while it is",
}
# Stripe prunes idempotency keys once they are at least 24 hours old; an hour's margin
KEY_TRUSTED_FOR = timedelta(hours=23)
UNANSWERED_SINCE = "unanswered_since"  # progress: when a refund's first unanswered try ended
STRIPE_LIVE_PREFIXES = ("sk_live_", "rk_live_")


def key_livemode(api_key: str) -> bool | None:
    """The mode a Stripe key calls: False for a test key (Stripe's test mode: no real money
    moves), True for a live key, None for a key of neither form."""
    if api_key.startswith(STRIPE_TEST_PREFIXES):
        return False
    return True if api_key.startswith(STRIPE_LIVE_PREFIXES) else None


def livemode(answer: Any, key_mode: bool | None) -> bool | None:
    """The mode Stripe answered in: the object's own ``livemode`` when it carries one (a
    promotion code does; a Refund, as Stripe documents it, does not), else the key's."""
    said = getattr(answer, "livemode", None)
    return said if isinstance(said, bool) else key_mode


def classify(exc: stripe.StripeError) -> ProviderError:
    """Map a stripe-python error to retryable (network, 409, 429, 5xx) or final."""
    message = exc.user_message or str(exc) or type(exc).__name__
    code = getattr(exc, "code", None) or type(exc).__name__
    status = getattr(exc, "http_status", None)
    if isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError):
        return RetryableProviderError(message, code=str(code))
    if status is not None and (status == 409 or status >= 500):
        return RetryableProviderError(message, code=str(code))
    if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
        return RetryableProviderError(f"Stripe refused our key: {message}", code=str(code))
    if isinstance(exc, stripe.InvalidRequestError) and code in FINAL_CODES:
        return FinalProviderError(FINAL_CODES[str(code)], code=str(code))
    if isinstance(exc, stripe.APIError) and status is None:
        return RetryableProviderError(message, code=str(code))
    return FinalProviderError(message, code=str(code))


def exact_amount(amount: int, currency: str) -> int:
    """``amount`` as Stripe takes it, never rounded here: the policy already rounded it to
    Stripe's step (tens of fils for KWD), so the ledger records what Stripe moves. An amount off
    the step is refused for a person to look at, not silently changed."""
    step = refund_increment("stripe", currency)
    if amount % step:
        raise FinalProviderError(
            f"{Money(amount, currency)} is not a multiple of "
            f"{Money(step, currency).decimal_string()} {currency}, the step Stripe takes; "
            "refused rather than sending a different amount than the ledger records",
            code="amount_off_step",
        )
    return amount


class StripeProvider:
    name = "stripe"

    def __init__(
        self,
        api_key: str,
        *,
        api_base: str = "",
        timeout: float = 15.0,
        max_network_retries: int = 2,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.clock = clock
        self.key_livemode = key_livemode(api_key)
        options: dict[str, Any] = {
            "http_client": stripe.RequestsClient(timeout=timeout),
            "max_network_retries": max_network_retries,
        }
        if api_base:
            options["base_addresses"] = {"api": api_base}
        self.client = stripe.StripeClient(api_key, **options)

    def refunds_page(self, params: dict[str, Any]) -> Any:
        """One page of Stripe's refund list (``finance.reconcile.stripe_refunds``); a Stripe
        error (after ``max_network_retries``) raised as a classified ``ProviderError``."""
        try:
            return self.client.v1.refunds.list(params=cast(RefundListParams, params))
        except stripe.StripeError as exc:
            raise classify(exc) from exc

    def execute(self, instruction: Instruction, save_progress: SaveProgress) -> ProviderResult:
        try:
            if instruction.kind == "refund":
                return self._refund(instruction)
            return self._credit(instruction, save_progress)
        except stripe.StripeError as exc:
            error = classify(exc)
            if (error.retryable and instruction.kind == "refund"
                    and UNANSWERED_SINCE not in instruction.progress):
                # the refund may have been made: a retry past the key's life looks for it first
                save_progress({**instruction.progress,
                               UNANSWERED_SINCE: self.clock().isoformat()})
            raise error from exc

    def _key_may_be_pruned(self, ins: Instruction) -> bool:
        """Could Stripe have forgotten this refund's idempotency key? A person requeued it, or
        its first unanswered try is older than Stripe keeps keys."""
        since = ins.progress.get(UNANSWERED_SINCE)
        if ins.requeued:
            return True
        if not isinstance(since, str):
            return False
        try:
            return self.clock() - datetime.fromisoformat(since) >= KEY_TRUSTED_FOR
        except (ValueError, TypeError):  # a mark edited by hand: look rather than trust the key
            return True

    def _metadata(self, ins: Instruction) -> dict[str, str]:
        return {
            "attempt_id": ins.attempt_id,
            "decision_id": ins.decision_id,
            "order_id": ins.order_id,
            "policy_hash": ins.policy_hash[:64],
            "source": "refunds-plugin",
        }

    def _refund(self, ins: Instruction) -> ProviderResult:
        if not ins.payment_reference:
            raise FinalProviderError("no payment to refund to", code="no_payment_reference")
        if ins.amount <= 0:
            raise FinalProviderError(
                f"{written(ins.amount, ins.currency)} is nothing Stripe can refund",
                code="amount_too_small",
            )
        amount = exact_amount(ins.amount, ins.currency)
        params: RefundCreateParams = {
            "amount": amount,
            "reason": "duplicate" if ins.reason == "duplicate" else "requested_by_customer",
            "metadata": self._metadata(ins),
        }
        if ins.payment_reference.startswith(("ch_", "py_")):
            params["charge"] = ins.payment_reference
        else:
            params["payment_intent"] = ins.payment_reference
        earlier = self._earlier_refund(ins, params) if self._key_may_be_pruned(ins) else None
        if earlier is not None:  # Stripe forgets idempotency keys after 24 h; our metadata stays
            return self._result(earlier)
        refund = self.client.v1.refunds.create(
            params=params, options={"idempotency_key": ins.idempotency_key}
        )
        return self._result(refund)

    def _earlier_refund(self, ins: Instruction, params: RefundCreateParams) -> stripe.Refund | None:
        """A refund an earlier try of this attempt already made, found by its metadata."""
        listing: RefundListParams = {"limit": 100}
        if "charge" in params:
            listing["charge"] = params["charge"]
        else:
            listing["payment_intent"] = params["payment_intent"]
        for refund in self.client.v1.refunds.list(params=listing).auto_paging_iter():
            meta = refund.metadata.to_dict() if refund.metadata else {}
            if meta.get("attempt_id") == ins.attempt_id:
                return refund
        return None

    def _result(self, refund: stripe.Refund) -> ProviderResult:
        status = refund.status or "pending"
        if status in ("failed", "canceled"):
            raise FinalProviderError(
                f"Stripe {status} the refund: {refund.failure_reason or 'no reason given'}",
                code=f"refund_{status}",
            )
        return ProviderResult(
            status=AttemptStatus.SUCCEEDED if status == "succeeded" else AttemptStatus.SENT,
            reference=refund.id,
            sent_amount=int(refund.amount),
            livemode=livemode(refund, self.key_livemode),
        )

    def _credit(self, ins: Instruction, save_progress: SaveProgress) -> ProviderResult:
        """A single-use promotion code worth the credit (with any bonus) in the order's currency."""
        total = exact_amount(ins.amount + ins.bonus, ins.currency)
        progress = dict(ins.progress)
        coupon_id = progress.get("coupon")
        if not coupon_id:
            coupon = self.client.v1.coupons.create(
                params={
                    "amount_off": total,
                    "currency": ins.currency.lower(),
                    "duration": "once",
                    "max_redemptions": 1,
                    "name": f"Store credit for order {ins.order_id}"[:40],
                    "metadata": self._metadata(ins),
                },
                options={"idempotency_key": f"{ins.idempotency_key}:coupon"},
            )
            coupon_id = coupon.id
            progress["coupon"] = coupon_id
            save_progress(progress)
        params: dict[str, Any] = {
            "promotion": {"type": "coupon", "coupon": coupon_id},
            "max_redemptions": 1,
            "metadata": self._metadata(ins),
        }
        if ins.customer_id and ins.customer_id.startswith("cus_"):
            params["customer"] = ins.customer_id
        promo = self.client.v1.promotion_codes.create(
            params=params,  # type: ignore[arg-type]
            options={"idempotency_key": f"{ins.idempotency_key}:promotion_code"},
        )
        return ProviderResult(
            status=AttemptStatus.SUCCEEDED,
            reference=promo.id,
            sent_amount=total,
            credit_code=promo.code,
            detail={"coupon": coupon_id},
            livemode=livemode(promo, self.key_livemode),
        )


@dataclass(frozen=True)
class CheckoutRequest:
    """An exchange's price difference to take: one Checkout Session per decision."""

    decision_id: str
    order_id: str
    amount: int  # integer minor units of ``currency``, already in Stripe's step
    currency: str
    description: str
    return_url: str  # where Stripe sends the customer back (paid or not)
    customer_email: str | None = None
    # exchange_difference (a dearer item's difference) | original_due (an instant exchange's
    # original that never came back): each its own session, its own key
    purpose: str = "exchange_difference"

    @property
    def idempotency_key(self) -> str:
        suffix = "checkout" if self.purpose == "exchange_difference" else "original-due"
        return f"refunds-plugin:exchange:{self.decision_id}:{suffix}"


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str


def open_checkout(provider: StripeProvider, req: CheckoutRequest) -> CheckoutSession:
    """A Checkout Session in payment mode for exactly ``req.amount``; asked again (a retry, a
    second worker) it is the same session: the key is the decision's."""
    amount = exact_amount(req.amount, req.currency)
    # not ``order_id``: the payment is no payment of the order (it would look like an overpayment)
    meta = {"decision_id": req.decision_id, "exchange_for_order": req.order_id,
            "purpose": req.purpose, "source": "refunds-plugin"}
    params: SessionCreateParams = {
        "mode": "payment",
        "line_items": [{"quantity": 1, "price_data": {
            "currency": req.currency.lower(), "unit_amount": amount,
            "product_data": {"name": req.description[:250]}}}],
        "success_url": req.return_url,
        "cancel_url": req.return_url,
        "client_reference_id": req.decision_id,
        "metadata": meta,
        "payment_intent_data": {"metadata": meta},
    }
    if req.customer_email:
        params["customer_email"] = req.customer_email
    try:
        session = provider.client.v1.checkout.sessions.create(
            params=params, options={"idempotency_key": req.idempotency_key})
    except stripe.StripeError as exc:
        raise classify(exc) from exc
    if not session.url:
        raise RetryableProviderError("Stripe made a Checkout Session without a URL",
                                     code="no_checkout_url")
    return CheckoutSession(session.id, session.url)


def expire_checkout(provider: StripeProvider, session_id: str) -> str:
    """Expire an open Checkout Session (no one can pay it any more); the session's status
    after the call. Stripe refuses a session that is no longer ``open`` (already paid, or
    expired): then the session is read back and its status returned."""
    try:
        return str(provider.client.v1.checkout.sessions.expire(session_id).status)
    except stripe.InvalidRequestError:
        pass  # not open any more: what is it?
    except stripe.StripeError as exc:
        raise classify(exc) from exc
    try:
        return str(provider.client.v1.checkout.sessions.retrieve(session_id).status)
    except stripe.StripeError as exc:
        raise classify(exc) from exc
