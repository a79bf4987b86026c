"""Which refund attempts a later one replaced (its journal entry's ``retry_of``): a read of the
journal alone, apart from ``attempt_reads`` so that ``notify`` (which ``ledger.attempts``
imports) can ask it without an import cycle."""

from __future__ import annotations

import json

from sqlalchemy import Connection, select

from refunds_plugin.ledger.tables import ledger_entries


def replaced_attempts(conn: Connection, attempt_ids: list[str]) -> set[str]:
    """The attempts that ``attempt_ids`` were created to replace (their journal's ``retry_of``)."""
    le = ledger_entries.c
    bodies = conn.execute(
        select(le.body).where(
            le.entry_type == "attempt",
            le.subject_id.in_(attempt_ids),
            le.body.like('%"retry_of"%'),
        )
    ).scalars()
    return {str(found) for body in bodies if (found := json.loads(body).get("retry_of"))}
