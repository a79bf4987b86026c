"""``refunds policy simulate``: the ledger's return decisions replayed under another policy.

Decisions are made by the real service (signed storefront events under the default policy),
then replayed under ``preset:standard-30-day`` through the ``refunds`` command line. Every test
checks that the ledger is exactly as it was afterwards.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

import policies
from refunds_plugin.cli import main
from refunds_plugin.finance.simulation import replay
from refunds_plugin.ledger.journal import to_json
from refunds_plugin.ledger.seal import settle
from refunds_plugin.ledger.tables import decisions, ledger_entries, metadata
from tests.fakes import Harness, order_paid, return_requested

DAY = 86_400


def _paid(h: Harness, order_id: str, paid_at: str, **kw: Any) -> None:
    """An order of its own first-time customer, so no loyalty tier or abuse signal applies."""
    customer = {"id": f"c-{order_id}", "email": f"{order_id}@example.com"}
    payload = order_paid(order_id, reference=f"pi_{order_id}", paid_at=paid_at,
                         customer=customer, **kw)
    assert h.post_storefront(payload).status_code == 200


def _ask(h: Harness, return_id: str, order_id: str, reason: str, quantity: int = 1,
         requested_at: str | None = None) -> dict[str, Any]:
    payload = return_requested(return_id, order_id, lines=[
        {"line_id": "l1", "quantity": quantity, "reason": reason}])
    if requested_at:
        payload["data"]["return"]["requested_at"] = requested_at
    response = h.post_storefront(payload)
    assert response.status_code == 201, response.json  # a new decision
    return dict(response.json)


def seed(h: Harness) -> dict[str, tuple[str, int]]:
    """Seven return decisions and one overpayment, decided under the default policy.

    The harness clock starts at 2026-11-24 12:00 UTC; the last two returns come a day and a day
    and an hour later.
    Orders are 2 x 25.00 plus 5.00 shipping unless said otherwise. Returns: outcome (amount).
    """
    _paid(h, "old", "2026-09-01T10:00:00Z")       # 84 days before: outside 30, inside 365
    _paid(h, "recent", "2026-11-01T10:00:00Z")
    _paid(h, "big", "2026-11-10T10:00:00Z", lines=[
        {"id": "l1", "sku": "TV-1", "name": "TV", "quantity": 1, "unit_amount": 30000}])
    _paid(h, "euro", "2026-11-20T10:00:00Z", currency="EUR")
    _paid(h, "ancient", "2025-10-01T10:00:00Z")   # more than 365 days before
    _paid(h, "late", "2026-10-20T10:00:00Z")      # 35 days before now, 26 before it was asked
    over = order_paid("over", reference="pi_over", paid_at="2026-11-20T10:00:00Z")
    over["data"]["order"]["payment"]["amount"] = 6000  # 5.00 more than the 55.00 total
    assert h.post_storefront(over).status_code == 200
    answers = {
        "r-old": _ask(h, "r-old", "old", "changed_mind"),            # approve (25.00)
        "r-recent-1": _ask(h, "r-recent-1", "recent", "changed_mind"),  # approve (25.00)
        "r-recent-2": _ask(h, "r-recent-2", "recent", "too_small"),  # approve (25.00 + 5.00)
        "r-big": _ask(h, "r-big", "big", "defective"),               # approve (300.00 + 5.00)
        "r-euro": _ask(h, "r-euro", "euro", "other"),                # approve (25.00 EUR)
    }
    h.clock.advance(DAY)
    answers["r-ancient"] = _ask(h, "r-ancient", "ancient", "changed_mind")  # review (25.00)
    h.clock.advance(3600)
    answers["r-late"] = _ask(h, "r-late", "late", "changed_mind",
                             requested_at="2026-11-15T10:00:00Z")  # approve (25.00)
    return {k: (a["outcome"], a["amount"]) for k, a in answers.items()}


def snapshot(h: Harness) -> dict[str, Any]:
    """Row counts of every table, the journal's hashes, and a digest of every row, once the
    background sealer (PostgreSQL) has sealed every entry: its rounds gather commits for a few
    milliseconds, and sealing is its work, not the simulation's."""
    assert settle(h.runtime.engine)
    with h.runtime.engine.connect() as conn:
        digests = {}
        for table in metadata.sorted_tables:
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            digests[table.name] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
        chain_ = conn.execute(
            select(ledger_entries.c.seq, ledger_entries.c.prev_hash, ledger_entries.c.hash)
            .order_by(ledger_entries.c.seq)).all()
    return {"tables": digests, "chain": [tuple(r) for r in chain_]}


def simulate(h: Harness, *args: str) -> Result:
    result = CliRunner().invoke(main, ["policy", "simulate", *args],
                                env={"REFUNDS_DATABASE_URL": h.db_url})
    assert result.exit_code == 0, result.output
    return result


def test_the_seeded_decisions_are_what_the_default_policy_answers(harness):
    assert seed(harness) == {
        "r-old": ("approve", 2500), "r-recent-1": ("approve", 2500),
        "r-recent-2": ("approve", 3000), "r-big": ("approve", 30500),
        "r-euro": ("approve", 2500), "r-ancient": ("review", 2500), "r-late": ("approve", 2500),
    }
    kinds = sorted(r.kind for r in harness.rows(decisions))
    assert kinds == ["overpayment"] + ["return"] * 7


