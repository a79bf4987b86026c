"""``refunds policy check`` and ``explain`` on exchanges: the rules in plain words, and one
exchange decided with its difference to the minor unit."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from refunds_plugin.cli.policy import policy

POLICY = """currency: USD
window: {days: 30}
resolution: {allow: [refund, credit, exchange]}
exchange: {price_difference: {higher: {waive_up_to: "5.00"}}}
"""


# one pair of shoes at 40.00 asked back too small, for the 52.50 size up
SWAP = ("explain", "--policy", "POLICY", "--price", "40.00", "--reason", "too_small",
        "--exchange-for", "SHOE-43", "--exchange-price", "52.50")


def run(tmp_path: Path, *args: str, address: bool = True, live: bool = True) -> str:
    """``refunds policy`` with the policy at POLICY; ``address``: a return address configured;
    ``live``: a live Stripe key set (money moves: a difference can be charged)."""
    path = tmp_path / "swap.yaml"
    path.write_text(POLICY)
    settings = tmp_path / "settings.toml"
    settings.write_text('[[return_addresses]]\nname = "Returns"\nstreet = "1 Dock Rd"\n'
                        'city = "Austin"\npostal_code = "78701"\ncountry = "US"\n'
                        if address else "", encoding="utf-8")
    result = CliRunner().invoke(policy, [a.replace("POLICY", str(path)) for a in args],
                                env={"REFUNDS_CONFIG_FILE": str(settings),
                                     "REFUNDS_STRIPE_API_KEY": "sk_live_cli" if live else ""})
    assert result.exit_code == 0, result.output
    return result.output


def test_check_says_the_exchange_rules_in_plain_words(tmp_path: Path) -> None:
    out = run(tmp_path, "check", "POLICY")
    assert ("Exchanges: a returned item may be swapped for another size or colour of the same "
            "product. A cheaper item: the difference comes back as a refund; a dearer one: we "
            "waive up to 5.00 USD of the difference and the customer pays the rest.") in out


def test_check_without_a_return_address_says_nothing_waits_for_a_parcel(
    tmp_path: Path,
) -> None:
    """With no ``[[return_addresses]]`` no return is opened: the rules say the money moves and
    the new item ships at approval, as the service then acts, and never promise a deadline."""
    held = POLICY + "refund_on: first_scan\n"
    (tmp_path / "held.yaml").write_text(held)
    without = run(tmp_path, "check", str(tmp_path / "held.yaml"), address=False)
    assert ("  - Items that must come back get no address, deadline or label from this shop (no "
            "return address is configured): the customer is told \"The shop will tell you where "
            "to send it.\"\n"
            "  - The policy holds money for the parcel (refund_on), but with no return address "
            "no return waits for one, so the money moves at approval instead.\n"
            "  - Money is on its way within 48 hours of approval.\n") in without
    assert ("The new item ships at once, on approval (no return address is configured, so no "
            "return waits for its parcel).") in without
    assert "must be sent within" not in without
    with_one = run(tmp_path, "check", str(tmp_path / "held.yaml"))
    assert "they must be sent within 30 days of approval" in with_one
    assert "Money is on its way within 48 hours of the carrier's first scan." not in with_one
    assert "Money is on its way within 48 hours of delivery to the shop." in with_one


def test_explain_decides_an_exchange_with_its_difference(tmp_path: Path) -> None:
    out = run(tmp_path, *SWAP)
    assert ("exchange:    line-1 → SHOE-43 (52.50 USD); difference 12.50 USD settled as "
            "waived+charge (back 0.00 USD, waived 5.00 USD, charge 7.50 USD); ships on "
            "delivered") in out  # the policy buys no label: its first_scan waits for delivery
    assert "Your new item ships as soon as your return is delivered to us." in out
    assert "exchange_higher_charged" in out
    assert "returns:" not in out


def test_explain_without_a_return_address_ships_the_exchange_at_approval(
    tmp_path: Path,
) -> None:
    out = run(tmp_path, *SWAP, address=False)
    assert ("returns:     no return address is configured ([[return_addresses]]), as the "
            "service sees it: no return waits for its parcel, the money moves and an exchange's "
            "new item ships at approval\n") in out
    assert "charge 7.50 USD); ships on approval\n" in out
    assert "exchange_ships_approval_no_return_address" in out
    assert "Your new item ships right away: we do not wait for your return to reach us." in out


def test_explain_in_test_mode_decides_as_the_service_then_does(tmp_path: Path) -> None:
    """No Stripe key: nothing can be charged, so the dearer item is not swapped and the return
    comes back as a refund, as the service decides then; and no promise is told."""
    out = run(tmp_path, *SWAP, live=False)
    assert ("money:       test mode (no REFUNDS_STRIPE_API_KEY, or a test key), as the service "
            "sees it: no real money moves, nothing is charged for an exchange, and the customer "
            "is not told when money goes\n") in out
    assert "exchange:" not in out and "resolution:  refund 40.00 USD to pay-1\n" in out
    assert ("We can't exchange SKU-1 for SHOE-43: it costs more, and we cannot take the "
            "difference for this order, so it comes back as a refund instead.") in out
    assert "on its way within" not in out
    live = run(tmp_path, "explain", "--policy", "POLICY", "--price", "40.00", "--reason",
               "too_small")
    assert "money:" not in live and "The money will be on its way within 48 hours." in live


def test_explain_says_why_not_and_what_instead(tmp_path: Path) -> None:
    out = run(tmp_path, "explain", "--policy", "POLICY", "--price", "40.00", "--exchange-for",
              "BOOT-1", "--other-product")
    assert ("We can't exchange SKU-1: BOOT-1 is not another size or colour of SKU-1, and we "
            "exchange only for the same product, so it comes back as a refund instead.") in out
    assert "refund 40.00 USD" in out
