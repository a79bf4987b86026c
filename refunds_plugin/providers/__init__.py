"""Payment providers behind one small Protocol; each SDK is imported only in its own module.

An executor hands a provider an ``Instruction`` (what to pay out, under which idempotency key)
and gets back a ``ProviderResult`` or a ``ProviderError`` that says whether a retry may help.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

SaveProgress = Callable[[dict[str, Any]], None]

# what an order's payment may name (``payment.provider`` of a storefront order): the payment
# providers with an adapter here; the dry run is not one a customer pays through
PAYMENT_PROVIDERS = ("stripe", "saleor")


@dataclass(frozen=True)
class Instruction:
    attempt_id: str
    decision_id: str
    order_id: str
    idempotency_key: str
    kind: str  # "refund" | "credit"
    amount: int  # integer minor units of ``currency``
    currency: str
    bonus: int = 0  # extra store credit on top of ``amount`` (credit only)
    payment_reference: str | None = None
    customer_id: str | None = None
    customer_email: str | None = None
    reason: str = "requested_by_customer"  # Stripe reason: requested_by_customer | duplicate
    policy_hash: str = ""
    progress: dict[str, Any] = field(default_factory=dict)  # what earlier tries created

    @property
    def requeued(self) -> bool:
        """A person sent this attempt again after its outcome was unknown, possibly days later:
        look for what an earlier try did before relying on the idempotency key (Stripe prunes
        keys after 24 hours). Other retries rely on the key while the provider keeps it
        (Stripe: ``providers.stripe`` looks first once the first unanswered try is 23 h old)."""
        return bool(self.progress.get("requeued"))
    extra: dict[str, Any] = field(default_factory=dict)  # provider-specific facts


@dataclass(frozen=True)
class ProviderResult:
    status: str  # AttemptStatus.SUCCEEDED, or SENT (accepted: the provider confirms later)
    reference: str  # the provider's id for the refund / gift card / promotion code
    sent_amount: int
    credit_code: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    # the provider's mode when it answered: False for Stripe's test mode (a test key: no real
    # money moved), True for its live mode, None for a provider without modes
    livemode: bool | None = None


class Provider(Protocol):
    name: str

    def execute(self, instruction: Instruction, save_progress: SaveProgress) -> ProviderResult:
        """Move the money once. Must be safe to call again with the same instruction."""
        ...
