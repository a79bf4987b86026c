"""Has anyone altered the record? Walk the hash chain, then hold every row up to the journal.

The chain (``ledger/chain.py``) finds an edited, deleted, inserted or reordered journal entry.
It cannot see an edit of the ``decisions`` or ``refund_attempts`` tables themselves, nor the
loss of the newest entry, so each row is also compared with what the journal says about it: a
decision with its ``decision`` entry, an attempt with the fold of its ``attempt`` entries, a
review with its ``review_opened`` / ``review_decided`` / ``review_reopened`` entries (and what
an approval changed, its ``adjusted_*`` columns, with the entry's ``adjusted`` body), an EU
withdrawal with its ``withdrawal_received`` entry, and what was paid (a payment's captured amount,
an order's total) with its newest entry (``verify_paid``). Every problem names the entry or row.

Entries not sealed into the chain yet (PostgreSQL seals each writer's entries right after its
commit, ``ledger/seal.py``) come after the sealed ones: each is still held up to the rows it
describes, and ``unsealed_entries`` says how many there are. One inside the sealed part is a
problem: an entry was inserted there.

Neither can see a rewrite that recomputes every hash after it: for that, ``chain_head`` gives the
newest entry's ``SEQ:HASH`` to keep outside the database, and ``verify_ledger(anchors=…)`` fails
unless each anchored entry still has the hash it had then (docs/finance.md, "Anchoring").
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Select, func, select

from refunds_plugin.domain.kinds import WAITING, AttemptStatus
from refunds_plugin.finance import verify_paid
from refunds_plugin.ledger import chain, seal
from refunds_plugin.ledger.db import aware
from refunds_plugin.ledger.reviews import ADJUSTED, adjusted_figures
from refunds_plugin.ledger.tables import (
    decisions,
    ledger_entries,
    refund_attempts,
    reviews,
    withdrawals,
)

DECISION_FIELDS = (
    "outcome", "reason_code", "explanation", "currency", "policy_name", "policy_hash", "kind",
    "amount", "resolution",
)  # fmt: skip
ATTEMPT_FIELDS = (
    "decision_id", "kind", "currency", "amount", "bonus", "provider", "payment_reference",
    "idempotency_key", "status", "provider_reference", "sent_amount", "credit_code",
)  # fmt: skip
UNJOURNALLED: dict[str, set[str]] = {AttemptStatus.PENDING: set(WAITING)}  # claim, release
Said = dict[str, tuple[int, dict[str, Any]]]


@dataclass(frozen=True)
class Problem:
    where: str  # "entry 12", "decisions row 3f2…", "refund_attempts row …", "reviews row 4"
    problem: str  # edited | broken_link | missing_or_reordered | row_edited | row_missing | …
    detail: str

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}: {self.detail}"


class Verdict(list[Problem]):
    """The problems found (empty: all holds), how many journal ``entries`` were read, and how
    many payments and orders were held up to their entries (``paid``; ``verify_paid``)."""

    entries: int = 0
    paid: verify_paid.Counted = verify_paid.Counted()


def _entries(conn: Connection, batch: int) -> Any:
    """Every entry in ``seq`` order: the sealed ones are the chain, those with a NULL hash wait
    for the sealer (and must all come after the sealed ones)."""
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


@dataclass(frozen=True)
class Head:
    """The chain's newest entry: its ``anchor`` is what finance keeps outside the database."""

    seq: int
    hash: str
    created_at: datetime
    entries: int  # entries up to and including this one (seq may skip a rolled-back number)

    @property
    def anchor(self) -> str:
        return f"{self.seq}:{self.hash}"

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "hash": self.hash, "created_at": self.created_at.isoformat(),
                "entries": self.entries, "anchor": self.anchor}


def chain_head(engine: Engine) -> Head | None:
    """The newest sealed entry, or None while nothing is sealed."""
    le = ledger_entries.c
    with engine.connect() as conn:
        row = conn.execute(
            select(le.seq, le.hash, le.created_at).where(le.hash.is_not(None))
            .order_by(le.seq.desc()).limit(1)
        ).first()
        if row is None:
            return None
        count = conn.execute(select(func.count()).where(le.seq <= row.seq)).scalar_one()
    created = aware(row.created_at)
    return Head(int(row.seq), row.hash, created, int(count))


