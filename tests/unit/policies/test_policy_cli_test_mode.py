"""``refunds policy explain --json`` and ``policy check`` in test mode (no Stripe key, or a test
key) say what the human ``explain`` says: no real money moves, and no promise of when it goes."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from refunds_plugin.cli.policy import policy

EXPLAIN = ("explain", "--policy", "preset:default", "--now", "2026-06-01T12:00:00+00:00")
TOLD = ("Your return of 1 × SKU-1 is approved. Dry run: we would refund 25.00 USD to your "
        "original payment; no money moves. Please send back: SKU-1.")
LIVE = ("Your return of 1 × SKU-1 is approved. We will refund 25.00 USD to your original "
        "payment. Please send back: SKU-1.")
NOTE = ("Test mode (no REFUNDS_STRIPE_API_KEY, or a test key), as the service sees it: no real "
        "money moves for orders paid with Stripe, and their customers are not told when money "
        "goes.")


def run(key: str, *args: str) -> str:
    result = CliRunner().invoke(policy, list(args), env={"REFUNDS_STRIPE_API_KEY": key,
                                                          "REFUNDS_CONFIG_FILE": ""})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("key", ["", "sk_test_cli"])
def test_explain_json_in_test_mode_is_flagged_and_promises_nothing(key: str) -> None:
    told = json.loads(run(key, *EXPLAIN, "--json"))
    assert (told["test_mode"], told["explanation"]) == (True, TOLD)
    human = run(key, *EXPLAIN)
    assert "\nmoney:       test mode (no REFUNDS_STRIPE_API_KEY, or a test key)" in human
    assert human.endswith(f"\n{TOLD}\n")


def test_explain_json_on_a_live_key_keeps_the_promise() -> None:
    told = json.loads(run("sk_live_cli", *EXPLAIN, "--json"))
    assert (told["test_mode"], told["explanation"]) == (
        False, f"{LIVE} The money will be on its way within 48 hours.")


@pytest.mark.parametrize("key", ["", "sk_test_cli"])
def test_check_in_test_mode_says_customers_are_told_no_promise(key: str) -> None:
    out = run(key, "check", "preset:default")
    assert (f"  - Money is on its way within 48 hours of approval.\n  - {NOTE}\n") in out
    checked = json.loads(run(key, "check", "preset:default", "--json"))
    assert checked["test_mode"] is True and NOTE in checked["rules"]


def test_check_on_a_live_key_has_no_test_mode_note() -> None:
    checked = json.loads(run("sk_live_cli", "check", "preset:default", "--json"))
    assert checked["test_mode"] is False
    assert not any(r.startswith("Test mode") for r in checked["rules"])
