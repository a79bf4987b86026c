"""What really moved for a decision, read from its attempts (what each provider answered), as
finance's decision page says it apart from what the customer was told when it was decided: a
decision made in the dry run and approved by a person after the shop went live moved real
money, whatever its first answer said. Money Stripe moved in its test mode (a test key: the
attempt's ``livemode`` is false) says so: no real money moved. An attempt whose mode is not known
(written before revision 0025) reads as it always did."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from refunds_plugin.domain.kinds import AttemptStatus, paid_out
from refunds_plugin.finance.rows import DRYRUN_PROVIDER
from refunds_plugin.language.catalogue import english
from refunds_plugin.ledger.exchange_dues import DIFFERENCE, ORIGINAL_DUE, refund_of

_NOT_YET = (AttemptStatus.PENDING, AttemptStatus.IN_PROGRESS, AttemptStatus.HELD)
TEST_MODE_WORDS = "in test mode: no real money moved"
UNREADABLE = "instruction_unreadable:"  # ``execution.executor.UNREADABLE``'s last_error


def _one(a: Mapping[str, Any]) -> str:
    # a credit's bonus is given too; a refund Saleor clamped, what it was asked for
    total = paid_out(a["kind"], a["amount"], a.get("sent_amount")) + int(a.get("bonus") or 0)
    amount, status, provider = english(total, a["currency"]), a["status"], a["provider"]
    if provider == DRYRUN_PROVIDER:
        return f"{amount} to the dry run (no money moved)"
    test = a.get("livemode") is False  # Stripe's test mode; None: not known, said as before
    if status == AttemptStatus.SUCCEEDED:
        done = "refunded" if a["kind"] == "refund" else "given as store credit"
        return (f"{amount} {done} through {provider}" + given_back(a)
                + (f" {TEST_MODE_WORDS}" if test else ""))
    if status == AttemptStatus.SENT:
        mode, after = (" in test mode", ": no real money moves") if test else ("", "")
        return f"{amount} sent to {provider}{mode}, not confirmed yet{after}"
    if status == AttemptStatus.UNKNOWN:
        return f"{amount} unknown: {_why_unknown(provider, a.get('last_error') or '')}"
    if status in _NOT_YET:
        return f"{amount} not moved yet ({status.replace('_', ' ')})"
    return f"{amount} {status}: nothing moved"  # failed, canceled


# a refund attempt that gives back a payment made for an exchange (``exchange_dues.refund_of``)
GIVEN_BACK = {ORIGINAL_DUE: "the payment for the original not returned, given back",
              DIFFERENCE: "the payment for the exchange's price difference, given back"}


def given_back(a: Mapping[str, Any]) -> str:
    """`` (…given back: no refund of the sale)`` for an attempt giving back a payment made for
    an exchange, retries included; empty for the sale's own (and an attempt without a seq)."""
    of = GIVEN_BACK.get(refund_of(int(a.get("seq") or 0)))
    return f" ({of}: no refund of the sale)" if of else ""


def _why_unknown(provider: str, error: str) -> str:
    """What made an attempt's outcome unknown, by its ``last_error``: the executor's tries out
    (``gave up after N tries: …``), Saleor giving up on a request of its amount without saying
    whose (``saleor.events.UNCLEAR``), or its stored instruction unreadable after a try."""
    tries = re.match(r"gave up after (\d+) tries", error)
    if tries:
        return f"{provider} never answered clearly in {tries[1]} tries, it may have moved"
    if error.startswith("Saleor gave up on a "):
        return (f"{provider} gave up on a refund request of this amount without saying "
                "whether it was this one, it may have moved")
    if error.startswith(UNREADABLE):
        return ("its stored instruction cannot be read and an earlier try may have sent it, "
                "it may have moved")
    return f"{provider} gave no clear answer, it may have moved"


def moved(attempts: Iterable[Mapping[str, Any]]) -> str:
    """One line: each attempt's money as its provider left it (``400.00 EUR refunded through
    stripe``, or in Stripe's test mode ``400.00 EUR refunded through stripe in test mode: no
    real money moved``), in the order written; ``nothing`` when no money was to move."""
    return "; ".join(_one(a) for a in attempts) or "nothing"


def decided_without_money(facts: Mapping[str, Any],
                          attempts: Iterable[Mapping[str, Any]]) -> str | None:
    """Why no money could move when the decision was made, so its answer said test mode:
    ``the dry run`` (an attempt of its went there), ``a dry run or a Stripe test key`` (its
    stored facts say no money could move, ``can_charge`` false, and not which of the two);
    None when money could move."""
    if any(a["provider"] == DRYRUN_PROVIDER for a in attempts):
        return "the dry run"
    if facts.get("can_charge") is False:
        return "a dry run or a Stripe test key"
    return None
