"""``refunds policy check`` (and ``serve``, through the same ``finance.currencies``) warn about a
currency the shop sells in that an amount rule of the policy does not cover."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from click.testing import CliRunner

import policies
from refunds_plugin.cli.policy import policy
from refunds_plugin.finance.currencies import currency_warnings
from refunds_plugin.shipping.listing import ADDRESS_WARNING
from tests.fakes.shop import Shop

POLICY = ('currency: USD\nwindow: {days: 30}\n'
          'limits: {auto_approve_per_request: {USD: "100.00", JPY: "15000"}}\n'
          'resolution: {keep_item: {below: {USD: "5.00", GBP: "4.00"}}}\n'
          'fees: {return_shipping: {USD: "4.00"}}\n')


def test_a_currency_in_the_ledger_that_a_rule_misses_is_named_once_per_currency(
    any_db_url: str, now: datetime, tmp_path: Path
) -> None:
    path = tmp_path / "shop.yaml"
    path.write_text(POLICY, encoding="utf-8")
    shop = Shop(any_db_url, now, policy=str(path))
    try:
        for n, cur in enumerate(("USD", "JPY", "GBP", "JPY")):
            shop.order(f"o{n}", 2000, f"c{n}@example.com", currency=cur)
        warnings = currency_warnings(shop.runtime.engine, policies.load_policy(str(path)))
    finally:
        shop.runtime.engine.dispose()
    assert warnings == [  # per rule, what then happens: a limit sends it to a person
        "warning: orders in GBP but policy 'shop' gives no GBP amount for "
        "limits.auto_approve_per_request (a GBP return the policy would approve is sent to a "
        "person for review instead (limit_currency_unknown)); fees.return_shipping (no "
        'return-shipping fee is charged) (docs/policy.md, "Money in a policy file")',
        "warning: orders in JPY but policy 'shop' gives no JPY amount for "
        "resolution.keep_item.below (no item is kept for being cheap: it has to come back); "
        "fees.return_shipping (no return-shipping fee is charged) (docs/policy.md, "
        '"Money in a policy file")',
    ]
    result = CliRunner().invoke(policy, ["check", str(path)],
                                env={"REFUNDS_DATABASE_URL": any_db_url})
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [*warnings, ADDRESS_WARNING]  # no return address set
    # and the policy does what the warnings say
    env = {"REFUNDS_DATABASE_URL": any_db_url}
    gbp = CliRunner().invoke(policy, ["explain", "--policy", str(path), "--currency", "GBP",
                                      "--price", "20.00", "--json"], env=env)
    jpy = CliRunner().invoke(policy, ["explain", "--policy", str(path), "--currency", "JPY",
                                      "--price", "2000", "--json"], env=env)
    said = json.loads(gbp.stdout)
    assert (said["outcome"], said["reason_code"]) == ("review", "limit_currency_unknown")
    said = json.loads(jpy.stdout)
    assert (said["outcome"], said["fees"], said["amount"]) == ("approve", [], 2000)


def test_without_a_ledger_check_only_checks_the_file(tmp_path: Path) -> None:
    path = tmp_path / "shop.yaml"
    path.write_text(POLICY, encoding="utf-8")
    missing = tmp_path / "none.db"
    result = CliRunner().invoke(policy, ["check", "--json", str(path)],
                                env={"REFUNDS_DATABASE_URL": f"sqlite:///{missing}"})
    assert (result.exit_code, json.loads(result.stdout)["warnings"], missing.exists()) == (
        0, [ADDRESS_WARNING], False)  # the settings' own warning; nothing from a ledger
