"""``refunds returns list|receive|expire`` and ``refunds ledger list --json`` on a ledger with
physical returns; the return addresses come from the TOML file, as a merchant sets them."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner, Result
from sqlalchemy import update

from refunds_plugin.cli import main
from refunds_plugin.ledger.tables import refund_attempts, return_shipments
from tests.integration.shipping.conftest import Returns

POLICY = """currency: USD
window: {days: 3650, start: payment}
refund_on: inspected
"""
TOML = """
[[return_addresses]]
name = "Our shop returns"
street = "1 Dock Rd"
city = "Austin"
postal_code = "78701"
country = "US"
"""


def _cli(r: Returns, tmp_path: Path, *args: str) -> Result:
    config = tmp_path / "refunds.toml"
    config.write_text(TOML, encoding="utf-8")
    env = {"REFUNDS_DATABASE_URL": r.h.db_url, "REFUNDS_POLICY": str(tmp_path / "policy.yaml"),
           "REFUNDS_CONFIG_FILE": str(config)}
    return CliRunner().invoke(main, list(args), env=env)


def test_list_receive_and_the_ledger_say_where_each_return_is(
    returns_service: Callable[..., Returns], tmp_path: Path,
) -> None:
    r = returns_service(POLICY, label=False)
    r.paid(lines=[{"id": "l1", "sku": "MUG-1", "name": "Mug", "quantity": 2,
                   "unit_amount": 2500}])
    decision = r.ask(lines=[{"line_id": "l1", "quantity": 2, "reason": "too_small"}])[
        "decision_id"]

    listed = _cli(r, tmp_path, "returns", "list", "--json")
    ledger = _cli(r, tmp_path, "ledger", "list", "--json")
    refused = _cli(r, tmp_path, "returns", "receive", "1001", "l1=as_new:3")
    done = _cli(r, tmp_path, "returns", "receive", "1001", "l1=as_new:2:restock")

    assert listed.exit_code == 0, listed.output
    [row] = [json.loads(x) for x in listed.output.splitlines()]
    assert (row["decision_id"], row["status"], row["refund_on"]) == (
        decision, "instructions", {"refund": "inspected"})
    [entry] = [json.loads(x) for x in ledger.output.splitlines()]
    assert entry["return_instructions"]["address"]["city"] == "Austin"
    assert (refused.exit_code, refused.output.strip().splitlines()[-1]) == (
        1, "Error: line l1: 3 units received, but the return takes back 2")
    assert done.exit_code == 0, done.output
    assert done.output.splitlines() == ["received; matches the claim: 1 attempt(s) released",
                                        "restock 2 × l1: listed"]
    assert [x.status for x in r.h.rows(refund_attempts)] == ["pending"]
    table = _cli(r, tmp_path, "returns", "list", "--status", "received")
    assert table.output.splitlines()[0].split() == [
        "decision", "order", "status", "label", "tracking", "return", "by", "label", "cost"]
    assert table.output.splitlines()[1].split()[1:4] == ["1001", "received", "none"]


def test_list_filters_by_every_state_a_return_can_be_in(
    returns_service: Callable[..., Returns], tmp_path: Path,
) -> None:
    r = returns_service(POLICY, label=False)
    r.paid()
    decision = r.ask(lines=[{"line_id": "l1", "quantity": 1, "reason": "changed_mind"}])[
        "decision_id"]
    with r.h.runtime.engine.begin() as conn:  # the carrier's scan: waiting at its pick-up point
        conn.execute(update(return_shipments).values(status="available_for_pickup"))

    waiting = _cli(r, tmp_path, "returns", "list", "--status", "available_for_pickup", "--json")

    assert waiting.exit_code == 0, waiting.output
    assert [(x["decision_id"], x["status"]) for x in map(json.loads, waiting.output.splitlines())
            ] == [(decision, "available_for_pickup")]


def test_expire_shows_what_it_would_do_then_does_it(
    returns_service: Callable[..., Returns], tmp_path: Path,
) -> None:
    r = returns_service(POLICY, label=False)
    # decided long ago (the command reads the wall clock): 30 days and 7 of grace are over
    r.h.clock.now = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
    r.paid(paid_at="2026-08-20T10:00:00Z")
    r.ask(lines=[{"line_id": "l1", "quantity": 1, "reason": "changed_mind"}])

    dry = _cli(r, tmp_path, "returns", "expire")
    assert dry.exit_code == 0, dry.output
    assert dry.output.splitlines()[-1] == "1 would expire (run again with --apply)"
    assert [x.status for x in r.h.rows(refund_attempts)] == ["held"]

    done = _cli(r, tmp_path, "returns", "expire", "--apply")
    assert done.output.splitlines()[-1] == "expired 1; 0 label(s) voided"
    assert [x.status for x in r.h.rows(refund_attempts)] == ["canceled"]
    again = _cli(r, tmp_path, "returns", "expire", "--apply")
    assert again.output.strip() == "nothing to expire"


def test_an_empty_list_without_a_return_address_says_why(
    returns_service: Callable[..., Returns], tmp_path: Path,
) -> None:
    r = returns_service(POLICY, label=False)
    bare = tmp_path / "bare.toml"
    bare.write_text("", encoding="utf-8")
    env = {"REFUNDS_DATABASE_URL": r.h.db_url, "REFUNDS_POLICY": str(tmp_path / "policy.yaml"),
           "REFUNDS_CONFIG_FILE": str(bare)}

    without = CliRunner().invoke(main, ["returns", "list"], env=env)
    with_address = _cli(r, tmp_path, "returns", "list")

    assert (without.exit_code, without.output) == (
        0, "No return address is configured, so no return is waiting for a parcel: see "
           "docs/returns-shipping.md\n")
    assert (with_address.exit_code, with_address.output) == (0, "no returns\n")


def test_the_receive_help_names_the_line_format_and_its_conditions() -> None:
    group = CliRunner().invoke(main, ["returns", "--help"])
    own = CliRunner().invoke(main, ["returns", "receive", "--help"])

    assert group.exit_code == own.exit_code == 0
    assert "  receive  Mark ORDER's return received, each line as...\n" in group.output
    assert "e.g." not in group.output and "``" not in group.output + own.output
    assert " ".join(own.output.split()).split("Options:")[0].endswith(
        "Mark ORDER's return received, each line as LINE=CONDITION[:UNITS][:restock]. "
        "ORDER is the order's id, its number or the return's tracking code (the tracking code "
        "picks one return when the order has several). CONDITION is as_new, opened, damaged, "
        "wrong_item or missing; UNITS defaults to every unit asked for; restock puts them back "
        "in stock. For example: refunds returns receive 1001 l1=as_new:2:restock l2=missing ")
    # the example keeps a line of its own, as it is typed
    assert "\n  For example:\n  refunds returns receive 1001 l1=as_new:2:restock l2=missing\n" \
        in own.output
