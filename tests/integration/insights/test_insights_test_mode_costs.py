"""What returns cost leaves out what Stripe "paid" in its test mode (a test key: the attempt's
``livemode`` is false): no real money moved, so it is neither refunded, store credit nor bonus,
nor in money out; it is a term of its own, "Stripe test mode (no real money moved)", like the
dry run. An attempt whose mode is not known (before revision 0025) counts as paid, as before.
Figures from the hand-made history (``tests/fakes/insights_history.py``)."""

from __future__ import annotations

import csv
import io
from typing import Any

from click.testing import CliRunner
from sqlalchemy import update

from refunds_plugin.cli import main
from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.tables import refund_attempts
from tests.fakes import Harness
from tests.fakes.insights_history import History
from tests.integration.insights.test_insights_figures import PERIOD, get

SOME = ("Partly Stripe test mode: some refunds and store credit of this period were made with a "
        "Stripe test key and never really paid (no real money moved for them); they are under "
        "Stripe test mode, not in refunded, store credit or money out, nor in the money "
        "returned per product.")


def _modes(h: Harness, history: History, modes: dict[str, bool | None]) -> None:
    """Each return's attempts in the mode given, as Stripe would have answered them."""
    with write_tx(h.runtime.engine) as conn:
        for return_id, livemode in modes.items():
            conn.execute(update(refund_attempts)
                         .where(refund_attempts.c.decision_id == history.decisions[return_id])
                         .values(livemode=livemode))


def _terms(doc: dict[str, Any]) -> dict[str, tuple[int, int | None]]:
    return {r["term"]: (r["amount"], r["share_of_sales_bp"]) for r in doc["rows"]}


def test_refunds_and_credit_stripe_paid_in_test_mode_are_no_money_out(
    shop: tuple[Harness, History],
) -> None:
    h, history = shop
    # ann's refund (50.00) and bob's credit (45.00 + 4.50 bonus) in test mode; cid's refund
    # (7.20) from before revision 0025: its mode is not known, so it counts as paid
    _modes(h, history, {"r-1": False, "r-2": False, "r-3": None})

    doc = get(h, f"/api/insights/costs?{PERIOD}")

    assert _terms(doc) == {
        "refunded": (720, 263),  # cid's sock only
        "credited": (0, 0),
        "bonus": (0, 0),
        "fees": (580, 212),
        "kept": (800, 292),
        "labels": (0, 0),
        "dry_run": (0, 0),
        "test_mode": (9950, 3631),  # 50.00 + 45.00 + 4.50, of 274.00 sales
        "exchanged": (0, 0),
        "exchange_charged": (0, 0),
        "exchange_waived": (0, 0),
        "money_out": (720, 263),
    }
    assert [r["words"] for r in doc["rows"] if r["term"] == "test_mode"] == [
        "Stripe test mode (no real money moved)"]
    assert (doc["test_mode_share"], doc["test_mode_notice"]) == ("some", SOME)
    table = list(csv.DictReader(io.StringIO(get(h, f"/api/insights/costs?{PERIOD}&format=csv"))))
    assert [(r["term"], r["amount"], r["amount_decimal"]) for r in table
            if r["term"] in ("refunded", "test_mode", "money_out")] == [
        ("refunded", "720", "7.20"), ("test_mode", "9950", "99.50"),
        ("money_out", "720", "7.20")]
    html = get(h, f"/finance/insights/costs?{PERIOD}")
    assert f'<p class="notice" id="test-mode">{SOME}</p>' in html
    assert ('<td data-label="What">Stripe test mode (no real money moved)</td>'
            '<td data-label="Amount" class="num">99.50 USD</td>') in html
    out = CliRunner().invoke(main, ["insights", "costs", "--since", "2026-05-01", "--until",
                                    "2026-06-15"], env={"REFUNDS_DATABASE_URL": h.db_url})
    assert out.exit_code == 0, out.output
    assert out.output.splitlines()[1] == SOME


def test_live_refunds_and_credit_are_money_out(shop: tuple[Harness, History]) -> None:
    h, history = shop
    _modes(h, history, {"r-1": True, "r-2": True, "r-3": True})

    got = _terms(get(h, f"/api/insights/costs?{PERIOD}"))

    assert {k: got[k] for k in ("refunded", "credited", "bonus", "test_mode", "money_out")} == {
        "refunded": (5720, 2088), "credited": (4500, 1642), "bonus": (450, 164),
        "test_mode": (0, 0), "money_out": (10670, 3894)}
