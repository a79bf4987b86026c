"""Money returned per product leaves out what Stripe paid in its test mode (a test key: a
succeeded attempt's ``livemode`` is false), as the costs' terms do: a shirt refunded live is
money returned, the same shirt refunded in test mode is not; it is under "Stripe test mode"
beside it, per SKU, per product, for a reason, in the costs per product, on the pages, in the
CSV and the commands, from the indexed rows while its day is marked and from the rollups once
folded. An attempt Stripe settles in test mode marks its return's day for the folder.
Figures from the hand-made history (``tests/fakes/insights_history.py``): r-1 refunds one
SHIRT (50.00, not as described), r-2 gives store credit for another (45.00 + 4.50 bonus after a
5.00 fee, changed mind: the line's value is 50.00), r-3 refunds a SOCK that is kept (7.20)."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from typing import Any

from click.testing import CliRunner
from sqlalchemy import update

from refunds_plugin.cli import main
from refunds_plugin.ledger import fold as folding
from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.line_index import mark_decision
from refunds_plugin.ledger.tables import insight_marks, refund_attempts
from tests.fakes import Clock, Harness, order_paid, return_requested
from tests.fakes.insights_history import History
from tests.fakes.stripe_api import FakeStripeServer
from tests.integration.insights.test_insights_figures import PERIOD, get

SOME_REASONS = ("Partly Stripe test mode: some refunds and store credit of this period were made "
                "with a Stripe test key and never really paid (no real money moved for them); "
                "they are not in the money returned, but under Stripe test mode beside it.")
SOME_COSTS = ("Partly Stripe test mode: some refunds and store credit of this period were made "
              "with a Stripe test key and never really paid (no real money moved for them); "
              "they are under Stripe test mode, not in refunded, store credit or money out, nor "
              "in the money returned per product.")


def _in_test_mode(h: Harness, decision_id: str) -> None:
    """The return's attempts as Stripe answers a test key's refund: ``livemode`` false, its
    day marked for the folder (what ``attempts.transition`` does then)."""
    with write_tx(h.runtime.engine) as conn:
        conn.execute(update(refund_attempts)
                     .where(refund_attempts.c.decision_id == decision_id).values(livemode=False))
        mark_decision(conn, decision_id)


def _fold(h: Harness) -> None:
    while folding.fold(h.runtime.engine):
        pass
    assert h.count(insight_marks) == 0


def _money(rows: list[dict[str, Any]]) -> dict[str, tuple[int, int, int]]:
    """key -> (money returned, of it kept, Stripe test mode)."""
    return {r["key"]: (r["money_returned"], r["money_kept"], r["money_test_mode"]) for r in rows}


def _figures(h: Harness) -> dict[str, Any]:
    reasons = get(h, f"/api/insights/reasons?{PERIOD}")
    costs = get(h, f"/api/insights/costs?{PERIOD}")
    return {
        "sku": _money(reasons["rows"]),
        "product": _money(get(h, f"/api/insights/reasons?{PERIOD}&by=product")["rows"]),
        "not_as_described": _money(get(
            h, f"/api/insights/reasons?{PERIOD}&reason=not_as_described")["rows"]),
        "changed_mind": _money(get(
            h, f"/api/insights/reasons?{PERIOD}&reason=changed_mind")["rows"]),
        "by_product": {r["key"]: (r["money_returned"], r["money_kept"], r["money_test_mode"],
                                  r["share_of_sales_bp"]) for r in costs["by_product"]},
        "terms": {r["term"]: r["amount"] for r in costs["rows"] if r["amount"]},
        "notices": (reasons["test_mode_notice"], costs["test_mode_notice"]),
    }


def test_a_shirt_refunded_in_test_mode_is_no_money_returned_and_one_refunded_live_is(
    shop: tuple[Harness, History],
) -> None:
    h, history = shop
    _fold(h)
    _in_test_mode(h, history.decisions["r-1"])  # ann's shirt; bob's (r-2) was paid live

    right = {
        # 50.00 of bob's shirt returned; ann's 50.00 apart, in test mode
        "sku": {"SHIRT": (5000, 0, 5000), "SOCK": (800, 800, 0), "MUG": (0, 0, 0)},
        "product": {"p-shirt": (5000, 0, 5000), "p-sock": (800, 800, 0), "p-mug": (0, 0, 0)},
        # a reason picks the keys it brought back; their money is the key's
        "not_as_described": {"SHIRT": (5000, 0, 5000)},
        "changed_mind": {"SHIRT": (5000, 0, 5000)},
        # 50.00 of 150.00 shirt sales
        "by_product": {"SHIRT": (5000, 0, 5000, 3333), "SOCK": (800, 800, 0, 3333),
                       "MUG": (0, 0, 0, 0)},
        "terms": {"refunded": 720, "credited": 4500, "bonus": 450, "fees": 580, "kept": 800,
                  "test_mode": 5000, "money_out": 5670},
        "notices": (SOME_REASONS, SOME_COSTS),
    }
    assert h.count(insight_marks) == 1  # its day: read from the indexed rows
    assert _figures(h) == right
    _fold(h)
    assert _figures(h) == right  # from the rollups

    page = get(h, f"/finance/insights/reasons?{PERIOD}")
    assert f'<p class="notice" id="test-mode">{SOME_REASONS}</p>' in page
    assert ('<th class="num">Money returned</th>'
            '<th class="num">Stripe test mode (no real money moved)</th>') in page
    assert ('<td data-label="Money returned" class="num">50.00 USD</td>'
            '<td data-label="Stripe test mode" class="num">50.00 USD</td>') in page
    assert ("A return Stripe refunded or credited in its test mode (a test key) is not in it: "
            "no real money moved") in page
    page = get(h, f"/finance/insights/costs?{PERIOD}")
    assert f'<p class="notice" id="test-mode">{SOME_COSTS}</p>' in page
    assert ('<td data-label="Money returned" class="num">50.00 USD</td>'
            '<td data-label="Items kept" class="num">0.00 USD</td>'
            '<td data-label="Share of order value" class="num">33.33 %</td>'
            '<td data-label="Stripe test mode" class="num">50.00 USD</td>') in page
    table = list(csv.DictReader(io.StringIO(get(h, f"/api/insights/reasons?{PERIOD}&format=csv"))))
    assert [(r["key"], r["money_returned_decimal"], r["money_test_mode"],
             r["money_test_mode_decimal"]) for r in table] == [
        ("SHIRT", "50.00", "5000", "50.00"), ("SOCK", "8.00", "0", "0.00"),
        ("MUG", "0.00", "0", "0.00")]
    env = {"REFUNDS_DATABASE_URL": h.db_url}
    span = ["--since", "2026-05-01", "--until", "2026-06-15"]
    out = CliRunner().invoke(main, ["insights", "reasons", *span], env=env)
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[1] == SOME_REASONS
    at = lines[2].index("MONEY BACK")  # the columns after it, apart by two spaces or more
    assert [re.split(r"\s{2,}", ln[at:]) for ln in lines[2:4]] == [
        ["MONEY BACK", "STRIPE TEST MODE", "REASONS (units asked)"],
        ["50.00 USD", "50.00 USD", "not_as_described 1, changed_mind 2"]]
    out = CliRunner().invoke(main, ["insights", "costs", *span], env=env)
    assert out.exit_code == 0, out.output
    shirt = out.output.splitlines()[out.output.splitlines().index("per product:") + 2]
    assert shirt.split() == ["SHIRT", "USD", "150.00", "USD", "50.00", "USD", "0.00", "USD",
                             "33.33", "%", "50.00", "USD"]


def test_both_shirts_refunded_live_are_money_returned(shop: tuple[Harness, History]) -> None:
    h, _ = shop
    _fold(h)

    got = _figures(h)

    assert (got["sku"]["SHIRT"], got["by_product"]["SHIRT"], got["notices"]) == (
        (10000, 0, 0), (10000, 0, 0, 6667), (None, None))
    page = get(h, f"/finance/insights/reasons?{PERIOD}")
    assert "Stripe test mode (no real money moved)" not in page  # no column for none


def test_stripe_settling_a_refund_in_test_mode_marks_its_day_for_the_folder(
    sqlite_url: str, stripe_server: FakeStripeServer,
) -> None:
    clock = Clock(datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
    h = Harness(sqlite_url, clock, stripe_server.url, settings={"stripe_api_key": "sk_test_fake"})
    try:
        stripe_server.fake.add_payment_intent(5500, "usd", "pi_123")
        h.post_storefront(order_paid())
        h.post_storefront(return_requested())
        _fold(h)  # folded while the refund waits: it counts as money returned
        period = "since=2026-11-01&until=2026-11-30"
        [mug] = get(h, f"/api/insights/reasons?{period}")["rows"]
        assert (mug["money_returned"], mug["money_test_mode"]) == (2500, 0)

        h.drain()  # Stripe refunds it with the test key: livemode false

        assert h.count(insight_marks) == 1
        for _ in ("marked", "folded"):
            [mug] = get(h, f"/api/insights/reasons?{period}")["rows"]
            assert (mug["key"], mug["money_returned"], mug["money_test_mode"]) == (
                "MUG-1", 0, 2500)
            _fold(h)
    finally:
        h.close()