def verify_ledger(
    engine: Engine, batch: int = 2000, anchors: Iterable[tuple[int, str]] = ()
) -> Verdict:
    """Every problem found, the chain's first break first, then anchors that no longer hold
    (``(seq, hash)`` pairs kept outside the database); an empty list when all holds."""
    problems = Verdict()
    said_decisions: Said = {}
    said_attempts: Said = {}
    said_reviews: Said = {}
    said_withdrawals: Said = {}
    said_paid: dict[str, Said] = {kind: {} for kind in verify_paid.KINDS}
    problems.paid = verify_paid.Counted()
    chain_ok = True

    waiting: list[int] = []  # unsealed entries; the first one a sealed entry follows
    inside: list[int] = []

    def remember(rows: Iterator[Any]) -> Iterator[tuple[int, str, str, str, str, str]]:
        for seq, entry_type, subject, body, prev_hash, digest in rows:
            problems.entries += 1
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
            elif entry_type == "withdrawal_received":
                said_withdrawals[subject] = (seq, data)
            elif entry_type == "review_reopened":  # back to open: the earlier verdict is cleared
                _, state = said_reviews.get(subject, (0, {}))
                cleared = {**state, "note": None, "decided_by": None}
                said_reviews[subject] = (seq, {**cleared, **data, "status": "open"})
            else:
                verify_paid.remember(said_paid, seq, entry_type, subject, data)
            if digest is None:
                waiting.append(seq)
                continue
            if waiting and not inside:
                inside.append(waiting[0])
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
        elif inside:
            chain_ok = False
            problems.append(Problem(
                f"entry {inside[0]}", "inserted",
                f"entry {inside[0]} has no hash but entries after it are sealed: the sealer "
                "seals in seq order, so it was inserted (or its hash erased) after them"))
        problems.extend(_check_anchors(side, anchors))
        if chain_ok:
            for table, said in zip(_TABLES, (said_decisions, said_attempts, said_reviews,
                                             said_withdrawals), strict=True):
                problems.extend(_check_rows(side, table, said, batch))
            problems.extend(Problem(*found) for found in verify_paid.check(
                side, said_paid, problems.paid, batch))
    return problems


def unsealed_entries(engine: Engine) -> int:
    """Entries written but not sealed into the chain yet (``refunds ledger seal`` seals them)."""
    return seal.unsealed(engine)


def _check_anchors(conn: Connection, anchors: Iterable[tuple[int, str]]) -> Iterator[Problem]:
    """An anchored entry must still exist with the anchored hash. With the chain holding, its
    hash vouches for every entry up to it, so a rewrite with recomputed hashes is found here."""
    wanted = sorted(set(anchors))
    if not wanted:
        return
    le = ledger_entries.c
    stored = {int(seq): digest for seq, digest in conn.execute(
        select(le.seq, le.hash).where(le.seq.in_(sorted({seq for seq, _ in wanted})))
    )}
    for seq, digest in wanted:
        where, have = f"anchor {seq}:{digest[:12]}…", stored.get(seq)
        if have is None:
            yield Problem(where, "anchor_missing",
                          f"there is no entry {seq}, but the anchor says it had hash {digest}: "
                          "entries were deleted, or the anchor is from another ledger")
        elif have != digest:
            yield Problem(where, "anchor_mismatch",
                          f"entry {seq} has hash {have} but the anchor says {digest}: "
                          f"the chain was rewritten at or before entry {seq}")


def _differences(row: dict[str, Any], said: dict[str, Any], names: tuple[str, ...]) -> list[str]:
    out = []
    for name in names:
        have, want = row.get(name), said.get(name)
        if name == "status" and have in UNJOURNALLED.get(str(want), ()):
            continue
        if have != want:
            out.append(f"{name} is {have!r} but the journal says {want!r}")
    return out


@dataclass(frozen=True)
class _Table:
    """How one table's rows are matched with, and compared to, what the journal says."""

    query: Select[Any]
    key: Callable[[Any], str]
    where: Callable[[Any], str]
    unjournalled: str
    edited: str  # "differs from entry" | "differs from its latest entry"
    diff: Callable[[Any, dict[str, Any]], list[str]]
    missing_where: Callable[[str], str]
    missing: str  # "{seq}" is the entry that records the gone row
    streamed: bool = True  # read in batches through a server-side cursor


def _check_rows(conn: Connection, t: _Table, said: Said, batch: int) -> Iterator[Problem]:
    if t.streamed:
        rows = conn.execution_options(stream_results=True, yield_per=batch).execute(t.query)
    else:
        rows = conn.execute(t.query)
    seen: set[str] = set()
    for row in rows:
        key = t.key(row)
        seen.add(key)
        if key not in said:
            yield Problem(t.where(row), "row_not_journalled", t.unjournalled)
            continue
        seq, body = said[key]
        diffs = t.diff(row, body)
        if diffs:
            yield Problem(t.where(row), "row_edited", f"{t.edited} {seq}: " + "; ".join(diffs))
    for subject, (seq, _) in sorted(said.items(), key=lambda kv: kv[1][0]):
        if subject not in seen:
            yield Problem(t.missing_where(subject), "row_missing", t.missing.format(seq=seq))


