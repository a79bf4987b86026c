"""Has anyone altered the record? Walk the hash chain, then hold every row up to the journal.

The chain (chain.py) finds an edited, deleted, inserted or reordered journal entry. It cannot
see an edit of the ``decisions`` or ``refund_attempts`` tables themselves, nor the loss of the
newest entry, so each row is also compared with what the journal says about it: a decision with
its ``decision`` entry, an attempt with the fold of its ``attempt`` entries, a review with its
``review_opened`` / ``review_decided`` / ``review_reopened`` entries. Every problem names the
entry or row.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, select

from refunds_plugin import chain
from refunds_plugin.tables import decisions, ledger_entries, refund_attempts, reviews

DECISION_FIELDS = (
    "outcome", "reason_code", "explanation", "currency", "policy_name", "policy_hash", "kind",
    "amount", "resolution",
)  # fmt: skip
ATTEMPT_FIELDS = (
    "decision_id", "kind", "currency", "amount", "bonus", "provider", "payment_reference",
    "idempotency_key", "status", "provider_reference", "sent_amount", "credit_code",
)  # fmt: skip
UNJOURNALLED = {"pending": {"pending", "in_progress"}}  # claim/release are not journalled


@dataclass(frozen=True)
class Problem:
    where: str  # "entry 12", "decisions row 3f2…", "refund_attempts row …", "reviews row 4"
    problem: str  # edited | broken_link | missing_or_reordered | row_edited | row_missing | …
    detail: str

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}: {self.detail}"


def _entries(conn: Connection, batch: int) -> Any:
    return conn.execution_options(stream_results=True, yield_per=batch).execute(
        select(
            ledger_entries.c.seq,
            ledger_entries.c.entry_type,
            ledger_entries.c.subject_id,
            ledger_entries.c.body,
            ledger_entries.c.prev_hash,
            ledger_entries.c.hash,
        ).order_by(ledger_entries.c.seq)
    )


def verify_ledger(engine: Engine, batch: int = 2000) -> list[Problem]:
    """Every problem found, the chain's first break first; an empty list when all holds."""
    problems: list[Problem] = []
    said_decisions: dict[str, tuple[int, dict[str, Any]]] = {}
    said_attempts: dict[str, tuple[int, dict[str, Any]]] = {}
    said_reviews: dict[str, tuple[int, dict[str, Any]]] = {}
    chain_ok = True

    def remember(rows: Iterator[Any]) -> Iterator[tuple[int, str, str, str, str, str]]:
        for seq, entry_type, subject, body, prev_hash, digest in rows:
            data = json.loads(body)
            if entry_type == "decision":
                said_decisions[subject] = (seq, data.get("decision", {}))
            elif entry_type == "attempt":
                _, state = said_attempts.get(subject, (0, {}))
                said_attempts[subject] = (seq, {**state, **data})
            elif entry_type in ("review_opened", "review_decided"):
                _, state = said_reviews.get(subject, (0, {}))
                status = data.get("status", "open")
                said_reviews[subject] = (seq, {**state, **data, "status": status})
            elif entry_type == "review_reopened":  # back to open: the earlier verdict is cleared
                _, state = said_reviews.get(subject, (0, {}))
                cleared = {**state, "note": None, "decided_by": None}
                said_reviews[subject] = (seq, {**cleared, **data, "status": "open"})
            yield seq, entry_type, subject, body, prev_hash, digest

    with engine.connect() as conn, engine.connect() as side:
        entries = _entries(conn, batch)
        try:
            broken = chain.verify(remember(iter(entries)))
        finally:
            entries.close()  # the walk may stop at the first break: free the server cursor
        if broken is not None:
            chain_ok = False
            problems.append(Problem(f"entry {broken.seq}", broken.problem, broken.detail))
        if chain_ok:
            problems.extend(_check_decisions(side, said_decisions, batch))
            problems.extend(_check_attempts(side, said_attempts, batch))
            problems.extend(_check_reviews(side, said_reviews))
    return problems


def _differences(row: dict[str, Any], said: dict[str, Any], names: tuple[str, ...]) -> list[str]:
    out = []
    for name in names:
        have, want = row.get(name), said.get(name)
        if name == "status" and have in UNJOURNALLED.get(str(want), ()):
            continue
        if have != want:
            out.append(f"{name} is {have!r} but the journal says {want!r}")
    return out


