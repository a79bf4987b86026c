"""One decision as finance sees it: the export columns, the row built from a ``decisions`` row,
its attempts' statuses and its review, and the one-word money status. A refused attempt that a
review's approval replaced with a new one (journalled as ``retry_of``) no longer speaks for the
decision: its replacement does. An attempt the dry-run provider "carried out" moved no money, so
its status reads ``dry_run``, never ``succeeded``; one Stripe carried out in its test mode (a test
key: the attempt's ``livemode`` is false) moved no real money, so it reads ``test_mode``. A
decision sent to review keeps its outcome
``review`` (that is what the policy said); the review's result sits beside it. Its resolution
and amounts are what was finally decided: an admin's change on approval (the review's
``adjusted_*`` columns) replaces the policy's figures, and ``adjusted`` says what they were.
``granted_refund_amount`` and ``granted_credit_amount`` are the money given (or to be paid):
those final figures when the return was granted (by the policy, or approved by a person), 0
for a review declined (also one re-opened after the policy's approval) or still open. They are
the columns to sum; what moved is the attempts' (``money_status``), even when a person
declined after money was paid."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, select

from refunds_plugin.domain.decision import Exchange
from refunds_plugin.domain.kinds import DRY_RUN as DRY_RUN
from refunds_plugin.domain.kinds import DRYRUN_PROVIDER as DRYRUN_PROVIDER
from refunds_plugin.domain.kinds import TEST_MODE as TEST_MODE
from refunds_plugin.domain.kinds import WAITING, AttemptStatus, Outcome, ResolutionKind
from refunds_plugin.domain.kinds import shown_status as shown_status
from refunds_plugin.errors import InputError
from refunds_plugin.finance import amounts
from refunds_plugin.ledger.attempt_reads import silent_attempts
from refunds_plugin.ledger.db import aware, iso_time
from refunds_plugin.ledger.reviews import review_why
from refunds_plugin.ledger.tables import refund_attempts, reviews
from refunds_plugin.money import Money
from refunds_plugin.notify.stored import UNREADABLE

UNREADABLE_WORD = "unreadable"  # ``exchange`` of a decision whose stored body cannot be read


EXPORT_COLUMNS = [
    "id",
    "created_at",
    "order_id",
    "request_key",
    "kind",
    "outcome",
    "resolution",
    "currency",
    "amount",
    "refund_amount",
    "credit_amount",
    "amount_text",
    "reason_code",
    "review_reason",
    "policy_name",
    "policy_hash",
    "customer_id",
    "customer_email",
    "money_status",
    "explanation",
    # added later, after the original columns so older readers keep their positions
    "review_status",  # "" (never reviewed) | open | approved | declined
    "review_decided_by",
    "review_decided_at",
    "credit_bonus",  # store credit on top of the amount (the policy's bonus)
    "total_text",  # what the customer gets: the amount plus any credit bonus, formatted
    "adjusted",  # "" or what the policy had said, when an admin's approval changed it
    "exchange",  # "" or how an exchange's price difference was settled (none, refund, charge…)
]
# the money given: the final figures of a granted return, 0 for a review declined or open
GRANTED = ("granted_refund_amount", "granted_credit_amount")  # credit with its bonus
# the money columns in minor units; a CSV adds each in major units after all the others
# (``amount_decimal``…), where a spreadsheet reads it as a number
_FIRST_MONEY = ("amount", "refund_amount", "credit_amount", "credit_bonus")
DECISION_MONEY = (*_FIRST_MONEY, *GRANTED)
# the granted columns came later: in a CSV after every earlier column, so none of those moves
CSV_COLUMNS = [*amounts.columns(EXPORT_COLUMNS, _FIRST_MONEY), *amounts.columns(GRANTED, GRANTED)]


def plain(row: dict[str, Any]) -> dict[str, Any]:
    """A row for JSON and CSV: every time as ``iso_time`` (one form in every list and export)."""
    return {k: iso_time(v) if isinstance(v, datetime) else v for k, v in row.items()}


def parse_when(value: str | datetime | None) -> datetime | None:
    """An aware datetime in UTC from ISO 8601 text (a date alone is its midnight); naive means
    UTC. Another offset is the same moment in UTC: SQLite compares times without their offset."""
    if not value:
        return None
    if isinstance(value, datetime):
        return _utc(aware(value))
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = datetime.combine(date.fromisoformat(value), datetime.min.time())
    return _utc(aware(parsed))


def _utc(at: datetime) -> datetime:
    """``at`` in UTC; a moment before the first or after the last that Python holds in UTC
    (``0001-01-01T00:00+05:00``) is that first or last one: nothing is recorded beyond them."""
    try:
        return at.astimezone(UTC)
    except OverflowError:
        return (datetime.min if at.year == 1 else datetime.max).replace(tzinfo=UTC)


DATE_HINT = "an ISO 8601 date such as 2026-11-01 or a datetime such as 2026-11-01T10:00:00Z"


def parse_param(name: str, value: str | None) -> datetime | None:
    """``parse_when`` for a query parameter: text that is no date is a 400 naming ``name``."""
    try:
        return parse_when(value)
    except ValueError:
        raise InputError(f"{name}: expected {DATE_HINT}, found {value!r}",
                         code="invalid_parameter") from None


def bounds(filters: Mapping[str, str]) -> tuple[datetime | None, datetime | None]:
    """The ``since`` and ``until`` filters; a period that ends before it starts (From and Until
    swapped) is refused as the summary refuses it, never read as an empty list."""
    since = parse_param("since", filters.get("since"))
    until = parse_param("until", filters.get("until"))
    if since and until and since >= until:
        raise InputError(f"until: the period must end after it starts (since {since.isoformat()}"
                         f", until {until.isoformat()})", code="invalid_parameter")
    return since, until


# The enumerated filters and what they may be: any other value is a 400 naming the parameter
# (an HTML page on /finance), never a quietly empty list.
_SHOWN_STATUSES = (*(s.value for s in AttemptStatus), DRY_RUN, TEST_MODE)
DECISION_CHOICES: dict[str, tuple[str, ...]] = {
    "outcome": tuple(o.value for o in Outcome),
    "resolution": ("refund", "credit", "credit+refund", "none"),
    "status": ("none", *_SHOWN_STATUSES, "mixed"),  # money_status's words
    "exchange": ("yes", "no"),  # sales kept: decisions that swap items, or the others
}
ATTEMPT_CHOICES: dict[str, tuple[str, ...]] = {
    "status": _SHOWN_STATUSES,
    "kind": tuple(k.value for k in ResolutionKind),
    "provider": ("stripe", "saleor", DRYRUN_PROVIDER),
}


def check_choices(filters: Mapping[str, str], choices: Mapping[str, tuple[str, ...]]) -> None:
    """Raise ``InputError`` (``invalid_parameter``) for the first filter outside its values."""
    for name, allowed in choices.items():
        value = (filters.get(name) or "").strip()
        if value and value not in allowed:
            raise InputError(f"{name}: expected one of {', '.join(allowed)}, found {value!r}",
                             code="invalid_parameter")


def money_status(statuses: list[str]) -> str:
    """One word for where a decision's money is: none, pending, sent, succeeded, dry_run (the
    dry-run provider: no money moved), test_mode (Stripe's test mode: no real money moved),
    unknown (the provider never answered: it may have paid), failed, mixed."""
    if not statuses:
        return "none"
    unique = set(statuses)
    if len(unique) == 1:
        return statuses[0]
    if AttemptStatus.UNKNOWN in unique:  # before failed: money that may have moved needs a look
        return AttemptStatus.UNKNOWN
    if AttemptStatus.FAILED in unique:
        return AttemptStatus.FAILED
    return AttemptStatus.PENDING if unique.intersection(WAITING) else "mixed"


def final_figures(dec: Any, review: Any = None) -> tuple[str, int, int, int]:
    """What was finally decided: (resolution, amount, refund_amount, credit_amount) of the
    ``decisions`` row, or of its review's ``adjusted_*`` columns when an admin's approval
    changed them."""
    if review is not None and getattr(review, "adjusted_amount", None) is not None:
        return (review.adjusted_resolution, int(review.adjusted_amount),
                int(review.adjusted_refund_amount), int(review.adjusted_credit_amount))
    return dec.resolution, int(dec.amount), int(dec.refund_amount), int(dec.credit_amount)


def granted(dec: Any, review: Any = None) -> bool:
    """Whether the decision gives its money (``granted_by``), given its ``reviews`` row."""
    return granted_by(dec.outcome, review.status if review is not None else None)


def granted_by(outcome: str, review_status: str | None) -> bool:
    """Whether a decision gives its money, as its latest word stands (the summary's test too):
    a person's, once they decided its review, also one re-opened after the policy approved it
    (a failed payout, a parcel that differed) and then declined; else the policy's approval. A
    review the policy sent that still waits gives none; one re-opened after the policy's
    approval leaves that approval standing until a person decides."""
    if outcome not in ("approve", "review"):
        return False
    if review_status in ("approved", "declined"):
        return review_status == "approved"
    return outcome == "approve"


def decision_row(dec: Any, statuses: list[str], review: Any = None,
                 explanation: str | None = None) -> dict[str, Any]:
    """The ``EXPORT_COLUMNS`` and ``GRANTED`` of one ``decisions`` row, given its attempts'
    statuses in order and its ``reviews`` row (or None). The resolution and amounts are what
    was finally decided (``final_figures``); ``adjusted`` then says what the policy had said;
    the ``granted_*`` amounts are what is given (``granted``); ``explanation`` as finance reads
    it (``told.exported``), else as stored."""
    resolution, amount, refund, credit = final_figures(dec, review)
    given = granted(dec, review)
    # credit_amount includes the bonus (Resolution.total); amount does not
    bonus = max(0, refund + credit - amount)
    was = ""
    if (resolution, amount, refund, credit) != final_figures(dec):
        was = f"the policy said {dec.resolution} {Money(int(dec.amount), dec.currency)}"
    decided_at = aware(review.decided_at) if review is not None else None
    return {
        "id": dec.id,
        "created_at": dec.created_at,
        "order_id": dec.order_id,
        "request_key": dec.request_key,
        "kind": dec.kind,
        "outcome": dec.outcome,
        "resolution": resolution,
        "currency": dec.currency,
        "amount": amount,
        "refund_amount": refund,
        "credit_amount": credit,
        "amount_text": str(Money(amount, dec.currency)),
        "reason_code": dec.reason_code,
        "review_reason": review_reason(dec),
        "policy_name": dec.policy_name,
        "policy_hash": dec.policy_hash,
        "customer_id": dec.customer_id,
        "customer_email": dec.customer_email,
        "money_status": money_status(statuses),
        "explanation": dec.explanation if explanation is None else explanation,
        "review_status": review.status if review is not None else "",
        "review_decided_by": (review.decided_by or "") if review is not None else "",
        "review_decided_at": decided_at.replace(microsecond=0) if decided_at else None,
        "credit_bonus": bonus,
        "total_text": str(Money(amount + bonus, dec.currency)),
        "adjusted": was,
        "exchange": exchange_said(dec.body),
        "granted_refund_amount": refund if given else 0,
        "granted_credit_amount": credit if given else 0,
    }


def not_granted(row: Mapping[str, Any]) -> str:
    """``declined`` for a row whose review a person declined (sent by the policy, or re-opened
    after its approval), for the lists to show its granted 0 with what the policy said beside
    it; "" otherwise (a review still open shows what the policy proposes, its review column
    says it waits)."""
    declined = row["outcome"] in ("review", "approve") and row["review_status"] == "declined"
    return "declined" if declined else ""


def exchange_said(body: str) -> str:
    """How the decision's exchange settled its price difference, or "" for no exchange (only
    a body that names one is parsed, so a large export parses few)."""
    return stored_exchange(body)[0]


def stored_exchange(body: str) -> tuple[str, Exchange | None]:
    """``exchange_said`` and the exchange itself (None: none, or its body unreadable), for a
    reader that also compares its items (``insights.compare``)."""
    if '"exchange":' not in body:
        return "", None
    try:
        ex = json.loads(body).get("exchange")
        found = Exchange.from_dict(ex) if ex else None
    except UNREADABLE:  # edited by hand, cut short: the decision page names the row
        return UNREADABLE_WORD, None
    return (found.settled_as, found) if found is not None else ("", None)


def review_reason(dec: Any) -> str:
    """Why a person was asked (the signal and its figures for an abuse signal); "" otherwise.
    Only a review's body is read, so a large export parses few of them."""
    if dec.outcome != "review":
        return ""
    try:
        why = review_why(json.loads(dec.body).get("trace", ()))
    except UNREADABLE:  # edited by hand, cut short: its plain reason code still says why
        why = ""
    return why or str(dec.reason_code)


def review_rows(conn: Connection, ids: list[str]) -> dict[str, Any]:
    """The ``reviews`` row of each decision in ``ids`` that was sent to a person."""
    if not ids:
        return {}
    rv = reviews.c
    found = conn.execute(
        select(rv.decision_id, rv.status, rv.decided_by, rv.decided_at, rv.adjusted_resolution,
               rv.adjusted_amount, rv.adjusted_refund_amount, rv.adjusted_credit_amount)
        .where(rv.decision_id.in_(ids))
    ).all()
    return {r.decision_id: r for r in found}


def attempt_statuses(conn: Connection, ids: list[str]) -> dict[str, list[str]]:
    """Each decision's attempt statuses, in attempt order, for the decisions ``ids``; a failed
    attempt a later one replaced is left out (the replacement's status stands for it), and so
    is a replacement canceled because the attempt it replaced succeeded late
    (``attempt_reads.silent_attempts``). A dry run's success reads ``dry_run``, one in Stripe's
    test mode ``test_mode``."""
    ra = refund_attempts.c
    rows = conn.execute(
        select(ra.decision_id, ra.id, ra.status, ra.provider, ra.livemode)
        .where(ra.decision_id.in_(ids)).order_by(ra.seq)
    ).all()
    gone = silent_attempts(conn, rows)
    out: dict[str, list[str]] = {}
    for decision_id, attempt_id, status, provider, livemode in rows:
        if attempt_id not in gone:
            out.setdefault(decision_id, []).append(shown_status(status, provider, livemode))
    return out


def attempt_providers(conn: Connection, ids: list[str]) -> dict[str, list[str]]:
    """The providers each decision in ``ids`` has attempts with (``told.exported`` reads it)."""
    ra = refund_attempts.c
    out: dict[str, list[str]] = {}
    for decision_id, provider in conn.execute(
        select(ra.decision_id, ra.provider).where(ra.decision_id.in_(ids)).distinct()
    ):
        out.setdefault(decision_id, []).append(provider)
    return out