def _decision_diff(row: Any, body: dict[str, Any]) -> list[str]:
    values = {n: getattr(row, n) for n in DECISION_FIELDS}
    values["amount"] = int(values["amount"])
    diffs = _differences(values, body, DECISION_FIELDS)
    if chain.canonical(json.loads(row.body)) != chain.canonical(body):
        diffs.append("its stored body differs from the journal's")
    for name in ("refund_amount", "credit_amount"):
        want = _resolution_sum(body, "refund" if name == "refund_amount" else "credit")
        if int(getattr(row, name)) != want:
            diffs.append(f"{name} is {getattr(row, name)} but the journal says {want}")
    return diffs


def _attempt_diff(row: Any, state: dict[str, Any]) -> list[str]:
    values = {n: getattr(row, n) for n in ATTEMPT_FIELDS}
    for name in ("amount", "bonus", "sent_amount"):
        if values[name] is not None:
            values[name] = int(values[name])
    return _differences(values, state, ATTEMPT_FIELDS)


def _review_diff(row: Any, state: dict[str, Any]) -> list[str]:
    diffs = _differences(
        {"status": row.status, "note": row.note, "decided_by": row.decided_by},
        {"note": None, "decided_by": None, **state},
        ("status", "note", "decided_by"),
    )
    # what an approval changed: the row's adjusted_* columns, which lists and the customer's
    # history read in place of the decision's figures, against the entry's ``adjusted`` body
    have = {n: getattr(row, n) for n in ADJUSTED}
    for name in ADJUSTED[1:]:
        have[name] = None if have[name] is None else int(have[name])
    want: dict[str, Any] = dict.fromkeys(ADJUSTED)
    if state.get("adjusted"):
        want = adjusted_figures(state["adjusted"], json.loads(row.decision_body or "{}"))
    return diffs + _differences(have, want, ADJUSTED)


def _withdrawal_diff(row: Any, body: dict[str, Any]) -> list[str]:
    """A withdrawal's statement as stored against its entry (the time of receipt, to the
    second, and the deadline it sets)."""
    have = {"order_id": row.order_id, "name": row.name, "email": row.email,
            "lines": json.loads(row.lines), "whole_order": bool(row.whole_order),
            "in_period": bool(row.in_period),
            **{n: _stamp(getattr(row, n)) for n in ("received_at", "legal_deadline")}}
    return _differences(have, body, tuple(have))


def _stamp(value: datetime | None) -> str | None:
    found = aware(value)
    return found.isoformat(timespec="seconds") if found is not None else None


_TABLES = (  # in the order verify_ledger checks them
    _Table(
        query=select(decisions).order_by(decisions.c.created_at, decisions.c.id),
        key=lambda r: r.id,
        where=lambda r: f"decisions row {r.id} (order {r.order_id})",
        unjournalled="no 'decision' entry records this decision",
        edited="differs from entry",
        diff=_decision_diff,
        missing_where=lambda s: f"decisions row {s}",
        missing="entry {seq} records it; it is gone",
    ),
    _Table(
        query=select(refund_attempts).order_by(refund_attempts.c.created_at, refund_attempts.c.id),
        key=lambda r: r.id,
        where=lambda r: f"refund_attempts row {r.id}",
        unjournalled="no 'attempt' entry records this attempt",
        edited="differs from its latest entry",
        diff=_attempt_diff,
        missing_where=lambda s: f"refund_attempts row {s}",
        missing="entry {seq} records it; gone",
    ),
    _Table(
        query=select(reviews, decisions.c.body.label("decision_body"))
        .outerjoin(decisions, decisions.c.id == reviews.c.decision_id)
        .order_by(reviews.c.id),
        key=lambda r: r.decision_id,
        where=lambda r: f"reviews row {r.id} (decision {r.decision_id})",
        unjournalled="no 'review_opened' entry records it",
        edited="differs from its latest entry",
        diff=_review_diff,
        missing_where=lambda s: f"reviews row for decision {s}",
        missing="entry {seq} records it",
        streamed=False,
    ),
    _Table(
        query=select(withdrawals).order_by(withdrawals.c.received_at, withdrawals.c.id),
        key=lambda r: r.id,
        where=lambda r: f"withdrawals row {r.id} (order {r.order_id})",
        unjournalled="no 'withdrawal_received' entry records this withdrawal",
        edited="differs from entry",
        diff=_withdrawal_diff,
        missing_where=lambda s: f"withdrawals row {s}",
        missing="entry {seq} records it; it is gone",
    ),
)


def _resolution_sum(body: dict[str, Any], kind: str) -> int:
    total = 0
    for res in body.get("resolutions", ()):
        if res.get("kind") == kind:
            bonus = int(res.get("bonus", 0)) if kind == "credit" else 0
            total += int(res.get("amount", 0)) + bonus
    return total
