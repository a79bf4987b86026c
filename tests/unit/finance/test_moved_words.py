""""Money moved" in words for each attempt as its provider left it: money Stripe moved in its
test mode (``livemode`` false) says no real money moved; an attempt whose mode is not known
(written before revision 0025) and a live one read as they always did."""

from __future__ import annotations

from typing import Any

from refunds_plugin.finance.moved import moved


def attempt(kind: str, status: str, livemode: bool | None, bonus: int = 0) -> dict[str, Any]:
    return {"kind": kind, "status": status, "provider": "stripe", "amount": 2500,
            "bonus": bonus, "currency": "EUR", "livemode": livemode}


def test_stripe_test_mode_says_no_real_money_moved_and_live_or_unknown_as_before() -> None:
    assert moved([attempt("refund", "succeeded", False),
                  attempt("credit", "succeeded", False, bonus=250),
                  attempt("refund", "sent", False)]) == (
        "25.00 EUR refunded through stripe in test mode: no real money moved; "
        "27.50 EUR given as store credit through stripe in test mode: no real money moved; "
        "25.00 EUR sent to stripe in test mode, not confirmed yet: no real money moves")
    assert moved([attempt("refund", "succeeded", True), attempt("refund", "succeeded", None),
                  attempt("refund", "sent", None)]) == (
        "25.00 EUR refunded through stripe; 25.00 EUR refunded through stripe; "
        "25.00 EUR sent to stripe, not confirmed yet")


def test_an_unknown_outcome_says_why_by_its_last_error() -> None:
    """``unknown`` is said as what made it so: tries that never got a clear answer, Saleor
    giving up on a request of this amount without saying whose (it did answer), or a stored
    instruction that cannot be read; never "never answered" where the provider did."""
    def unknown(provider: str, error: str) -> dict[str, Any]:
        return {**attempt("refund", "unknown", None), "provider": provider, "last_error": error}

    assert moved([unknown("stripe", "gave up after 20 tries: provider_timeout: read timed out"),
                  unknown("saleor", "Saleor gave up on a 25.00 EUR refund request on this "
                                    "transaction without saying which: this one, or another"),
                  unknown("stripe", "instruction_unreadable: not sent: bad JSON; an earlier "
                                    "try may have paid, check the provider")]) == (
        "25.00 EUR unknown: stripe never answered clearly in 20 tries, it may have moved; "
        "25.00 EUR unknown: saleor gave up on a refund request of this amount without saying "
        "whether it was this one, it may have moved; "
        "25.00 EUR unknown: its stored instruction cannot be read and an earlier try may have "
        "sent it, it may have moved")
