"""What an admin finally decided is the truth wherever it is read. A review of a 94.05 EUR refund
approved as 50.00 EUR of store credit and paid out reads as that store credit in the finance
lists, the API's pages, ``ledger list``, the export and the customer's history (which counts
no money refunded), while the ``decisions`` row keeps what the policy said. ``ledger verify``
holds the stored change up to the journal's ``adjusted`` body, so an edit of it is found; a
ledger approved with a change before revision 0005 gets its columns from the journal.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from alembic import command
from click.testing import CliRunner
from sqlalchemy import select, text

from refunds_plugin.cli import main
from refunds_plugin.domain.facts import Customer
from refunds_plugin.finance.reports import export_decisions, find_decisions, recent_decisions
from refunds_plugin.finance.verify import verify_ledger
from refunds_plugin.intake.adjustments import Adjustment
from refunds_plugin.intake.reviews import decide
from refunds_plugin.ledger.facts import customer_history
from refunds_plugin.ledger.migrate import alembic_config, migrate
from refunds_plugin.ledger.tables import decisions, reviews
from tests.fakes.shop import Shop

FINAL = {"resolution": "credit", "amount": 5000, "refund_amount": 0, "credit_amount": 5000,
         "amount_text": "50.00 EUR", "total_text": "50.00 EUR", "credit_bonus": 0,
         "adjusted": "the policy said refund 94.05 EUR", "review_status": "approved",
         "money_status": "dry_run"}


@pytest.fixture
def shop(any_db_url: str, now: datetime) -> Iterator[Shop]:
    """standard-30-day sends "other" to a person: 94.05 EUR (100.00 less return shipping),
    approved as 50.00 EUR of store credit, then paid out."""
    shop = Shop(any_db_url, now, policy="preset:standard-30-day")
    shop.order("o-7", 10000, "cy@example.com")
    answer = shop.send("return.requested", {"return": {
        "id": "r-7", "order_id": "o-7", "preferred_resolution": "refund",
        "lines": [{"line_id": "l1", "quantity": 1, "reason": "other"}],
        "requested_at": (now - timedelta(hours=1)).isoformat(),
    }})
    assert (answer["outcome"], answer["refund_amount"]) == ("review", 9405)
    decide(shop.runtime.engine, shop.runtime.service, answer["decision_id"], approve=True,
           by="Ada", note="half, as credit", now=now,
           change=Adjustment(amount=5000, to_credit=True))
    shop.pay_out()
    yield shop
    shop.runtime.engine.dispose()


def _final(row: dict[str, object]) -> dict[str, object]:
    return {k: row.get(k) for k in FINAL}


def test_lists_pages_and_ledger_list_show_the_store_credit_finally_given(shop: Shop) -> None:
    engine = shop.runtime.engine
    [row] = recent_decisions(engine)
    assert _final(row) == FINAL
    assert row["outcome"] == "review"  # what the policy said stays beside the review's result
    assert [r["id"] for r in find_decisions(engine, {"resolution": "credit"}).rows] == [row["id"]]
    assert find_decisions(engine, {"resolution": "refund"}).rows == []
    listed = CliRunner().invoke(main, ["ledger", "list"],
                                env={"REFUNDS_DATABASE_URL": str(engine.url.render_as_string(
                                    hide_password=False))})
    assert listed.exit_code == 0, listed.output
    assert "credit" in listed.output and "50.00 EUR" in listed.output
    assert "94.05" not in listed.output
    # the decision itself is untouched: its hash is in the chain
    with engine.connect() as conn:
        assert conn.execute(select(decisions.c.resolution, decisions.c.amount)).one() == (
            "refund", 9405)


def test_the_export_and_the_api_give_the_final_figures(shop: Shop) -> None:
    out = io.StringIO()
    assert export_decisions(shop.runtime.engine, out, "csv", None, None) == 1
    [row] = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert {k: row.get(k) for k in FINAL} == {k: str(v) for k, v in FINAL.items()}


def test_the_customers_history_counts_the_credit_not_a_refund(shop: Shop, now: datetime) -> None:
    with shop.runtime.engine.connect() as conn:
        history = customer_history(conn, Customer(id="cus_cy", email="cy@example.com"),
                                   now + timedelta(days=1), 90, "EUR")
    assert (history.total_refunded, history.refunds_recent_count, history.refunds_recent_amount,
            history.total_credited, history.credits_recent_count,
            history.credits_recent_amount) == (0, 0, 0, 5000, 1, 5000)


def test_verify_finds_an_edit_of_the_stored_change(shop: Shop) -> None:
    engine = shop.runtime.engine
    assert verify_ledger(engine) == []
    with engine.begin() as conn:
        conn.execute(reviews.update().values(adjusted_resolution="refund",
                                             adjusted_refund_amount=5000,
                                             adjusted_credit_amount=0))
    assert [(p.problem, p.detail.split(": ", 1)[1]) for p in verify_ledger(engine)] == [(
        "row_edited",
        "adjusted_resolution is 'refund' but the journal says 'credit'; adjusted_refund_amount "
        "is 5000 but the journal says 0; adjusted_credit_amount is 0 but the journal says 5000",
    )]
    with engine.begin() as conn:  # a change wiped from the row is found too
        conn.execute(reviews.update().values(adjusted_resolution=None, adjusted_amount=None,
                                             adjusted_refund_amount=None,
                                             adjusted_credit_amount=None))
    [problem] = verify_ledger(engine)
    assert "adjusted_amount is None but the journal says 5000" in problem.detail


def test_revision_0005_fills_in_changes_approved_before_it(shop: Shop) -> None:
    engine = shop.runtime.engine
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004")
    with engine.connect() as conn:
        assert "adjusted_amount" not in list(conn.execute(text("SELECT * FROM reviews")).keys())
    migrate(engine)
    [row] = recent_decisions(engine)
    assert _final(row) == FINAL
    assert verify_ledger(engine) == []
