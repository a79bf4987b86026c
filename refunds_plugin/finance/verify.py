"""Has anyone altered the record? Walk the hash chain, then hold every row up to the journal.

The chain (``ledger/chain.py``) finds an edited, deleted, inserted or reordered journal entry.
It cannot see an edit of the ``decisions`` or ``refund_attempts`` tables themselves, nor the
loss of the newest entry, so each row is also compared with what the journal says about it,
column by column (``verify_rows``: decisions, attempts, reviews, withdrawals, and the rows that
belong to a decision) and what was paid (a payment's captured amount, an order's total) with its
newest entry (``verify_paid``). Every problem names the entry or row. An entry whose body is
not a JSON object is ``edited`` there, never a crash.

Entries not sealed into the chain yet (PostgreSQL seals each writer's entries right after its
commit, ``ledger/seal.py``) come after the sealed ones: each is still held up to the rows it
describes, and ``unsealed_entries`` says how many there are. One inside the sealed part is a
problem: an entry was inserted there. The sealer records the newest entry it sealed
(``ledger_seal``): one at or below that record without a hash had its seal erased
(``seal_erased``), and the recorded entry must still have the recorded hash (``seal_mismatch``).

Neither can see a rewrite that recomputes every hash after it and the seal record: for that,
``chain_head`` gives the newest entry's ``SEQ:HASH`` to keep outside the database, and
``verify_ledger(anchors=…)`` fails unless each anchored entry still has the hash it had then
(docs/finance.md, "Anchoring").
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from refunds_plugin.finance import verify_paid, verify_rows
from refunds_plugin.ledger import chain, seal
from refunds_plugin.ledger.db import aware
from refunds_plugin.ledger.tables import ledger_entries, ledger_seal

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
            ledger_entries.c.created_at,
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
    journal = verify_rows.Journal()
    said_paid: dict[str, Said] = {kind: {} for kind in verify_paid.KINDS}
    problems.paid = verify_paid.Counted()
    malformed: list[Problem] = []  # bodies that are no JSON object (named if the chain holds)

    waiting: list[int] = []  # unsealed entries; the first one a sealed entry follows
    inside: list[int] = []

    def remember(rows: Iterator[Any]) -> Iterator[tuple[int, str, str, str, str, str]]:
        for seq, entry_type, subject, body, prev_hash, digest, at in rows:
            problems.entries += 1
            data = _object(body)
            if data is None:
                malformed.append(Problem(
                    f"entry {seq}", "edited", f"entry {seq} ({entry_type} {subject}) has a "
                    "body that is not a JSON object: its content was edited after it was "
                    "written"))
            elif not journal.remember(seq, entry_type, subject, data, at):
                verify_paid.remember(said_paid, seq, entry_type, subject, data)
            if digest is None:
                waiting.append(seq)
                continue
            if waiting and not inside:
                inside.append(waiting[0])
            yield seq, entry_type, subject, body, prev_hash, digest

    with engine.connect() as conn, engine.connect() as side:
        # the seal record before the entries: whatever it says is sealed, the entries read
        # after it show sealed (a round that commits in between only seals more)
        recorded = side.execute(select(ledger_seal.c.seq, ledger_seal.c.hash)).first()
        entries = _entries(conn, batch)
        try:
            broken = chain.verify(remember(iter(entries)))
        finally:
            entries.close()  # the walk may stop at the first break: free the server cursor
        chain_ok = broken is None and not inside and not malformed
        if broken is not None:
            problems.append(Problem(f"entry {broken.seq}", broken.problem, broken.detail))
        elif inside:
            problems.append(Problem(
                f"entry {inside[0]}", "inserted",
                f"entry {inside[0]} has no hash but entries after it are sealed: the sealer "
                "seals in seq order, so it was inserted (or its hash erased) after them"))
        elif malformed:
            problems.append(malformed[0])
        if recorded is not None and broken is None:
            problems.extend(_check_seal(side, int(recorded.seq), recorded.hash, waiting))
        problems.extend(Problem(*found) for found in journal.problems)
        problems.extend(_check_anchors(side, anchors))
        if chain_ok:
            problems.extend(Problem(*found) for found in verify_rows.check(side, journal, batch))
            problems.extend(Problem(*found) for found in verify_paid.check(
                side, said_paid, problems.paid, batch))
    return problems


def _object(body: str) -> dict[str, Any] | None:
    """An entry's body as the JSON object every writer stores; None for anything else."""
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _check_seal(conn: Connection, through: int, digest: str, waiting: list[int]
                ) -> Iterator[Problem]:
    """The sealer's record (``ledger_seal``) against the chain: the entries up to it were
    sealed, so one of them without a hash had its seal erased, and the recorded entry must
    still be there with the recorded hash (else the newest entries were deleted or rewritten)."""
    erased = [seq for seq in waiting if seq <= through]
    if erased:
        yield Problem(f"entry {erased[0]}", "seal_erased",
                      f"entry {erased[0]} has no hash, but the sealer recorded the chain sealed "
                      f"through entry {through}: its seal was erased "
                      f"({len(erased)} entr{'y' if len(erased) == 1 else 'ies'} un-sealed)")
    le = ledger_entries.c
    have = conn.execute(select(le.hash).where(le.seq == through)).first()
    where = f"seal record {through}:{digest[:12]}…"
    if have is None:
        yield Problem(where, "seal_mismatch",
                      f"the sealer recorded entry {through} sealed with hash {digest}, but "
                      "there is no such entry: the newest entries were deleted")
    elif have.hash is not None and have.hash != digest:
        yield Problem(where, "seal_mismatch",
                      f"the sealer recorded entry {through} sealed with hash {digest}, but it "
                      f"has hash {have.hash}: the chain was rewritten at or before it")


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
