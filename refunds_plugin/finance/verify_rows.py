"""``verify``'s check of the rows: each journalled row held up to what its entries say.

``verify_ledger`` reads the journal once, in ``seq`` order, into a ``Journal`` (the newest state
of each decision, attempt, review and withdrawal, and when each decision and attempt was first
journalled); then each table is read and every column an entry records is compared, naming the
row and both values. A row no entry records is ``row_not_journalled``; an entry whose row is gone
is ``row_missing``. Rows that belong to a decision but have no entry of their own (its return
lines, exchange, exchange due and return shipment) are held to the decision's entry: they must
name a journalled decision and its order. docs/finance.md lists what is compared and what not.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, Table, select

from refunds_plugin.domain.kinds import WAITING, AttemptStatus
from refunds_plugin.ledger import chain
from refunds_plugin.ledger.db import aware
from refunds_plugin.ledger.reviews import ADJUSTED, adjusted_figures
from refunds_plugin.ledger.tables import (
    decisions,
    exchange_dues,
    exchanges,
    refund_attempts,
    return_lines,
    return_shipments,
    reviews,
    withdrawals,
)

DECISION_FIELDS = (
    "outcome", "reason_code", "explanation", "currency", "policy_name", "policy_hash", "kind",
    "amount", "resolution",
)  # fmt: skip
# what the ``decision`` entry records beside the decision itself; the customer and the time
# only in entries written since they were added (an older entry is held to what it has)
DECISION_ENTRY_FIELDS = ("order_id", "request_key")
SINCE_ADDED = ("customer_id", "customer_email")
ATTEMPT_FIELDS = (
    "decision_id", "kind", "currency", "amount", "bonus", "provider", "payment_reference",
    "idempotency_key", "status", "provider_reference", "sent_amount", "credit_code",
)  # fmt: skip
UNJOURNALLED: dict[str, set[str]] = {AttemptStatus.PENDING: set(WAITING)}  # claim, release
Said = dict[str, tuple[int, dict[str, Any]]]
Found = tuple[str, str, str]  # where, problem, detail (``verify.Problem``'s fields)


@dataclass
class Journal:
    """What the journal says about the rows, gathered entry by entry (``remember``)."""

    decisions: Said = field(default_factory=dict)  # the whole ``decision`` entry body
    attempts: Said = field(default_factory=dict)  # the fold of its ``attempt`` entries
    reviews: Said = field(default_factory=dict)
    withdrawals: Said = field(default_factory=dict)
    # when: "decision <id>" and "attempt <id>" first journalled, "review <id> opened_at" and
    # "review <id> decided_at" by their latest entries
    times: dict[str, datetime] = field(default_factory=dict)
    problems: list[Found] = field(default_factory=list)  # entries at odds with themselves

    def remember(self, seq: int, entry_type: str, subject: str, data: dict[str, Any],
                 at: datetime) -> bool:
        """Take one entry; False when it describes none of these tables. A ``decision`` entry
        whose stored time differs from the time its body records is a problem."""
        if entry_type == "decision":
            self.decisions[subject] = (seq, data)
            self.times.setdefault(f"decision {subject}", at)
            said = _when(data.get("created_at"))
            if said is not None and said != aware(at):
                self.problems.append((f"entry {seq}", "edited", f"entry {seq} (decision "
                                      f"{subject}) has created_at {_shown(at)} but its body "
                                      f"says {_shown(said)}"))
        elif entry_type == "attempt":
            _, state = self.attempts.get(subject, (0, {}))
            self.attempts[subject] = (seq, {**state, **data})
            self.times.setdefault(f"attempt {subject}", at)
        elif entry_type in ("review_opened", "review_decided"):
            _, state = self.reviews.get(subject, (0, {}))
            status = data.get("status", "open")
            self.reviews[subject] = (seq, {**state, **data, "status": status})
            self._review_at(subject, entry_type, at)
        elif entry_type == "withdrawal_received":
            self.withdrawals[subject] = (seq, data)
        elif entry_type == "review_reopened":  # back to open: the earlier verdict is cleared
            _, state = self.reviews.get(subject, (0, {}))
            cleared = {**state, "note": None, "decided_by": None}
            self.reviews[subject] = (seq, {**cleared, **data, "status": "open"})
            self._review_at(subject, entry_type, at)
        else:
            return False
        return True

    def _review_at(self, subject: str, entry_type: str, at: datetime) -> None:
        """A review's ``opened_at`` and ``decided_at`` are the times of its entries: opened or
        re-opened (which clears the decision's time), decided."""
        if entry_type == "review_decided":
            self.times[f"review {subject} decided_at"] = at
        else:
            self.times[f"review {subject} opened_at"] = at
            self.times.pop(f"review {subject} decided_at", None)


def check(conn: Connection, journal: Journal, batch: int) -> Iterator[Found]:
    """Every table's rows against the journal, in the order of ``_TABLES``, then the rows
    held to their decision's entry."""
    for table in _TABLES:
        yield from _check_rows(conn, table, journal, batch)
    for spec in _BELONGING:
        yield from _belonging(conn, spec, journal, batch)


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return aware(datetime.fromisoformat(value))
    except ValueError:
        return None


def _shown(value: datetime | None) -> str:
    return "None" if value is None else aware(value).isoformat()


def _differences(row: dict[str, Any], said: dict[str, Any], names: tuple[str, ...]) -> list[str]:
    out = []
    for name in names:
        have, want = row.get(name), said.get(name)
        if name == "status" and have in UNJOURNALLED.get(str(want), ()):
            continue
        if have != want:
            out.append(f"{name} is {have!r} but the journal says {want!r}")
    return out


def _time_differs(name: str, have: datetime | None, want: datetime | None, where: str
                  ) -> list[str]:
    if want is None or (have is not None and aware(have) == aware(want)):
        return []
    return [f"{name} is {_shown(have)} but {where} says {_shown(want)}"]


@dataclass(frozen=True)
class _Table:
    """How one table's rows are matched with, and compared to, what the journal says."""

    query: Select[Any]
    said: Callable[[Journal], Said]
    key: Callable[[Any], str]
    where: Callable[[Any], str]
    unjournalled: str
    edited: str  # "differs from entry" | "differs from its latest entry"
    diff: Callable[[Any, dict[str, Any], Journal], list[str]]
    missing_where: Callable[[str], str]
    missing: str  # "{seq}" is the entry that records the gone row
    streamed: bool = True  # read in batches through a server-side cursor


def _rows(conn: Connection, query: Any, batch: int, streamed: bool = True) -> Any:
    if streamed:
        return conn.execution_options(stream_results=True, yield_per=batch).execute(query)
    return conn.execute(query)


def _check_rows(conn: Connection, t: _Table, journal: Journal, batch: int) -> Iterator[Found]:
    said = t.said(journal)
    seen: set[str] = set()
    for row in _rows(conn, t.query, batch, t.streamed):
        key = t.key(row)
        seen.add(key)
        if key not in said:
            yield t.where(row), "row_not_journalled", t.unjournalled
            continue
        seq, body = said[key]
        diffs = t.diff(row, body, journal)
        if diffs:
            yield t.where(row), "row_edited", f"{t.edited} {seq}: " + "; ".join(diffs)
    for subject, (seq, _) in sorted(said.items(), key=lambda kv: kv[1][0]):
        if subject not in seen:
            yield t.missing_where(subject), "row_missing", t.missing.format(seq=seq)


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _decision_diff(row: Any, entry: dict[str, Any], journal: Journal) -> list[str]:
    body = _object(entry.get("decision"))
    values = {n: getattr(row, n) for n in DECISION_FIELDS}
    values["amount"] = int(values["amount"])
    diffs = _differences(values, body, DECISION_FIELDS)
    try:
        stored = chain.canonical(json.loads(row.body))
    except ValueError:
        stored = None
    if stored != chain.canonical(body):
        diffs.append("its stored body differs from the journal's")
    for name in ("refund_amount", "credit_amount"):
        want = _resolution_sum(body, "refund" if name == "refund_amount" else "credit")
        if int(getattr(row, name)) != want:
            diffs.append(f"{name} is {getattr(row, name)} but the journal says {want}")
    recorded = DECISION_ENTRY_FIELDS + tuple(n for n in SINCE_ADDED if n in entry)
    diffs += _differences({n: getattr(row, n) for n in recorded}, entry, recorded)
    # the time its body records (the entry's own time is held to it, ``Journal.remember``),
    # or in an older entry, the time the entry was stored
    said = _when(entry.get("created_at"))
    diffs += (_time_differs("created_at", row.created_at, said, "the journal") if said else
              _time_differs("created_at", row.created_at,
                            journal.times.get(f"decision {row.id}"), "its entry's created_at"))
    return diffs


def _attempt_diff(row: Any, state: dict[str, Any], journal: Journal) -> list[str]:
    # livemode: journalled since revision 0025, when the provider answered in a mode
    names = ATTEMPT_FIELDS + tuple(n for n in ("order_id", *SINCE_ADDED, "livemode")
                                   if n in state)
    values = {n: getattr(row, n) for n in names}
    for name in ("amount", "bonus", "sent_amount"):
        if values[name] is not None:
            values[name] = int(values[name])
    diffs = _differences(values, state, names)
    # an older attempt entry names no order: its decision's entry does
    decided = None if "order_id" in state else journal.decisions.get(str(state.get("decision_id")))
    if decided is not None and row.order_id != decided[1].get("order_id"):
        diffs.append(f"order_id is {row.order_id!r} but its decision's entry {decided[0]} "
                     f"says {decided[1].get('order_id')!r}")
    diffs += _time_differs("created_at", row.created_at,
                           journal.times.get(f"attempt {row.id}"), "its first entry")
    return diffs


def _review_diff(row: Any, state: dict[str, Any], journal: Journal) -> list[str]:
    names = ("status", "note", "decided_by", *(("reason",) if "reason" in state else ()))
    diffs = _differences({n: getattr(row, n) for n in names},
                         {"note": None, "decided_by": None, **state}, names)
    for name in ("opened_at", "decided_at"):
        at, when = getattr(row, name), journal.times.get(f"review {row.decision_id} {name}")
        if (at is None) != (when is None) or (when is not None and aware(at) != aware(when)):
            diffs.append(f"{name} is {_shown(at)} but its entry says {_shown(when)}")
    # what an approval changed: the row's adjusted_* columns, which lists and the customer's
    # history read in place of the decision's figures, against the entry's ``adjusted`` body
    have = {n: getattr(row, n) for n in ADJUSTED}
    for name in ADJUSTED[1:]:
        have[name] = None if have[name] is None else int(have[name])
    want: dict[str, Any] = dict.fromkeys(ADJUSTED)
    if state.get("adjusted"):
        try:
            decided = json.loads(row.decision_body or "{}")
        except ValueError:
            decided = {}
        want = adjusted_figures(state["adjusted"], decided)
    return diffs + _differences(have, want, ADJUSTED)


def _withdrawal_diff(row: Any, body: dict[str, Any], _journal: Journal) -> list[str]:
    """A withdrawal's statement as stored against its entry (the time of receipt, to the
    second, and the deadline it sets)."""
    try:
        lines = json.loads(row.lines)
    except ValueError:
        lines = row.lines
    have = {"order_id": row.order_id, "name": row.name, "email": row.email,
            "lines": lines, "whole_order": bool(row.whole_order),
            "in_period": bool(row.in_period),
            **{n: _stamp(getattr(row, n)) for n in ("received_at", "legal_deadline")}}
    return _differences(have, body, tuple(have))


def _stamp(value: datetime | None) -> str | None:
    found = aware(value)
    return found.isoformat(timespec="seconds") if found is not None else None


_TABLES = (  # in the order verify_ledger checks them
    _Table(
        query=select(decisions).order_by(decisions.c.created_at, decisions.c.id),
        said=lambda j: j.decisions,
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
        said=lambda j: j.attempts,
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
        said=lambda j: j.reviews,
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
        said=lambda j: j.withdrawals,
        key=lambda r: r.id,
        where=lambda r: f"withdrawals row {r.id} (order {r.order_id})",
        unjournalled="no 'withdrawal_received' entry records this withdrawal",
        edited="differs from entry",
        diff=_withdrawal_diff,
        missing_where=lambda s: f"withdrawals row {s}",
        missing="entry {seq} records it; it is gone",
    ),
)


@dataclass(frozen=True)
class _Belonging:
    """A table whose rows belong to a decision: each names a journalled decision and its order
    (the decision's entry records the order; the rows' other columns are not journalled)."""

    table: Table
    where: Callable[[Any], str]


_BELONGING = (
    _Belonging(return_lines, lambda r: f"return_lines row {r.decision_id}/{r.line_id}"),
    _Belonging(exchanges, lambda r: f"exchanges row {r.decision_id}"),
    _Belonging(exchange_dues, lambda r: f"exchange_dues row {r.decision_id}"),
    _Belonging(return_shipments, lambda r: f"return_shipments row {r.decision_id}"),
)


def _belonging(conn: Connection, spec: _Belonging, journal: Journal, batch: int
               ) -> Iterator[Found]:
    c = spec.table.c
    keys = [c.decision_id] + ([c.line_id] if "line_id" in c else [])
    query = select(*keys, c.order_id).order_by(*keys)
    for row in _rows(conn, query, batch):
        decided = journal.decisions.get(row.decision_id)
        if decided is None:
            yield (spec.where(row), "row_not_journalled",
                   f"no 'decision' entry records its decision {row.decision_id}")
        elif row.order_id != decided[1].get("order_id"):
            yield (spec.where(row), "row_edited",
                   f"order_id is {row.order_id!r} but its decision's entry {decided[0]} says "
                   f"{decided[1].get('order_id')!r}")


def _resolution_sum(body: dict[str, Any], kind: str) -> int:
    total = 0
    for res in body.get("resolutions", ()) if isinstance(body.get("resolutions"), list) else ():
        if isinstance(res, dict) and res.get("kind") == kind:
            bonus = int(res.get("bonus", 0)) if kind == "credit" else 0
            total += int(res.get("amount", 0)) + bonus
    return total
