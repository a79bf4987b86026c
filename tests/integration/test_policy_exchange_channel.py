"""``refunds policy check`` (and ``serve``, through the same ``exchanges.shipping``) warn when
the policy offers exchanges and nothing but a Saleor order would tell the shop to ship one."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from refunds_plugin.cli.policy import policy
from refunds_plugin.shipping.listing import ADDRESS_WARNING
from tests.fakes.outbound_receiver import HOOK, SECRET

EXCHANGES = ("currency: USD\nwindow: {days: 30}\n"
             "resolution: {allow: [refund, exchange], default: refund}\n")
# shipped on delivery: the default first_scan without a label (none here) has its own warning
# (``test_label_warnings.py``)
ON_DELIVERY = EXCHANGES + "exchange: {ship_on: delivered}\n"
WARNING = ("warning: the policy offers exchanges, but REFUNDS_OUTBOUND_URL is not set: no "
           "exchange.ready_to_ship event reaches your systems, so only Saleor orders ship "
           "their new items (the replacement order). Any other exchange stays ready to ship "
           "with an exchange_unshipped follow-up (/finance/follow-ups) for a person to send it.")


def _check(tmp_path: Path, text: str, **env: str) -> list[str]:
    path = tmp_path / "shop.yaml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(policy, ["check", str(path)], env={
        "REFUNDS_DATABASE_URL": f"sqlite:///{tmp_path / 'none.db'}", "REFUNDS_OUTBOUND_URL": "",
        **env})
    assert result.exit_code == 0, result.output
    return result.stderr.splitlines()


def _with_address(tmp_path: Path) -> str:
    """A settings file with one return address, so only the exchange warning is in question."""
    path = tmp_path / "settings.toml"
    path.write_text('[[return_addresses]]\nname = "Returns"\nstreet = "1 Dock Rd"\n'
                    'city = "Austin"\npostal_code = "78701"\ncountry = "US"\n',
                    encoding="utf-8")
    return str(path)


def test_exchanges_with_no_outbound_receiver_are_warned_about(tmp_path: Path) -> None:
    assert _check(tmp_path, ON_DELIVERY, REFUNDS_CONFIG_FILE=_with_address(tmp_path)) == [
        WARNING]


def test_an_outbound_receiver_or_no_exchanges_needs_no_warning(tmp_path: Path) -> None:
    settings = _with_address(tmp_path)
    assert _check(tmp_path, ON_DELIVERY, REFUNDS_OUTBOUND_URL=HOOK,
                  REFUNDS_OUTBOUND_SECRET=SECRET, REFUNDS_CONFIG_FILE=settings) == []
    assert _check(tmp_path, EXCHANGES.replace(", exchange", ""),
                  REFUNDS_CONFIG_FILE=settings) == []


def test_without_a_return_address_the_check_says_what_customers_are_told(
    tmp_path: Path,
) -> None:
    assert _check(tmp_path, EXCHANGES.replace(", exchange", "")) == [ADDRESS_WARNING]
