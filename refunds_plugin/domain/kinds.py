"""Kinds of thing: outcomes, resolutions, reasons, decision kinds, and the refund
attempt's statuses with their groups (terminal, reserved, needs review, ...).
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    APPROVE = "approve"
    REVIEW = "review"
    DECLINE = "decline"


class ResolutionKind(StrEnum):
    REFUND = "refund"  # back to the original payment
    CREDIT = "credit"  # store credit (Stripe promotion code, Saleor gift card)


class Reason(StrEnum):
    DAMAGED = "damaged"
    DEFECTIVE = "defective"
    WRONG_ITEM = "wrong_item"
    NOT_AS_DESCRIBED = "not_as_described"
    NOT_RECEIVED = "not_received"
    CHANGED_MIND = "changed_mind"
    TOO_SMALL = "too_small"
    TOO_LARGE = "too_large"
    OTHER = "other"

    @property
    def merchant_fault(self) -> bool:
        return self in MERCHANT_FAULT


MERCHANT_FAULT = frozenset(
    {
        Reason.DAMAGED,
        Reason.DEFECTIVE,
        Reason.WRONG_ITEM,
        Reason.NOT_AS_DESCRIBED,
        Reason.NOT_RECEIVED,
    }
)


class DecisionKind(StrEnum):
    RETURN = "return"  # a customer asked
    OVERPAYMENT = "overpayment"  # we noticed they paid more than the order total
    DUPLICATE_CHARGE = "duplicate_charge"  # we noticed the same order charged twice


class AttemptStatus(StrEnum):
    """A refund attempt's state, as stored (the state machine is drawn in ``ledger/attempts``)."""

    PENDING = "pending"
    HELD = "held"  # reserved, waiting for the parcel (``refund_on``); never claimed
    IN_PROGRESS = "in_progress"  # claimed by a worker, under a lease
    SENT = "sent"  # the provider accepted it and confirms later
    UNKNOWN = "unknown"  # out of tries on a retryable error: the money may have moved
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


_A = AttemptStatus
TERMINAL = (_A.SUCCEEDED, _A.FAILED, _A.CANCELED)
UNCLAIMED = (_A.SENT, _A.UNKNOWN)  # not terminal, but nobody holds them: the claim is cleared
NEEDS_REVIEW = (_A.FAILED, _A.UNKNOWN)  # a person looks at these
WAITING = (_A.PENDING, _A.IN_PROGRESS)  # ours to send: the provider has not answered yet
# what a provider's report may settle (a held attempt was never sent, so no report is about it)
SETTLES = (_A.PENDING, _A.IN_PROGRESS, _A.SENT, _A.UNKNOWN)
# money held back from the refundable remainder
RESERVED = (*SETTLES, _A.HELD)
LIVE = (_A.PENDING, _A.HELD, _A.IN_PROGRESS, _A.SENT, _A.SUCCEEDED)  # count against the refundable
HANDED_OVER = (_A.IN_PROGRESS, _A.SENT, _A.SUCCEEDED, _A.UNKNOWN)  # the provider may count it

DRY_RUN = "dry_run"  # a dry-run provider's "succeeded": nothing moved
DRYRUN_PROVIDER = "dryrun"
TEST_MODE = "test_mode"  # a "succeeded" in Stripe's test mode (a test key): no real money moved


def shown_status(status: str, provider: str, livemode: bool | None = None) -> str:
    """An attempt's status as people read it (finance, the worker's log and summary): the
    dry-run provider's success is ``dry_run``, a success in Stripe's test mode (``livemode``
    false) ``test_mode``; an attempt whose mode is not known (NULL: written before revision
    0025) reads as it always did. The row keeps ``succeeded``."""
    if status == AttemptStatus.SUCCEEDED and provider == DRYRUN_PROVIDER:
        return DRY_RUN
    if status == AttemptStatus.SUCCEEDED and livemode is False:
        return TEST_MODE
    return str(status)


def paid_out(kind: str, amount: int, sent_amount: int | None) -> int:
    """What an attempt gives, its credit's bonus apart: a refund the amount its provider was
    asked for (``sent_amount``: less than ``amount`` where Saleor clamped a request to what
    was still charged), when known; otherwise the attempt's ``amount``."""
    if kind == "refund" and sent_amount is not None:
        return int(sent_amount)
    return int(amount)
