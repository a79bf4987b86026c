"""A decision's review: opened when the policy (or the ledger's own guard) sends a decision to a
person, and re-opened when a payout fails after a person approved it. One row per decision.

Its own module because both ``decisions`` (a REVIEW outcome) and ``attempts`` (a payout that
failed or whose outcome is unknown) open reviews, and ``decisions`` writes the attempts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select, update

from refunds_plugin.domain.decision import Decision
from refunds_plugin.errors import NotFound, ReviewClosed
from refunds_plugin.ledger.journal import Entry, append_entries, append_entry, insert_ignore
from refunds_plugin.ledger.line_index import index_adjusted, mark_decision
from refunds_plugin.ledger.tables import reviews
from refunds_plugin.money import Money

if TYPE_CHECKING:  # attempts opens reviews through this module
    from refunds_plugin.ledger.attempts import AttemptRow


def open_review(conn: Connection, decision_id: str, reason: str, now: datetime,
                attempt: Any = None) -> None:
    """Open the decision's review, or re-open it when it was decided before (one row per
    decision): a payout that fails after an approval goes back to a person. An open review
    that says Saleor refunded part of ``attempt`` (``SHORT``), which has since failed or whose
    outcome is unknown, is re-opened with ``reason`` and what that means for the part."""
    told = _after_short(reason, attempt)
    stale, reason = told != reason, told
    if insert_ignore(
        conn,
        reviews,
        {"decision_id": decision_id, "status": "open", "reason": reason, "opened_at": now},
    ):
        append_entry(conn, "review_opened", decision_id, {"reason": reason}, now)
        return
    reopened = conn.execute(
        update(reviews)
        .where(reviews.c.decision_id == decision_id, reviews.c.status != "open")
        .values(
            status="open", reason=reason, opened_at=now, decided_by=None, decided_at=None,
            note=None,
        )
    ).rowcount
    if reopened == 0 and stale:
        reopened = conn.execute(  # the open review's refund_short words are no longer true
            update(reviews)
            .where(reviews.c.decision_id == decision_id, reviews.c.status == "open",
                   reviews.c.reason.like(SHORT_CODE + "%"))
            .values(reason=reason, opened_at=now)
        ).rowcount
    if reopened == 1:
        mark_decision(conn, decision_id)
        append_entry(
            conn, "review_reopened", decision_id, {"reason": reason, "status": "open"}, now
        )


def close_review(
    conn: Connection, decision_id: str, status: str, by: str, note: str, now: datetime
) -> None:
    """The guarded UPDATE: only an open review can be decided, and only once."""
    done = conn.execute(
        update(reviews)
        .where(reviews.c.decision_id == decision_id, reviews.c.status == "open")
        .values(status=status, decided_by=by, note=note, decided_at=now)
    ).rowcount
    if done == 1:
        mark_decision(conn, decision_id)
    else:
        exists = conn.execute(
            select(reviews.c.status).where(reviews.c.decision_id == decision_id)
        ).scalar_one_or_none()
        if exists is None:
            raise NotFound(f"decision {decision_id} has no review", code="no_review")
        raise ReviewClosed(f"the review of decision {decision_id} was already {exists}")


def record_adjustment(conn: Connection, decision_id: str, decision: Decision) -> None:
    """Keep what an admin's approval changed (``decision``, the adjusted one) on the review's
    row, where lists, exports and the customer's history read it in place of the policy's
    figures, and the return's insight rows (``index_adjusted``: the final figures). Called
    inside the approval's transaction, after ``close_review``."""
    conn.execute(
        update(reviews)
        .where(reviews.c.decision_id == decision_id)
        .values(
            adjusted_resolution=decision.resolution_summary,
            adjusted_amount=decision.amount,
            adjusted_refund_amount=decision.refund_amount,
            adjusted_credit_amount=decision.credit_amount,
        )
    )
    index_adjusted(conn, decision_id, decision.amount, sum(f.amount for f in decision.fees),
                   sum(r.bonus for r in decision.resolutions))


def adjusted_figures(change: Mapping[str, Any], decision: Mapping[str, Any]) -> dict[str, Any]:
    """The ``adjusted_*`` columns as the journal says them: the ``review_decided`` entry's
    ``adjusted`` body and the decision's body (JSON forms). A change that keeps a refund and
    a credit side by side keeps the policy's credits as they were (``intake.adjustments``), so
    the decision's credits are the credit part and the rest is refund."""
    amount, bonus = int(change["amount"]), int(change.get("bonus", 0))
    kinds = str(change["resolution"]).split("+")
    if "refund" not in kinds:
        refund = 0
    elif "credit" not in kinds:
        refund = amount
    else:
        kept = sum(int(r.get("amount", 0)) for r in decision.get("resolutions", ())
                   if r.get("kind") == "credit")
        refund = amount - kept
    return {
        "adjusted_resolution": change["resolution"],
        "adjusted_amount": amount,
        "adjusted_refund_amount": refund,
        "adjusted_credit_amount": amount + bonus - refund,
    }


