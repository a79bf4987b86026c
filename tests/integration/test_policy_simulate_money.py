"""``policy simulate`` shows what changed when only the money did: the same amount sent as store
credit instead of a refund is a visible change, not two identical cells."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from refunds_plugin.cli import main
from tests.fakes import Harness, order_paid, return_requested

CREDIT_ONLY = ("window: {days: 365, start: payment}\n"
               "resolution: {default: credit, allow: [credit]}\n")


def test_a_refund_turned_into_credit_of_the_same_amount_is_shown(
    harness: Harness, tmp_path: Path
) -> None:
    harness.post_storefront(order_paid("o-1", reference="pi_o1"))
    assert harness.post_storefront(return_requested("r-1", "o-1")).status_code == 201
    candidate = tmp_path / "credit-only.yaml"
    candidate.write_text(CREDIT_ONLY, encoding="utf-8")

    result = CliRunner().invoke(main, ["policy", "simulate", str(candidate)],
                                env={"REFUNDS_DATABASE_URL": harness.db_url})

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1] == "1 would change: 0 change outcome, 1 change only the money"
    head = next(line for line in lines if line.startswith("ORDER"))
    row = next(line for line in lines if line.startswith("o-1 "))
    cells = [c for c in row.split("  ") if c.strip()]
    assert head.split() == ["ORDER", "REQUEST", "DECIDED", "BEFORE", "AFTER", "CHANGED", "NEW",
                            "REASON"]
    assert [c.strip() for c in cells[3:]] == [
        "approve 25.00 USD", "approve 25.00 USD (credit 25.00 USD)", "refund → credit",
        "approved"]
