"""Whether the money an insight shows moved: in a dry-run shop (no provider keys) the dry-run
provider "pays" every refund and credit, and no money moves. The insights then say so, in the
finance pages' words: "dry run (no money moved)"."""

from __future__ import annotations

from sqlalchemy import Connection, literal, select

from refunds_plugin.finance.rows import DRYRUN_PROVIDER
from refunds_plugin.insights.period import Period
from refunds_plugin.ledger.tables import refund_attempts, return_figures

WORDS = "dry run (no money moved)"
# the notice above an insight's figures, by ``dry_share``
NOTICES = {
    "all": "Dry run (no money moved): every refund and store credit of this period went to the "
           "dry run and was never paid; the amounts are what would have been paid.",
    "some": "Partly a dry run: some refunds and store credit of this period went to the dry run "
            "and were never paid (no money moved for them); the rest went to a payment "
            "provider.",
}


def _any(conn: Connection, p: Period, dry: bool) -> bool:
    a = refund_attempts.c
    which = a.provider == DRYRUN_PROVIDER if dry else a.provider != DRYRUN_PROVIDER
    return bool(conn.execute(select(literal(1)).select_from(refund_attempts.join(
        return_figures, return_figures.c.decision_id == a.decision_id))
        .where(return_figures.c.at >= p.start, return_figures.c.at < p.end, which)
        .limit(1)).first())


def dry_run(conn: Connection, p: Period) -> bool:
    """Whether any return decided in the period had its money "paid" by the dry-run provider."""
    return _any(conn, p, dry=True)


def dry_share(conn: Connection, p: Period) -> str:
    """How much of the period's money went to the dry run, by the decisions themselves (not by
    today's keys): ``all`` of it, ``some`` (other money went to a provider), or ``none``."""
    if not _any(conn, p, dry=True):
        return "none"
    return "some" if _any(conn, p, dry=False) else "all"
