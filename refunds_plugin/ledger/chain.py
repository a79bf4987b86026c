"""The tamper-evident chain: each ledger entry's hash covers its body and the previous hash.

``hash = sha256(prev_hash + "\\n" + entry_type + "\\n" + subject_id + "\\n" + canonical body)``.
Editing, deleting or reordering any entry breaks every hash after it, and ``verify`` names the
first entry where the chain no longer holds. A rewrite that recomputes every later hash is a
consistent chain again: only an anchor kept outside the database finds it
(``finance.verify.chain_head``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


def canonical(body: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace, UTF-8 kept."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(prev_hash: str, entry_type: str, subject_id: str, body_json: str) -> str:
    material = "\n".join((prev_hash, entry_type, subject_id, body_json)).encode("utf-8")
    return hashlib.sha256(material).hexdigest()


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    problem: str  # "edited" | "broken_link" | "missing_or_reordered" | "unsealed"
    detail: str


def verify(rows: Iterable[tuple[int, str, str, str, str, str]]) -> ChainProblem | None:
    """Walk ``(seq, entry_type, subject_id, body, prev_hash, hash)`` rows in seq order.

    Returns the first problem, or None when the whole chain holds.
    """
    expected_prev = GENESIS
    last_seq = 0
    for seq, entry_type, subject_id, body, prev_hash, stored_hash in rows:
        if prev_hash is None:  # written, not sealed into the chain yet: nothing to walk past
            return ChainProblem(seq, "unsealed", f"entry {seq} is not sealed into the chain yet")
        if prev_hash != expected_prev:
            why = "missing_or_reordered" if seq != last_seq + 1 else "broken_link"
            return ChainProblem(
                seq,
                why,
                f"entry {seq} points back to {prev_hash[:12]}… but the entry before it "
                f"(seq {last_seq}) has hash {expected_prev[:12]}…: an entry was deleted, "
                "inserted or reordered here",
            )
        if entry_hash(prev_hash, entry_type, subject_id, body) != stored_hash:
            return ChainProblem(
                seq,
                "edited",
                f"entry {seq} ({entry_type} {subject_id}) does not match its hash: "
                "its content was edited after it was written",
            )
        expected_prev = stored_hash
        last_seq = seq
    return None
