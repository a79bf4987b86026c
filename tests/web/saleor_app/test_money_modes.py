"""Which providers move money, said per provider: without a Stripe key Stripe is a dry run, but
a Saleor shop's refunds and gift cards are real. ``/healthz`` and ``refunds serve`` say so, and
``/healthz``'s ``dry_run`` is true only when no provider moves money."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from gunicorn.app.base import BaseApplication

from refunds_plugin.cli import main
from refunds_plugin.config import Config
from refunds_plugin.ledger.db import make_engine
from refunds_plugin.ledger.migrate import migrate
from refunds_plugin.routing import money_banner, money_modes
from tests.fakes.saleor_harness import SaleorHarness

SHOP = ("https://shop.example.com/graphql/",)


@pytest.mark.parametrize(("key", "shops", "modes"), [
    ("", (), {"stripe": "dry_run", "saleor": "off"}),
    ("", SHOP, {"stripe": "dry_run", "saleor": "live"}),
    ("sk_live_x", (), {"stripe": "live", "saleor": "off"}),
    ("sk_live_x", SHOP, {"stripe": "live", "saleor": "live"}),
    ("rk_live_x", (), {"stripe": "live", "saleor": "off"}),
    ("sk_test_x", (), {"stripe": "test", "saleor": "off"}),  # Stripe's test mode: no real money
    ("rk_test_x", SHOP, {"stripe": "test", "saleor": "live"}),
])
def test_each_provider_has_its_own_mode(key, shops, modes):
    assert money_modes(Config(stripe_api_key=key, saleor_allowed_api_urls=shops)) == modes


def test_the_banner_names_the_dry_run_and_the_live_provider():
    assert money_banner(Config(saleor_allowed_api_urls=SHOP)) == (
        "money: stripe DRY RUN (no money moves: REFUNDS_STRIPE_API_KEY is not set); "
        "saleor LIVE (refunds and gift cards are real)")


def test_healthz_says_saleor_moves_money_while_stripe_is_a_dry_run(installed):
    body = installed.client.get("/healthz").get_json()
    assert body["money"] == {"stripe": "dry_run", "saleor": "live"}
    assert body["dry_run"] is False  # Saleor's money moves: the service is not a dry run


@pytest.mark.parametrize(("settings", "money", "dry_run", "mode"), [
    ({"saleor_allowed_api_urls": ()}, {"stripe": "dry_run", "saleor": "off"}, True, "dry_run"),
    ({"saleor_allowed_api_urls": (), "stripe_api_key": "sk_live_x"},
     {"stripe": "live", "saleor": "off"}, False, "live"),
    ({"saleor_allowed_api_urls": (), "stripe_api_key": "sk_test_x"},
     {"stripe": "test", "saleor": "off"}, True, "test"),
])
def test_healthz_says_dry_run_only_when_no_provider_moves_money(
        sqlite_url, clock, saleor, settings, money, dry_run, mode):
    migrate(make_engine(sqlite_url))
    h = SaleorHarness(sqlite_url, clock, saleor, **settings)
    try:
        body = h.client.get("/healthz").get_json()
    finally:
        h.close()
    assert (body["money"], body["dry_run"], body["mode"]) == (money, dry_run, mode)


def test_the_banner_says_a_stripe_test_key_moves_no_real_money():
    assert money_banner(Config(stripe_api_key="sk_test_x")) == (
        "money: stripe TEST mode (sk_test key: no real money moves); "
        "saleor off (REFUNDS_SALEOR_ALLOWED_API_URLS is empty)")
    assert money_banner(Config(stripe_api_key="rk_test_x")).startswith(
        "money: stripe TEST mode (rk_test key: no real money moves); ")


def test_serve_prints_the_per_provider_banner(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(BaseApplication, "run", lambda self: None)  # no gunicorn in this test
    result = CliRunner().invoke(main, ["serve", "--no-executor", "--port", "0"], env={
        "REFUNDS_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "REFUNDS_SALEOR_ALLOWED_API_URLS": SHOP[0], "REFUNDS_STRIPE_API_KEY": "",
        "REFUNDS_STOREFRONT_SECRET": "s" * 32,  # else a last line warns storefronts are refused
    })
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith(
        "money: stripe DRY RUN (no money moves: REFUNDS_STRIPE_API_KEY is not set); "
        "saleor LIVE (refunds and gift cards are real)")


def test_the_readme_names_the_line_serve_prints_the_money_on(tmp_path: Path, monkeypatch):
    """README's "Going live" said the money was on serve's last line; started as the first
    command starts it (no storefront secret) the last line is the storefront's warning. The
    money is at the end of the line that says where the service listens, as README now says."""
    monkeypatch.setattr(BaseApplication, "run", lambda self: None)  # no gunicorn in this test
    result = CliRunner().invoke(main, ["serve", "--no-executor", "--port", "0"], env={
        "REFUNDS_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "REFUNDS_STRIPE_API_KEY": "", "REFUNDS_STOREFRONT_SECRET": "",
        "REFUNDS_SALEOR_ALLOWED_API_URLS": "",
    })
    assert result.exit_code == 0, result.output
    lines = result.output.rstrip().splitlines()
    readme = (Path(__file__).parents[3] / "README.md").read_text(encoding="utf-8")
    claim = " ".join(readme.split("### Going live\n\n", 1)[1].split("\n\n", 1)[0].split())
    if "last line" in claim:
        assert "money:" in lines[-1], lines[-1]
    assert "on the line that says where it listens (`refunds-plugin on http://" in claim
    (listens,) = [line for line in lines if line.startswith("refunds-plugin on http://")]
    assert listens.endswith(
        "money: stripe DRY RUN (no money moves: REFUNDS_STRIPE_API_KEY is not set); "
        "saleor off (REFUNDS_SALEOR_ALLOWED_API_URLS is empty)")