def test_simulate_json_counts_transitions_money_and_changed_decisions_exactly(harness):
    seed(harness)
    before = snapshot(harness)
    report = json.loads(simulate(harness, "preset:standard-30-day", "--json").output)
    assert snapshot(harness) == before
    assert report["policy"]["name"] == "standard-30-day"
    assert (report["replayed"], report["changed"], report["outcome_changed"],
            report["unreadable"]) == (7, 6, 4, 0)
    assert report["transitions"] == {
        "approve": {"approve": 3, "review": 2, "decline": 1},
        "review": {"approve": 0, "review": 0, "decline": 1},
        "decline": {"approve": 0, "review": 0, "decline": 0},
    }
    # before: 25 + 25 + 30 + 305 + 25 = 410.00 USD approved, 25.00 EUR; the review paid nothing
    # after: 25 - 5.95 fee (changed mind) + 30 (sizing: no fee, last item's shipping) +
    #        25 - 5.95 (r-late, inside 30 days of its requested_at) = 68.10 USD; EUR reviewed
    assert report["money_out"] == {
        "EUR": {"before": 2500, "after": 0, "difference": -2500, "before_text": "25.00 EUR",
                "after_text": "0.00 EUR", "difference_text": "-25.00 EUR"},
        "USD": {"before": 41000, "after": 6810, "difference": -34190,
                "before_text": "410.00 USD", "after_text": "68.10 USD",
                "difference_text": "-341.90 USD"},
    }
    changes = {c["request_id"]: (c["order_id"], c["before"]["outcome"], c["before"]["amount"],
                                 c["after"]["outcome"], c["after"]["amount"],
                                 c["after"]["reason_code"]) for c in report["changes"]}
    assert changes == {
        "r-old": ("old", "approve", 2500, "decline", 0, "outside_window"),
        "r-recent-1": ("recent", "approve", 2500, "approve", 1905, "approved"),
        "r-big": ("big", "approve", 30500, "review", 30500, "above_request_limit"),
        "r-euro": ("euro", "approve", 2500, "review", 1905, "reason_review"),
        "r-ancient": ("ancient", "review", 2500, "decline", 0, "outside_window"),
        # decided as of its requested_at (26 days after payment), not created_at (36 days)
        "r-late": ("late", "approve", 2500, "approve", 1905, "approved"),
    }


def test_simulate_prints_the_matrix_money_and_changed_rows_for_people(harness):
    seed(harness)
    before = snapshot(harness)
    out = simulate(harness, "preset:standard-30-day").output
    assert snapshot(harness) == before
    lines = out.splitlines()
    assert lines[1] == "6 would change: 4 change outcome, 2 change only the money"
    assert "approve               3       2        1" in lines
    assert "review                0       0        1" in lines
    assert "USD        410.00 USD  68.10 USD  -341.90 USD" in lines
    assert "EUR         25.00 EUR   0.00 EUR   -25.00 EUR" in lines
    assert ("money out counts only what each policy approves on its own: the 1 decision(s) "
            "sent to a person before and the 2 after count nothing, even where a person "
            "approved the money") in lines
    row = next(line for line in lines if line.startswith("old "))
    assert row.split() == ["old", "r-old", "2026-11-24", "approve", "25.00", "USD", "decline",
                           "0.00", "USD", "outcome,", "amount", "outside_window"]


def test_since_and_limit_choose_which_decisions_are_replayed(harness):
    seed(harness)
    before = snapshot(harness)
    late = json.loads(simulate(harness, "preset:standard-30-day", "--since",
                               "2026-11-25", "--json").output)
    assert (late["replayed"], late["changed"]) == (2, 2)
    assert [c["request_id"] for c in late["changes"]] == ["r-ancient", "r-late"]
    first = json.loads(simulate(harness, "preset:standard-30-day", "--since",
                                "2026-11-25", "--limit", "1", "--json").output)
    assert [c["request_id"] for c in first["changes"]] == ["r-ancient"]
    assert first["transitions"]["review"]["decline"] == first["replayed"] == 1
    early = json.loads(simulate(harness, "preset:standard-30-day", "--until",
                                "2026-11-25", "--json").output)
    assert (early["replayed"], early["changed"]) == (5, 4)
    assert {c: m["before"] for c, m in early["money_out"].items()} == {"EUR": 2500,
                                                                       "USD": 38500}
    assert snapshot(harness) == before


def test_replaying_under_the_deciding_policy_reproduces_every_stored_decision_exactly(harness):
    seed(harness)
    stored = {r.id: r.body for r in harness.rows(decisions, kind="return")}
    replayed = list(replay(harness.runtime.engine, policies.load_policy("preset:default")))
    assert len(replayed) == 7
    assert all(c.new is not None and not c.changed for c in replayed)
    assert {c.decision_id: to_json(c.new.to_dict()) for c in replayed if c.new} == stored


def test_an_empty_ledger_replays_nothing(harness):
    report = json.loads(simulate(harness, "preset:standard-30-day", "--json").output)
    assert (report["replayed"], report["changed"], report["money_out"], report["changes"]) == (
        0, 0, {}, [])


@pytest.mark.parametrize("spec", ["preset:nope", "missing.yaml"])
def test_an_invalid_policy_is_refused_before_the_ledger_is_read(harness, spec):
    before = snapshot(harness)
    result = CliRunner().invoke(main, ["policy", "simulate", spec],
                                env={"REFUNDS_DATABASE_URL": harness.db_url})
    assert result.exit_code == 1
    assert "Error:" in result.output
    assert snapshot(harness) == before


def test_a_missing_sqlite_ledger_is_refused_and_not_created(tmp_path):
    path = tmp_path / "nowhere.db"
    result = CliRunner().invoke(main, ["policy", "simulate", "preset:standard-30-day"],
                                env={"REFUNDS_DATABASE_URL": f"sqlite:///{path}"})
    assert result.exit_code == 1
    assert f"no ledger at {path}" in result.output
    assert not path.exists()
