"""Whether the money an insight shows moved: in a dry-run shop (no provider keys) the dry-run
provider "pays" every refund and credit, and no money moves. The insights then say so, in the
finance pages' words: "dry run (no money moved)"."""

from __future__ import annotations

from sqlalchemy import Connection, literal, select

from refunds_plugin.finance.rows import DRYRUN_PROVIDER
from refunds_plugin.insights.period import Period
from refunds_plugin.ledger.tables import refund_attempts, return_figures

WORDS = "dry run (no money moved)"


def dry_run(conn: Connection, p: Period) -> bool:
    """Whether any return decided in the period had its money "paid" by the dry-run provider."""
    a = refund_attempts.c
    return bool(conn.execute(select(literal(1)).select_from(refund_attempts.join(
        return_figures, return_figures.c.decision_id == a.decision_id))
        .where(return_figures.c.at >= p.start, return_figures.c.at < p.end,
               a.provider == DRYRUN_PROVIDER).limit(1)).first())