def _check_decisions(
    conn: Connection, said: dict[str, tuple[int, dict[str, Any]]], batch: int
) -> Iterator[Problem]:
    seen: set[str] = set()
    query = select(decisions).order_by(decisions.c.created_at, decisions.c.id)
    for row in conn.execution_options(stream_results=True, yield_per=batch).execute(query):
        seen.add(row.id)
        where = f"decisions row {row.id} (order {row.order_id})"
        if row.id not in said:
            yield Problem(where, "row_not_journalled", "no 'decision' entry records this decision")
            continue
        seq, body = said[row.id]
        values = {n: getattr(row, n) for n in DECISION_FIELDS}
        values["amount"] = int(values["amount"])
        diffs = _differences(values, body, DECISION_FIELDS)
        if chain.canonical(json.loads(row.body)) != chain.canonical(body):
            diffs.append("its stored body differs from the journal's")
        for name in ("refund_amount", "credit_amount"):
            want = _resolution_sum(body, "refund" if name == "refund_amount" else "credit")
            if int(getattr(row, name)) != want:
                diffs.append(f"{name} is {getattr(row, name)} but the journal says {want}")
        if diffs:
            yield Problem(where, "row_edited", f"differs from entry {seq}: " + "; ".join(diffs))
    for subject, (seq, _) in sorted(said.items(), key=lambda kv: kv[1][0]):
        if subject not in seen:
            yield Problem(
                f"decisions row {subject}", "row_missing", f"entry {seq} records it; it is gone"
            )


def _resolution_sum(body: dict[str, Any], kind: str) -> int:
    total = 0
    for res in body.get("resolutions", ()):
        if res.get("kind") == kind:
            bonus = int(res.get("bonus", 0)) if kind == "credit" else 0
            total += int(res.get("amount", 0)) + bonus
    return total


def _check_attempts(
    conn: Connection, said: dict[str, tuple[int, dict[str, Any]]], batch: int
) -> Iterator[Problem]:
    seen: set[str] = set()
    query = select(refund_attempts).order_by(refund_attempts.c.created_at, refund_attempts.c.id)
    for row in conn.execution_options(stream_results=True, yield_per=batch).execute(query):
        seen.add(row.id)
        where = f"refund_attempts row {row.id}"
        if row.id not in said:
            yield Problem(where, "row_not_journalled", "no 'attempt' entry records this attempt")
            continue
        seq, state = said[row.id]
        values = {n: getattr(row, n) for n in ATTEMPT_FIELDS}
        for name in ("amount", "bonus", "sent_amount"):
            if values[name] is not None:
                values[name] = int(values[name])
        diffs = _differences(values, state, ATTEMPT_FIELDS)
        if diffs:
            yield Problem(
                where, "row_edited", f"differs from its latest entry {seq}: " + "; ".join(diffs)
            )
    for subject, (seq, _) in sorted(said.items(), key=lambda kv: kv[1][0]):
        if subject not in seen:
            yield Problem(
                f"refund_attempts row {subject}", "row_missing", f"entry {seq} records it; gone"
            )


def _check_reviews(
    conn: Connection, said: dict[str, tuple[int, dict[str, Any]]]
) -> Iterator[Problem]:
    seen: set[str] = set()
    for row in conn.execute(select(reviews).order_by(reviews.c.id)):
        seen.add(row.decision_id)
        where = f"reviews row {row.id} (decision {row.decision_id})"
        if row.decision_id not in said:
            yield Problem(where, "row_not_journalled", "no 'review_opened' entry records it")
            continue
        seq, state = said[row.decision_id]
        diffs = _differences(
            {"status": row.status, "note": row.note, "decided_by": row.decided_by},
            {"note": None, "decided_by": None, **state},
            ("status", "note", "decided_by"),
        )
        if diffs:
            yield Problem(
                where, "row_edited", f"differs from its latest entry {seq}: " + "; ".join(diffs)
            )
    for subject, (seq, _) in sorted(said.items(), key=lambda kv: kv[1][0]):
        if subject not in seen:
            yield Problem(
                f"reviews row for decision {subject}", "row_missing", f"entry {seq} records it"
            )
