"""The policy comparison's CSV (``refunds policy compare --csv``, the finance page's and
``/api/insights/compare``'s download) writes each amount in major units too, as every finance
CSV with amounts does: ``candidate_refund`` 640 USD is also ``candidate_refund_decimal`` 6.40,
a number a spreadsheet sums, after all the earlier columns so none moves."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from click.testing import CliRunner

from refunds_plugin.cli import main
from refunds_plugin.finance.tokens import create_token
from tests.fakes import Harness
from tests.fakes.insights_history import History
from tests.integration.insights.test_insights_compare import CANDIDATE

FIRST = ["decision_id", "order_id", "customer", "decided_at", "currency",
         "current_outcome", "current_refund", "current_credit", "current_bonus", "current_fees",
         "candidate_outcome", "candidate_refund", "candidate_credit", "candidate_bonus",
         "candidate_fees", "worse", "error"]
MAJOR = ["current_refund_decimal", "current_credit_decimal", "current_bonus_decimal",
         "current_fees_decimal", "candidate_refund_decimal", "candidate_credit_decimal",
         "candidate_bonus_decimal", "candidate_fees_decimal"]
# each side's exchange came later: after all of those, so none moves
EXCHANGE = ["current_exchange", "current_exchange_items", "current_exchange_charge",
            "candidate_exchange", "candidate_exchange_items", "candidate_exchange_charge",
            "current_exchange_charge_decimal", "candidate_exchange_charge_decimal"]


def by_order(text: str) -> tuple[list[str], dict[str, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text))
    rows = {r["order_id"]: r for r in reader}
    return list(reader.fieldnames or []), rows


def test_the_comparison_csv_has_each_amount_in_major_units_after_the_other_columns(
    shop: tuple[Harness, History], policy_file: Path, tmp_path: Path,
) -> None:
    h, _ = shop
    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(CANDIDATE, encoding="utf-8")
    out_csv = tmp_path / "differences.csv"
    ran = CliRunner().invoke(main, ["policy", "compare", str(policy_file), str(candidate),
                                    "--since", "2026-05-01", "--csv", str(out_csv)],
                             env={"REFUNDS_DATABASE_URL": h.db_url})
    assert ran.exit_code == 0, ran.output
    token = create_token(h.runtime.engine, "Fin", "finance", h.clock()).secret
    api = h.client().post("/api/insights/compare?since=2026-05-01&format=csv",
                          data=CANDIDATE.encode(), content_type="application/yaml",
                          headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200, api.get_data(as_text=True)

    for text in (out_csv.read_text(encoding="utf-8"), api.get_data(as_text=True)):
        header, rows = by_order(text)
        assert header == FIRST + MAJOR + EXCHANGE
        bob, cid = rows["o-2"], rows["o-3"]
        # bob: 45.00 credit + 4.50 bonus, 5.00 fee now; 40.00 + 4.00, 10.00 fee under the candidate
        assert [bob[c] for c in MAJOR] == ["0.00", "45.00", "4.50", "5.00",
                                           "0.00", "40.00", "4.00", "10.00"]
        assert (bob["current_credit"], bob["candidate_fees"]) == ("4500", "1000")
        # cid: a 7.20 refund with a 0.80 fee now; 6.40 with 1.60 under the candidate
        assert [cid[c] for c in MAJOR] == ["7.20", "0.00", "0.00", "0.80",
                                           "6.40", "0.00", "0.00", "1.60"]
        # no exchange on either side: empty cells, not a 0.00 charge
        assert [bob[c] for c in EXCHANGE] == [cid[c] for c in EXCHANGE] == [""] * 8
