"""``policy simulate`` and ``policy compare`` agree decision by decision: a decision whose
fees change (a review both ways, the return shipping fee raised) is one change to both, and
``simulate`` says the fees changed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from refunds_plugin.cli import main
from tests.fakes import Harness, order_paid, return_requested

STANDARD = Path("policies/presets/standard-30-day.yaml").read_text(encoding="utf-8")
# the same policy with a dearer return label: an "other" reason still goes to a person
DEARER = STANDARD.replace("name: standard-30-day", "name: dearer-label").replace(
    'return_shipping: {USD: "5.95"', 'return_shipping: {USD: "9.00"')


def cli(h: Harness, *args: str) -> Any:
    return CliRunner().invoke(main, list(args), env={"REFUNDS_DATABASE_URL": h.db_url})


def test_a_review_whose_fee_alone_changes_is_a_change_to_both_commands(
    policy_harness: Callable[..., Harness], tmp_path: Path,
) -> None:
    assert DEARER != STANDARD
    h = policy_harness(STANDARD)
    h.post_storefront(order_paid("o-1", reference="pi_o1"))
    assert h.post_storefront(return_requested(
        "r-1", "o-1", lines=[{"line_id": "l1", "quantity": 1, "reason": "other"}])
    ).status_code == 201
    current, candidate = tmp_path / "current.yaml", tmp_path / "candidate.yaml"
    current.write_text(STANDARD, encoding="utf-8")
    candidate.write_text(DEARER, encoding="utf-8")

    compared = cli(h, "policy", "compare", str(current), str(candidate), "--json")
    assert compared.exit_code == 0, compared.output
    doc = json.loads(compared.output)
    assert (doc["compared"], doc["differ"]) == (1, 1)
    assert [doc[side]["reviews"] for side in ("current", "candidate")] == [1, 1]

    simulated = cli(h, "policy", "simulate", str(candidate), "--json")
    assert simulated.exit_code == 0, simulated.output
    sim = json.loads(simulated.output)
    assert (sim["replayed"], sim["changed"]) == (1, 1)
    [change] = sim["changes"]
    assert (change["before"]["outcome"], change["after"]["outcome"]) == ("review", "review")
    assert (change["before"]["fees"], change["after"]["fees"]) == (595, 900)
    assert (change["before"]["amount"], change["after"]["amount"]) == (1905, 1600)

    text = cli(h, "policy", "simulate", str(candidate))
    assert text.output.splitlines()[1] == (
        "1 would change: 0 change outcome, 1 change only the money")
    assert "amount, fees 5.95 USD → 9.00 USD" in text.output
