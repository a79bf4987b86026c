"""A policy that asks for prepaid labels on a shop that cannot buy them (no
REFUNDS_EASYPOST_API_KEY): ``refunds policy check`` and ``refunds serve`` say so, naming the
setting, and the check's plain words promise no label and no label fee."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner
from gunicorn.app.base import BaseApplication

from refunds_plugin.cli import main
from tests.fakes.outbound_receiver import HOOK, SECRET

LABELS = ('currency: USD\nwindow: {days: 30}\n'
          'return_shipping: {label: easypost, paid_by: customer, fee: "4.00"}\n')
WARNING = (
    "warning: the policy asks for prepaid return labels (return_shipping.label: easypost) but "
    "REFUNDS_EASYPOST_API_KEY is not set, so no label can be bought: a customer asked to send "
    "items back gets the return instructions only and posts the parcel themselves, no label is "
    "promised and no label fee is deducted: see docs/returns-shipping.md")
NO_LABEL = ("Items that must come back get return instructions (the customer ships it); they "
            "must be sent within 30 days of approval (a return not scanned 7 days after that "
            "expires).")
NOT_BOUGHT = ("The policy asks for a prepaid EasyPost label, but this shop cannot buy one (no "
              "REFUNDS_EASYPOST_API_KEY or no return address), so no label is promised and the "
              "4.00 USD label fee is not deducted.")
LABEL = ("Items that must come back get a prepaid EasyPost label (the cheapest allowed rate); "
         "they must be sent within 30 days of approval (a return not scanned 7 days after that "
         "expires and its label is voided).")
PAYS = ("The customer pays 4.00 USD for the return label, deducted from the refund (free for: "
        "merchant_fault).")


def _env(tmp_path: Path, key: str) -> dict[str, str]:
    """A shop with a return address (only the label is in question) and this policy, its
    EasyPost webhook set up as docs/returns-shipping.md says (tracking is not in question)."""
    settings = tmp_path / "settings.toml"
    settings.write_text('[[return_addresses]]\nname = "Returns"\nstreet = "1 Dock Rd"\n'
                        'city = "Austin"\npostal_code = "78701"\ncountry = "US"\n',
                        encoding="utf-8")
    policy = tmp_path / "shop.yaml"
    policy.write_text(LABELS, encoding="utf-8")
    return {"REFUNDS_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.db'}",
            "REFUNDS_CONFIG_FILE": str(settings), "REFUNDS_POLICY": str(policy),
            "REFUNDS_EASYPOST_API_KEY": key, "REFUNDS_OUTBOUND_URL": "",
            "REFUNDS_EASYPOST_WEBHOOK_SECRET": "tracking-secret"}


def test_policy_check_warns_and_promises_no_label_without_a_carrier_key(tmp_path: Path) -> None:
    env = _env(tmp_path, "")

    result = CliRunner().invoke(main, ["policy", "check", env["REFUNDS_POLICY"]], env=env)
    as_json = CliRunner().invoke(main, ["policy", "check", env["REFUNDS_POLICY"], "--json"],
                                 env=env)

    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [WARNING]
    assert f"  - {NO_LABEL}" in result.stdout.splitlines()
    assert f"  - {NOT_BOUGHT}" in result.stdout.splitlines()
    assert "No return fees." in result.stdout
    assert "prepaid EasyPost label (the cheapest" not in result.stdout
    assert json.loads(as_json.stdout)["warnings"] == [WARNING]


def test_policy_check_with_a_carrier_key_warns_of_nothing_and_says_the_fee(
    tmp_path: Path,
) -> None:
    env = _env(tmp_path, "EZTK_test")

    result = CliRunner().invoke(main, ["policy", "check", env["REFUNDS_POLICY"]], env=env)

    assert (result.exit_code, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert f"  - {LABEL}" in lines and f"  - {PAYS}" in lines
    assert "  - No return fees besides the label below." in lines


def _serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str,
           policy: str = LABELS, **settings: str) -> list[str]:
    monkeypatch.setattr(BaseApplication, "run", lambda app: None)
    with socket.socket() as sock:  # a port free a moment ago
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = _env(tmp_path, key) | {"REFUNDS_STOREFRONT_SECRET": "s" * 32,
                                 "REFUNDS_SECRET_KEY": "k" * 32} | settings
    Path(env["REFUNDS_POLICY"]).write_text(policy, encoding="utf-8")
    result = CliRunner().invoke(main, ["serve", "--port", str(port)], env=env)
    assert result.exit_code == 0, result.output
    return [x for x in result.stderr.splitlines() if not x.startswith("{")]


def test_serve_warns_once_without_a_carrier_key_and_not_with_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _serve(tmp_path, monkeypatch, "") == [WARNING]
    assert _serve(tmp_path, monkeypatch, "EZTK_test") == []


TEST_KEY = "EZTK" + "a1b2c3d4e5f6"  # neither key is ever printed
LIVE_KEY = "EZAK" + "f6e5d4c3b2a1"
TEST_KEY_LIVE = (
    "warning: REFUNDS_EASYPOST_API_KEY is an EasyPost test key (EZTK…) but money moves "
    "({mode}), so every return label bought is a test label no carrier accepts: customers "
    "would be sent labels they cannot use; set a production key (EZAK…): see "
    "docs/returns-shipping.md")
LIVE_KEY_TEST = (
    "warning: REFUNDS_EASYPOST_API_KEY is an EasyPost production key (EZAK…) but no money "
    "moves (test mode), so every return label bought is real and charged to the EasyPost "
    "account while the refunds are not; use a test key (EZTK…) to try the service: see "
    "docs/returns-shipping.md")
STRIPE_LIVE = {"REFUNDS_STRIPE_API_KEY": "sk_live_" + "x" * 24,
               "REFUNDS_STRIPE_WEBHOOK_SECRETS": "whsec_" + "y" * 24}
SALEOR_LIVE = {"REFUNDS_SALEOR_ALLOWED_API_URLS": "https://shop.example/graphql/"}


@pytest.mark.parametrize("key,live,said", [
    (TEST_KEY, STRIPE_LIVE, TEST_KEY_LIVE.format(mode="stripe live")),
    (TEST_KEY, SALEOR_LIVE, TEST_KEY_LIVE.format(mode="saleor live")),
    (LIVE_KEY, {}, LIVE_KEY_TEST),
])
def test_policy_check_warns_when_the_easypost_key_is_not_in_the_services_mode(
    tmp_path: Path, key: str, live: dict[str, str], said: str,
) -> None:
    env = _env(tmp_path, key) | live

    result = CliRunner().invoke(main, ["policy", "check", env["REFUNDS_POLICY"]], env=env)
    as_json = CliRunner().invoke(main, ["policy", "check", env["REFUNDS_POLICY"], "--json"],
                                 env=env)

    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [said]
    assert json.loads(as_json.stdout)["warnings"] == [said]
    assert key not in result.output + as_json.output


def test_serve_warns_of_a_test_key_while_money_moves_and_a_production_key_in_test_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in STRIPE_LIVE.items():
        monkeypatch.setenv(name, value)
    assert _serve(tmp_path, monkeypatch, TEST_KEY) == [TEST_KEY_LIVE.format(mode="stripe live")]
    assert _serve(tmp_path, monkeypatch, LIVE_KEY) == []  # a production key while live is right
    monkeypatch.delenv("REFUNDS_STRIPE_API_KEY")
    assert _serve(tmp_path, monkeypatch, LIVE_KEY) == [LIVE_KEY_TEST]
    assert _serve(tmp_path, monkeypatch, TEST_KEY) == []  # a test key in test mode is right


FEE_6 = ('currency: USD\nwindow: {days: 30}\n'
         'return_shipping: {label: easypost, paid_by: customer, fee: {USD: "6.00"}}\n')
CANNOT = ("labels:      cannot be bought (no REFUNDS_EASYPOST_API_KEY or no return address), as "
          "the service sees it: no label fee is deducted and no carrier scan comes")


def _explain(tmp_path: Path, key: str) -> list[str]:
    env = _env(tmp_path, key)
    Path(env["REFUNDS_POLICY"]).write_text(FEE_6, encoding="utf-8")
    result = CliRunner().invoke(main, ["policy", "explain", "--policy", env["REFUNDS_POLICY"],
                                       "--price", "25.00"], env=env)
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def test_policy_explain_takes_no_label_fee_where_the_service_cannot_buy_a_label(
    tmp_path: Path,
) -> None:
    lines = _explain(tmp_path, "")

    assert lines[1] == CANNOT
    assert "fees:        none" in lines
    # no Stripe key: test mode, so "we would" and no promise of when the money goes, as the
    # customer reads it
    assert lines[-1] == ("Your return of 1 × SKU-1 is approved. Dry run: we would refund 25.00 "
                         "USD to your original payment; no money moves. Please send back: "
                         "SKU-1.")


def test_policy_explain_deducts_the_label_fee_where_the_service_buys_the_label(
    tmp_path: Path,
) -> None:
    lines = _explain(tmp_path, "EZTK_test")

    assert lines[1] == ("labels:      can be bought (REFUNDS_EASYPOST_API_KEY and a return "
                        "address), as the service sees it")
    assert ("Dry run: we would refund 19.00 USD to your original payment; no money moves."
            in lines[-1])


SCAN = ('currency: USD\nwindow: {days: 30}\nrefund_on: first_scan\n'
        'return_shipping: {label: easypost, paid_by: merchant}\n')
SCAN_WARNING = (
    "warning: the policy sends money at the carrier's first scan (refund_on: first_scan) but no "
    "prepaid label is bought (REFUNDS_EASYPOST_API_KEY is not set), so no carrier scan can reach "
    "us: that money waits for the parcel to reach the shop instead, as with refund_on: "
    "delivered, and is sent when the warehouse records it (/finance/receive or `refunds returns "
    "receive`), and the customer is told so: see docs/returns-shipping.md")


def test_policy_check_and_serve_warn_that_a_first_scan_refund_waits_for_delivery_without_labels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _env(tmp_path, "")
    Path(env["REFUNDS_POLICY"]).write_text(SCAN, encoding="utf-8")

    result = CliRunner().invoke(main, ["policy", "check", env["REFUNDS_POLICY"]], env=env)

    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [WARNING, SCAN_WARNING]
    assert ("  - The policy sends money at the carrier's first scan, but without a prepaid label "
            "no carrier scan reaches the shop, so that money waits for delivery to the shop "
            "instead (the warehouse records the parcel).") in result.stdout.splitlines()
    assert ("  - Money is on its way within 48 hours of delivery to the shop."
            in result.stdout.splitlines())
    assert _serve(tmp_path, monkeypatch, "", SCAN) == [WARNING, SCAN_WARNING]
    assert _serve(tmp_path, monkeypatch, "EZTK_test", SCAN) == []


SHIP = ('currency: USD\nwindow: {days: 30}\n'
        'resolution: {allow: [refund, exchange], default: refund}\n'
        'return_shipping: {label: easypost, paid_by: merchant}\n')
OUTBOUND = {"REFUNDS_OUTBOUND_URL": HOOK, "REFUNDS_OUTBOUND_SECRET": SECRET}  # no channel warning
SHIP_SCAN_WARNING = (
    "warning: the policy ships an exchange's new item at the carrier's first scan ({which}) but "
    "no prepaid label is bought ({why}), so no carrier scan can reach us: the new item ships "
    "when the parcel reaches the shop instead, as with ship_on: delivered, once the warehouse "
    "records it (/finance/receive or `refunds returns receive`), and the customer is told so: "
    "see docs/returns-shipping.md")
FIRST_SCAN = "exchange.ship_on: first_scan"
NO_KEY = "REFUNDS_EASYPOST_API_KEY is not set"
SHIPS_ON_DELIVERY = (
    "  - The policy ships an exchange's new item at the carrier's first scan, but without a "
    "prepaid label no carrier scan reaches the shop, so it ships when the return is delivered "
    "to the shop instead (the warehouse records the parcel).")


@pytest.mark.parametrize("policy,key,said", [
    (SHIP, "", [WARNING, SHIP_SCAN_WARNING.format(which=FIRST_SCAN, why=NO_KEY)]),
    (SHIP.replace("label: easypost", "label: none"), "EZTK_test",
     [SHIP_SCAN_WARNING.format(which=FIRST_SCAN, why="return_shipping.label: none")]),
    (SHIP + "tiers: [{name: loyal, min_orders: 3}]\n"
            "exchange: {ship_on: approval, instant_for_tiers: [loyal]}\n", "",
     [WARNING, SHIP_SCAN_WARNING.format(
         which="exchange.ship_on: approval with instant_for_tiers, for the other tiers",
         why=NO_KEY)]),
    (SHIP, "EZTK_test", []),
    (SHIP + "exchange: {ship_on: delivered}\n", "", [WARNING]),
])
def test_policy_check_and_serve_warn_that_a_first_scan_exchange_ships_on_delivery_without_labels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, policy: str, key: str, said: list[str],
) -> None:
    env = _env(tmp_path, key) | OUTBOUND
    Path(env["REFUNDS_POLICY"]).write_text(policy, encoding="utf-8")

    result = CliRunner().invoke(main, ["policy", "check", env["REFUNDS_POLICY"]], env=env)

    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == said
    assert (SHIPS_ON_DELIVERY in result.stdout.splitlines()) == any(
        w.startswith("warning: the policy ships an exchange's") for w in said)
    assert _serve(tmp_path, monkeypatch, key, policy, **OUTBOUND) == said


TRACKING = (
    "warning: return labels are bought (REFUNDS_EASYPOST_API_KEY) but "
    "REFUNDS_EASYPOST_WEBHOOK_SECRET is not set, so every EasyPost tracking event to POST "
    "/webhooks/easypost is refused (400 not_configured): no parcel is seen in transit or "
    "delivered{held}; set it to the secret of your EasyPost webhook: see "
    "docs/returns-shipping.md")
HELD = (", and money or an exchange the policy holds for the carrier (first_scan, delivered) "
        "waits for the warehouse's receipt instead")


@pytest.mark.parametrize(("refund_on", "held"), [
    # the customer was told the refund goes at the carrier's first scan, which never came in
    ("refund_on: first_scan\n", HELD),
    ("", ""),
])
def test_labels_bought_without_the_tracking_webhook_s_secret_are_warned_of(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refund_on: str, held: str
) -> None:
    env = _env(tmp_path, "EZTK_test") | {"REFUNDS_EASYPOST_WEBHOOK_SECRET": ""}
    Path(env["REFUNDS_POLICY"]).write_text(LABELS + refund_on, encoding="utf-8")

    checked = CliRunner().invoke(main, ["policy", "check", env["REFUNDS_POLICY"], "--json"],
                                 env=env)
    said = _serve(tmp_path, monkeypatch, "EZTK_test", LABELS + refund_on,
                  REFUNDS_EASYPOST_WEBHOOK_SECRET="")

    assert json.loads(checked.stdout)["warnings"] == [TRACKING.format(held=held)]
    assert said == [TRACKING.format(held=held)]


def test_no_tracking_warning_where_no_label_is_bought(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _serve(tmp_path, monkeypatch, "", REFUNDS_EASYPOST_WEBHOOK_SECRET="") == [WARNING]