ADJUSTED = ("adjusted_resolution", "adjusted_amount", "adjusted_refund_amount",
            "adjusted_credit_amount")


def review_why(trace: Iterable[Mapping[str, Any]]) -> str:
    """Why a person is asked, for finance: each reviewing rule's code, and for an abuse signal
    which signals fired with their figures, e.g. ``abuse_signal: refund_ratio: 300.00 USD of
    410.00 USD paid came back (73.2%), over 60%``. Reads a decision body's trace (JSON form)."""
    said: list[str] = []
    for result in trace:
        if result.get("verdict") != "review":
            continue
        findings = (result.get("saw") or {}).get("findings") or {}
        if not findings:  # a decision recorded before findings were kept: the signal names
            findings = dict.fromkeys((result.get("saw") or {}).get("signals") or ())
        detail = "; ".join(f"{k}: {v}" if v else k for k, v in findings.items())
        # the first reviewing rule is the decision's reason code; later ones only with figures
        if detail or not said:
            said.append(f"{result['code']}: {detail}" if detail else str(result["code"]))
    return "; ".join(dict.fromkeys(said))


def settle_review(conn: Connection, decision_id: str, by: str, note: str, now: datetime) -> bool:
    """Close the decision's open review without a person: the provider reports the payout it
    was opened for done after all, so there is nothing left to decide (journalled as
    ``review_decided`` by ``by`` with no attempts, as an approval that pays nothing)."""
    closed = conn.execute(
        update(reviews)
        .where(reviews.c.decision_id == decision_id, reviews.c.status == "open")
        .values(status="approved", decided_by=by, note=note, decided_at=now)
    ).rowcount
    if closed == 1:
        mark_decision(conn, decision_id)
        body = {"status": "approved", "decided_by": by, "note": note, "attempt_ids": []}
        append_entry(conn, "review_decided", decision_id, body, now)
    return closed == 1


SHORT_CODE = "refund_short:"
SHORT = ("refund_short: Saleor refunded {sent} of the {asked} asked; {left} was not refunded. "
         "Saleor refunds at most what is still charged on the transaction, and a refund "
         "requested on it meanwhile (by staff, say) took the rest. Check the transaction in "
         "the Saleor Dashboard and refund what the customer is still owed by hand; approving "
         "this review asks Saleor for nothing unless that refund fails.")


def note_short_refund(conn: Connection, attempt: AttemptRow, sent: int | None, now: datetime,
                      journal: list[Entry]) -> bool:
    """A refund's provider was asked for ``sent``, less than ``attempt``'s amount (Saleor
    clamped it to what was still charged): the rest reaches nobody unless a person is told, so
    the decision's review opens saying how much and why (after ``journal``'s entries, the
    attempt's own). Nothing is asked again by itself. False: nothing fell short."""
    if attempt.provider != "saleor" or attempt.kind != "refund" or sent is None \
            or not 0 < sent < attempt.amount:
        return False
    append_entries(conn, journal, now)
    journal.clear()
    cur = attempt.currency
    why = SHORT.format(sent=Money(sent, cur), asked=Money(attempt.amount, cur),
                       left=Money(attempt.amount - sent, cur))
    open_review(conn, attempt.decision_id, why, now)
    return True

# what became of a refund Saleor clamped, once it failed or its outcome is unknown
SHORT_FAILED = ("{why}. The refund Saleor had cut to {sent} of the {asked} asked did not go "
                "through: none of the {asked} was refunded.")
SHORT_UNKNOWN = ("{why}. Saleor had cut the refund to {sent} of the {asked} asked; whether "
                 "that went through is not known, and {left} was not refunded.")


def _after_short(why: str, attempt: Any) -> str:
    """``why`` for a refund Saleor clamped (``note_short_refund``), now failed or unknown: with
    what of the amount asked was refunded; any other ``why`` as it is."""
    if attempt is None or attempt.provider != "saleor" or attempt.kind != "refund" \
            or attempt.sent_amount is None or not 0 < attempt.sent_amount < attempt.amount:
        return why
    said = {"failed": SHORT_FAILED, "unknown": SHORT_UNKNOWN}.get(str(attempt.status))
    if said is None:
        return why
    cur = attempt.currency
    return said.format(why=why.rstrip(". "), sent=Money(attempt.sent_amount, cur),
                       asked=Money(attempt.amount, cur),
                       left=Money(attempt.amount - attempt.sent_amount, cur))
