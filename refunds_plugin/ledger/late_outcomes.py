"""A refund the provider completes after its attempt was marked failed.

A Saleor grant that failed can be requested again by a merchant in the Dashboard, and then
succeed: the money went back after all. The attempt moves from failed to succeeded (journalled,
naming what saw it), and the money is counted once:

- a retry attempt (``retry_of``) still pending is canceled: it would pay the same refund again;
- a retry already handed to the provider holds the refund itself (it re-requested the same
  grant, or will be told REFUND_ALREADY_PROCESSED), so the failed attempt stays failed and the
  retry settles;
- the review the failure opened is closed: nothing is left to decide.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

from sqlalchemy import Connection, select

from refunds_plugin.domain.kinds import AttemptStatus
from refunds_plugin.ledger.attempts import AttemptRow, transition
from refunds_plugin.ledger.reviews import open_review, settle_review
from refunds_plugin.ledger.tables import ledger_entries, refund_attempts

log = logging.getLogger("refunds.ledger")


def _retries(conn: Connection, attempt: AttemptRow) -> list[AttemptRow] | str:
    """The attempts created to replace ``attempt`` (their journal's ``retry_of``); or why
    they cannot be known (a journal entry that may name one cannot be read)."""
    le, ra = ledger_entries.c, refund_attempts.c
    ids = []
    for e in conn.execute(
        select(le.seq, le.subject_id, le.body).where(
            le.entry_type == "attempt", le.body.like('%"retry_of"%'),
            le.subject_id.in_(select(ra.id).where(ra.decision_id == attempt.decision_id)),
        )
    ):
        try:
            named = json.loads(e.body).get("retry_of")
        except (ValueError, AttributeError) as exc:
            kind = "not valid JSON" if isinstance(exc, ValueError) else "JSON of the wrong shape"
            return (f"journal entry {e.seq} (of attempt {e.subject_id}) cannot be read "
                    f"({kind}), so its retries cannot be known")
        if named == attempt.id:
            ids.append(e.subject_id)
    rows = conn.execute(select(refund_attempts).where(ra.id.in_(ids)).order_by(ra.seq))
    return [AttemptRow.from_row(r) for r in rows]


def succeeded_after_failure(
    conn: Connection, attempt: AttemptRow, reference: str, now: datetime, said: str
) -> list[str]:
    """``attempt`` failed, and the provider now reports its refund ``reference`` succeeded
    (``said``: what reported it, for the journal). Returns notes for the event's row."""
    retries = _retries(conn, attempt)
    if isinstance(retries, str):  # nothing settled or canceled on a guess: a person looks
        why = (f"late_outcome: the provider reports the refund of failed attempt {attempt.id} "
               f"succeeded ({said}), but {retries}; check whether a retry paid it too")
        log.error("attempt %s stays failed: %s", attempt.id, why,
                  extra={"attempt_id": attempt.id, "decision_id": attempt.decision_id})
        open_review(conn, attempt.decision_id, why[:1000], now)
        return [f"attempt {attempt.id} stays failed: {retries}; a person must look"]
    if any(r.status not in (AttemptStatus.PENDING, AttemptStatus.FAILED,
                            AttemptStatus.CANCELED) for r in retries):
        return [f"attempt {attempt.id} stays failed: its retry holds the refund"]
    notes = []
    for r in retries:
        if r.status == AttemptStatus.PENDING and transition(
            conn, r.id, AttemptStatus.CANCELED, now, expect=(AttemptStatus.PENDING,),
            note=f"the refund of attempt {attempt.id} it replaces succeeded: {said}",
        ):
            notes.append(f"retry {r.id} canceled")
    if not transition(
        conn, attempt.id, AttemptStatus.SUCCEEDED, now, expect=(AttemptStatus.FAILED,),
        provider_reference=reference,
        note=f"succeeded after the attempt had failed: {said}",
    ):
        return notes
    settle_review(conn, attempt.decision_id, "saleor",
                  f"the refund succeeded after it had failed ({said}); nothing to pay again",
                  now)
    return [f"attempt {attempt.id} succeeded after it had failed", *notes]
