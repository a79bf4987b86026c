"""Whether the money an insight shows moved: in a dry-run shop (no provider keys) the dry-run
provider "pays" every refund and credit, and no money moves. The insights then say so, in the
finance pages' words: "dry run (no money moved)". A refund or credit Stripe made in its test mode
(a test key: the attempt's ``livemode`` is false) moved no real money either: the insights say
that too, "Stripe test mode (no real money moved)"; the costs keep that money out of refunded,
credited and money out, as a term of its own, and the reasons and the costs per product keep it
out of the money returned, beside it as money returned in Stripe test mode."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, literal, not_, select

from refunds_plugin.finance.rows import DRYRUN_PROVIDER
from refunds_plugin.insights.period import Period
from refunds_plugin.ledger.tables import refund_attempts, return_figures

WORDS = "dry run (no money moved)"
TEST_WORDS = "Stripe test mode (no real money moved)"
# the notice above an insight's figures, by ``dry_share``
NOTICES = {
    "all": "Dry run (no money moved): every refund and store credit of this period went to the "
           "dry run and was never paid; the amounts are what would have been paid.",
    "some": "Partly a dry run: some refunds and store credit of this period went to the dry run "
            "and were never paid (no money moved for them); the rest went to a payment "
            "provider.",
}
# the same for Stripe's test mode, by ``test_share`` (retention's: its groups count such returns)
TEST_NOTICES = {
    "all": "Stripe test mode (no real money moved): every refund and store credit of this "
           "period was made with a Stripe test key and never really paid; the amounts are what "
           "would have been paid.",
    "some": "Partly Stripe test mode: some refunds and store credit of this period were made "
            "with a Stripe test key and never really paid (no real money moved for them); the "
            "amounts count them as if paid.",
}

# the reasons' own: there Stripe's test-mode money is apart from the money returned
REASONS_TEST_NOTICES = {
    "all": "Stripe test mode (no real money moved): every refund and store credit of this "
           "period was made with a Stripe test key and never really paid; it is not in the "
           "money returned, but under Stripe test mode beside it.",
    "some": "Partly Stripe test mode: some refunds and store credit of this period were made "
            "with a Stripe test key and never really paid (no real money moved for them); they "
            "are not in the money returned, but under Stripe test mode beside it.",
}

# the costs' own: there Stripe's test-mode money is a term apart, in no total
COSTS_TEST_NOTICES = {
    "all": "Stripe test mode (no real money moved): every refund and store credit of this "
           "period was made with a Stripe test key and never really paid; it is under Stripe "
           "test mode, not in refunded, store credit or money out, nor in the money returned "
           "per product.",
    "some": "Partly Stripe test mode: some refunds and store credit of this period were made "
            "with a Stripe test key and never really paid (no real money moved for them); they "
            "are under Stripe test mode, not in refunded, store credit or money out, nor in the "
            "money returned per product.",
}


def _any(conn: Connection, p: Period, dry: bool) -> bool:
    a = refund_attempts.c
    which = a.provider == DRYRUN_PROVIDER if dry else a.provider != DRYRUN_PROVIDER
    return _found(conn, p, which)


def _found(conn: Connection, p: Period, which: Any) -> bool:
    """Whether any attempt of a return decided in the period is ``which``."""
    a = refund_attempts.c
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


def stripe_test_share(conn: Connection, p: Period) -> str:
    """How much of the period's money Stripe moved in its test mode (no real money), by the
    attempts' recorded mode: ``all``, ``some`` or ``none`` (an attempt whose mode is not known,
    before revision 0025, is not counted as test mode)."""
    test = refund_attempts.c.livemode.is_(False)
    if not _found(conn, p, test):
        return "none"
    return "some" if _found(conn, p, not_(test)) else "all"
