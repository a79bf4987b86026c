"""The exception tree. Each class says whether trying again may help.

RefundsError
├── InputError            the request itself is wrong (answer 4xx; retrying the same won't help)
│   ├── SignatureError    signature missing, malformed, stale, or not matching
│   ├── PayloadError      body not JSON, a field missing or of the wrong type
│   ├── ReviewClosed      a review decided before (by someone else, or an earlier click)
│   └── Conflict          an id already used for other content (answer 409)
│       └── UnreadableRecord  a stored row it needs cannot be read: a person repairs it first
├── NotFound              an order or decision we have never seen
└── ProviderError         a payment provider refused or could not be reached
    ├── RetryableProviderError   network, timeout, 409, 429, 5xx: same idempotency key later
    └── FinalProviderError       invalid, already refunded, disputed: a person must look
"""

from __future__ import annotations


class RefundsError(Exception):
    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InputError(RefundsError):
    code = "invalid_request"


class SignatureError(InputError):
    code = "invalid_signature"


class PayloadError(InputError):
    code = "invalid_payload"


class ReviewClosed(InputError):
    """The review was decided before (by someone else, or by an earlier click)."""

    code = "review_closed"


class Conflict(InputError):
    code = "conflict"


class CurrencyChanged(Conflict):
    """A known order sent again in another currency (``ledger.orders.upsert_order``): refused,
    nothing of it recorded."""

    code = "currency_changed"


class UnreadableRecord(Conflict):
    """A stored row the request needs cannot be read (edited by hand, cut short by a partial
    restore): nothing is recorded and no money moves on a guess; a person repairs the row."""

    code = "unreadable_record"


class NotFound(RefundsError):
    code = "not_found"


class ProviderError(RefundsError):
    code = "provider_error"
    retryable = False


class RetryableProviderError(ProviderError):
    retryable = True


class FinalProviderError(ProviderError):
    retryable = False
