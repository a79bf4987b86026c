"""``policy compare``'s CSV names each side's exchange (how it settled, its items, what the
customer pays) and counts an exchange-only change that is worse for the customer as worse: an
item exchanged before and not after (a refund instead, even of the full value), or the same
item for more of its difference; an exchange gained, or a cheaper difference, is not worse."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import policies
from refunds_plugin.insights.compare import CSV_COLUMNS, Row, answer_words, compare
from refunds_plugin.ledger.db import make_engine
from tests.integration.insights.test_compare_exchange_only import (
    FIVE,
    FIVE_AGAIN,
    TEN,
    _decided_under,
)

REFUND_ONLY = policies.load_policy_text(
    "name: refund-only\nwindow: {days: 60}\nresolution: {allow: [refund]}\n", "r.yaml")
EXCHANGED = {"exchange": "waived+charge", "exchange_items": "1 SKU-X", "exchange_charge": 300,
             "exchange_charge_decimal": Decimal("3.00")}
WAIVED = {"exchange": "waived", "exchange_items": "1 SKU-X", "exchange_charge": 0,
          "exchange_charge_decimal": Decimal("0.00")}
NO_EXCHANGE = {"exchange": "", "exchange_items": "", "exchange_charge": "",
               "exchange_charge_decimal": None}


def _run(url: str, current: policies.Policy, candidate: policies.Policy
         ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The report and its one CSV row."""
    engine = make_engine(url)
    seen: list[Row] = []
    try:
        report = compare(engine, current, candidate, each=seen.append).to_json()
    finally:
        engine.dispose()
    [row] = seen
    return report, row.csv_row()


def _exchange(row: dict[str, Any], side: str) -> dict[str, Any]:
    return {k.removeprefix(side + "_"): v for k, v in row.items()
            if k.startswith(side + "_exchange")}


def test_the_csv_adds_each_sides_exchange_after_every_earlier_column() -> None:
    assert CSV_COLUMNS[-8:] == [
        "current_exchange", "current_exchange_items", "current_exchange_charge",
        "candidate_exchange", "candidate_exchange_items", "candidate_exchange_charge",
        "current_exchange_charge_decimal", "candidate_exchange_charge_decimal"]
    assert CSV_COLUMNS[:17][-2:] == ["worse", "error"]  # the earlier columns keep their places


def test_an_exchange_turned_into_a_refund_of_its_full_value_is_worse(any_db_url: str) -> None:
    _decided_under(any_db_url, FIVE)
    # the stored answer reused for FIVE, and FIVE's rules decided again under another name
    for current in (FIVE, FIVE_AGAIN):
        report, row = _run(any_db_url, current, REFUND_ONLY)
        assert (report["compared"], report["differ"], report["worse_count"]) == (1, 1, 1)
        assert (row["current_outcome"], row["current_refund"], row["candidate_outcome"],
                row["candidate_refund"], row["worse"]) == ("approve", 0, "approve", 5000, "yes")
        assert _exchange(row, "current") == EXCHANGED
        assert _exchange(row, "candidate") == NO_EXCHANGE
        [listed] = report["worse"]
        assert answer_words(listed, "current") == (
            "approve: refund 0.00 USD, credit 0.00 USD, exchange for 1 SKU-X paying 3.00 USD")
        assert answer_words(listed, "candidate") == "approve: refund 50.00 USD, credit 0.00 USD"


def test_an_exchange_gained_is_no_worse_answer(any_db_url: str) -> None:
    _decided_under(any_db_url, FIVE)
    report, row = _run(any_db_url, REFUND_ONLY, FIVE)
    assert (report["differ"], report["worse_count"], row["worse"]) == (1, 0, "no")
    assert _exchange(row, "current") == NO_EXCHANGE
    assert _exchange(row, "candidate") == EXCHANGED


def test_the_same_item_for_more_of_its_difference_is_worse_and_for_less_is_not(
    any_db_url: str,
) -> None:
    _decided_under(any_db_url, FIVE)
    dearer, row = _run(any_db_url, TEN, FIVE)  # 3.00 to pay where TEN waived all of it
    assert (dearer["differ"], dearer["worse_count"], row["worse"]) == (1, 1, "yes")
    assert (_exchange(row, "current"), _exchange(row, "candidate")) == (WAIVED, EXCHANGED)
    cheaper, row = _run(any_db_url, FIVE, TEN)
    assert (cheaper["differ"], cheaper["worse_count"], row["worse"]) == (1, 0, "no")
    assert (_exchange(row, "current"), _exchange(row, "candidate")) == (EXCHANGED, WAIVED)
