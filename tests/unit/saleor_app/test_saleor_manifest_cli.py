"""``refunds saleor manifest`` prints the manifest Saleor installs from."""

from __future__ import annotations

import json

from click.testing import CliRunner

from refunds_plugin.cli import main


def test_refunds_saleor_manifest_prints_the_manifest_for_the_app_url():
    result = CliRunner().invoke(main, ["saleor", "manifest", "--app-url", "https://r.example.com/"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["tokenTargetUrl"] == "https://r.example.com/saleor/register"
    assert data["requiredSaleorVersion"] == ">=3.20"
    assert {w["asyncEvents"][0] for w in data["webhooks"]} == {
        "ORDER_FULLY_PAID", "ORDER_UPDATED", "ORDER_REFUNDED", "ORDER_FULLY_REFUNDED"}


def test_refunds_saleor_manifest_without_an_app_url_says_what_is_missing():
    result = CliRunner().invoke(main, ["saleor", "manifest"], env={"REFUNDS_APP_URL": ""})
    assert result.exit_code == 2
    assert "--app-url" in result.output


def test_an_app_url_that_is_not_a_url_is_refused_and_plain_http_is_warned_about():
    for wrong in ("returns.example.com", "http://[::1", "https://exa mple.com",
                  "https://r.example.com:99999"):
        bad = CliRunner().invoke(main, ["saleor", "manifest", "--app-url", wrong])
        assert bad.exit_code == 2, bad.output
        assert bad.output.splitlines()[-1] == (
            f"Error: --app-url {wrong!r} is not a URL: give the public https URL Saleor "
            "reaches this service at, e.g. https://returns.example.com")

    plain = CliRunner().invoke(main, ["saleor", "manifest", "--app-url", "http://r.example.com"])
    assert plain.exit_code == 0
    assert json.loads(plain.stdout)["tokenTargetUrl"] == "http://r.example.com/saleor/register"
    assert plain.stderr == (
        "warning: --app-url http://r.example.com is not https: Saleor would send its webhooks "
        "(orders, customers' emails) and the app's token to it unencrypted; use https outside "
        "a local test\n")

    local = CliRunner().invoke(main, ["saleor", "manifest", "--app-url", "http://localhost:8000"])
    assert local.exit_code == 0 and local.stderr == ""


def test_a_saleor_version_that_is_no_version_is_refused_not_read_as_none():
    # "3,23" printed the 3.20 manifest without the order widget, and nothing said why
    for wrong in ("3,23", "banana", "v3.23"):
        bad = CliRunner().invoke(main, ["saleor", "manifest", "--app-url", "https://r.example.com",
                                        "--saleor-version", wrong])
        assert bad.exit_code == 2, bad.output
        assert bad.output.splitlines()[-1] == (
            f"Error: Invalid value for --saleor-version: {wrong!r} is not a Saleor version: "
            "give it as 3.23 (or 3.23.1)")
    good = CliRunner().invoke(main, ["saleor", "manifest", "--app-url", "https://r.example.com",
                                     "--saleor-version", "3.23.1"])
    assert good.exit_code == 0
    assert [e["mount"] for e in json.loads(good.stdout)["extensions"]] == [
        "ORDER_DETAILS_WIDGETS"]
