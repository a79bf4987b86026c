"""A setting a merchant got wrong stops the start in one line that names it and says the fix,
before any banner and before the database is touched: never a traceback from a gunicorn worker,
a thread or a library, and never a service that starts and fails later on every request."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from gunicorn.app.base import BaseApplication

from refunds_plugin.cli import main
from refunds_plugin.config import ConfigError, load_config
from tests.integration.starting import start_serve
from webhooks import create_app


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What gunicorn was asked to serve (nothing is served)."""
    runs: list[str] = []
    monkeypatch.setattr(BaseApplication, "run", lambda app: runs.append(app.cfg.bind[0]))
    return runs


@pytest.fixture
def listening() -> Iterator[int]:
    """A port something is already listening on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


# --- REFUNDS_RATELIMIT_STORAGE_URI ------------------------------------------------------------


def test_a_rate_limit_store_the_limiter_does_not_know_stops_serve_in_one_line(
    tmp_path: Path, served: list[str]
) -> None:
    said = start_serve(tmp_path, REFUNDS_RATELIMIT_STORAGE_URI="redis//127.0.0.1:6379")

    assert said == (2, "Error: REFUNDS_RATELIMIT_STORAGE_URI='redis//127.0.0.1:6379' is not a "
                       "store the rate limiter knows: use memory:// (one process) or "
                       "redis://host:6379 (shared by every worker and host)\n")
    assert served == []
    assert not (tmp_path / "ledger.db").exists()


def test_a_redis_rate_limit_store_without_the_redis_package_names_the_extra_to_install(
    tmp_path: Path, served: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a fresh `pip install -e .` has no redis package; the README says to use redis:// when
    # several processes serve. Every gunicorn worker died on it with a traceback.
    monkeypatch.setitem(sys.modules, "redis", None)

    said = start_serve(tmp_path, REFUNDS_RATELIMIT_STORAGE_URI="redis://:hunter2@127.0.0.1:6379/0")

    assert said == (2, "Error: REFUNDS_RATELIMIT_STORAGE_URI='redis://:***@127.0.0.1:6379/0' "
                       "needs the Python package redis, which is not installed: "
                       "pip install -e \".[redis]\"\n")
    assert served == []
    assert not (tmp_path / "ledger.db").exists()


def test_a_redis_rate_limit_store_with_a_port_that_is_no_number_is_named(
    tmp_path: Path, served: list[str]
) -> None:
    said = start_serve(tmp_path, REFUNDS_RATELIMIT_STORAGE_URI="redis://127.0.0.1:port")

    assert said == (2, "Error: REFUNDS_RATELIMIT_STORAGE_URI='redis://127.0.0.1:port' cannot be "
                       "used: Port could not be cast to integer value as 'port'\n")
    assert served == []


def test_the_app_run_by_gunicorn_directly_refuses_an_unknown_store_naming_the_variable(
    tmp_path: Path,
) -> None:
    config = load_config(env={}, overrides={
        "database_url": f"sqlite:///{tmp_path}/ledger.db", "secret_key": "k" * 32,
        "ratelimit_storage_uri": "bogus://x"})

    with pytest.raises(ConfigError) as refused:
        create_app(config)

    assert str(refused.value) == (
        "REFUNDS_RATELIMIT_STORAGE_URI='bogus://x' is not a store the rate limiter knows: use "
        "memory:// (one process) or redis://host:6379 (shared by every worker and host)")


def test_a_redis_rate_limit_store_with_the_package_installed_starts(
    tmp_path: Path, served: list[str]
) -> None:
    # nothing is connected to at start: a store that is down is the limiter's to ride out
    code, output = start_serve(tmp_path, REFUNDS_RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")

    assert code == 0, output
    assert len(served) == 1


# --- refunds worker --metrics-port ------------------------------------------------------------


def test_a_busy_metrics_port_stops_the_worker_in_one_line_before_it_claims_anything(
    tmp_path: Path, listening: int
) -> None:
    env = {"REFUNDS_DATABASE_URL": f"sqlite:///{tmp_path}/ledger.db"}

    result = CliRunner().invoke(main, ["worker", "--metrics-port", str(listening)], env=env)

    assert (result.exit_code, result.output) == (
        1, f"Error: port {listening} on 127.0.0.1 is already in use: choose another with "
           "--metrics-port, or stop what is listening there\n")
    assert not (tmp_path / "ledger.db").exists()


def test_a_metrics_host_that_does_not_resolve_stops_the_worker_naming_the_variable(
    tmp_path: Path,
) -> None:
    env = {"REFUNDS_DATABASE_URL": f"sqlite:///{tmp_path}/ledger.db",
           "REFUNDS_METRICS_HOST": "no-such-host.invalid"}

    result = CliRunner().invoke(main, ["worker", "--once", "--metrics-port", "9"], env=env)

    assert result.exit_code == 2
    assert result.output.startswith("Error: no-such-host.invalid is not an address to listen "
                                    "on (")
    assert result.output.endswith("): check REFUNDS_METRICS_HOST\n")
    assert not (tmp_path / "ledger.db").exists()


def test_a_serve_host_that_does_not_resolve_is_named_before_any_banner(
    tmp_path: Path, served: list[str]
) -> None:
    env = {"REFUNDS_DATABASE_URL": f"sqlite:///{tmp_path}/ledger.db"}

    result = CliRunner().invoke(main, ["serve", "--host", "no-such-host.invalid"], env=env)

    assert result.exit_code == 1
    assert result.output.startswith("Error: no-such-host.invalid is not an address to listen "
                                    "on (")
    assert result.output.endswith("): check --host\n")
    assert served == []


# --- REFUNDS_STRIPE_API_KEY ------------------------------------------------------------------


@pytest.mark.parametrize("key", ["pk_live_51Habc", "pk_test_51Habc"])
def test_a_publishable_stripe_key_is_refused_not_announced_as_live(
    tmp_path: Path, served: list[str], key: str
) -> None:
    # it was taken as a live key: "money: stripe LIVE (money moves)", customers promised money
    # within the policy's hours, and every refund then refused by Stripe (authentication)
    code, output = start_serve(tmp_path, REFUNDS_STRIPE_API_KEY=key)

    assert code == 2
    assert output.splitlines()[-1] == (
        "Error: REFUNDS_STRIPE_API_KEY is a publishable key (pk_…), which cannot refund: use "
        "the secret key (sk_live_…, sk_test_…) or a restricted key (rk_…) from Stripe's "
        "Dashboard, Developers, API keys")
    assert "LIVE" not in output
    assert key not in output
    assert served == []
    assert not (tmp_path / "ledger.db").exists()


def test_the_webhook_secret_in_the_api_key_variable_is_refused_naming_where_it_belongs(
    tmp_path: Path, served: list[str]
) -> None:
    code, output = start_serve(tmp_path, REFUNDS_STRIPE_API_KEY="whsec_abc123")

    assert code == 2
    assert output.splitlines()[-1] == (
        "Error: REFUNDS_STRIPE_API_KEY is a webhook signing secret (whsec_…): it belongs in "
        "REFUNDS_STRIPE_WEBHOOK_SECRETS; the API key is sk_… or rk_…")
    assert "whsec_abc123" not in output
    assert served == []


@pytest.mark.parametrize(("secrets", "said"), [
    # an API key pasted as the webhook secret was taken, and every Stripe event was refused 400
    ("whsec_new,sk_live_51Habc", "secret 2 of 2 is an API key (sk_…)"),
    ("we_1Habc", "secret 1 of 1 is not a Stripe signing secret"),
])
def test_a_stripe_webhook_secret_that_is_no_signing_secret_is_refused_without_saying_it(
    tmp_path: Path, served: list[str], secrets: str, said: str
) -> None:
    code, output = start_serve(tmp_path, REFUNDS_STRIPE_WEBHOOK_SECRETS=secrets)

    assert code == 2
    assert output.splitlines()[-1] == (
        f"Error: REFUNDS_STRIPE_WEBHOOK_SECRETS: {said}: use the endpoint's signing secret "
        "(whsec_…, its Signing secret in Stripe's Dashboard, Developers, Webhooks)")
    assert "51Habc" not in output
    assert served == []


def test_rotating_stripe_webhook_secrets_are_taken() -> None:
    config = load_config(env={"REFUNDS_STRIPE_WEBHOOK_SECRETS": "whsec_new, whsec_old"})

    assert config.stripe_webhook_secrets == ("whsec_new", "whsec_old")


@pytest.mark.parametrize("key", ["sk_live_x", "sk_test_x", "rk_live_x", "rk_test_x"])
def test_secret_and_restricted_stripe_keys_are_taken(key: str) -> None:
    assert load_config(env={"REFUNDS_STRIPE_API_KEY": key}).stripe_api_key == key


# --- REFUNDS_APP_URL -------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["returns.example.com", "ftp://returns.example.com",
                                 "https://returns example.com", "https://returns.example.com:99999"])
def test_an_app_url_that_is_no_web_address_stops_serve_before_saleor_or_a_customer_sees_it(
    tmp_path: Path, served: list[str], url: str
) -> None:
    # it was taken: GET /saleor/manifest then named "returns.example.com/saleor/register" as
    # the token target, and every email's status link pointed nowhere
    code, output = start_serve(tmp_path, REFUNDS_APP_URL=url)

    assert code == 2
    assert output.splitlines()[-1] == (
        f"Error: REFUNDS_APP_URL={url!r} is not valid: expected the public http(s) address "
        "customers and Saleor reach this service at, such as https://returns.example.com")
    assert served == []
    assert not (tmp_path / "ledger.db").exists()


def test_an_app_url_from_the_settings_file_is_checked_too(tmp_path: Path) -> None:
    config_file = tmp_path / "refunds.toml"
    config_file.write_text('saleor_app_url = "returns.example.com"\n')

    with pytest.raises(ConfigError) as refused:
        load_config(env={"REFUNDS_CONFIG_FILE": str(config_file)})

    assert str(refused.value) == (
        "REFUNDS_APP_URL='returns.example.com' is not valid: expected the public http(s) "
        "address customers and Saleor reach this service at, such as "
        "https://returns.example.com")


def test_the_app_url_the_docs_set_names_the_token_target_in_the_served_manifest(
    tmp_path: Path,
) -> None:
    config = load_config(env={"REFUNDS_APP_URL": "https://refunds.example.com",
                              "REFUNDS_DATABASE_URL": f"sqlite:///{tmp_path}/ledger.db",
                              "REFUNDS_SECRET_KEY": "k" * 32})

    answer = create_app(config).test_client().get("/saleor/manifest")

    assert answer.status_code == 200
    assert answer.get_json()["tokenTargetUrl"] == "https://refunds.example.com/saleor/register"


# --- REFUNDS_DATABASE_URL naming a file that is no database ----------------------------------


@pytest.mark.parametrize("command", [["migrate"], ["ledger", "list"], ["worker", "--once"],
                                     ["serve", "--port", "0"]])
def test_a_database_url_naming_a_file_that_is_no_database_is_one_line_and_the_file_is_kept(
    tmp_path: Path, served: list[str], command: list[str]
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("the shop's notes, not a ledger\n")
    env = {"REFUNDS_DATABASE_URL": f"sqlite:///{notes}", "REFUNDS_SECRET_KEY": "k" * 32}

    result = CliRunner().invoke(main, command, env=env)

    assert (result.exit_code, result.output.splitlines()[-1:]) == (
        1, [f"Error: cannot open the database sqlite:///{notes}: file is not a database"])
    assert "Traceback" not in result.output
    assert notes.read_text() == "the shop's notes, not a ledger\n"
    assert served == []


# --- serve and worker options out of range ---------------------------------------------------


@pytest.mark.parametrize(("command", "said"), [
    (["serve", "--port", "70000"],
     "Invalid value for '--port': 70000 is not in the range 0<=x<=65535."),
    (["serve", "--port", "-1"], "Invalid value for '--port': -1 is not in the range 0<=x<=65535."),
    (["serve", "--workers", "0"], "Invalid value for '--workers': 0 is not in the range x>=1."),
    (["serve", "--threads", "0"], "Invalid value for '--threads': 0 is not in the range x>=1."),
    (["worker", "--once", "--metrics-port", "70000"],
     "Invalid value for '--metrics-port': 70000 is not in the range 0<=x<=65535."),
])
def test_a_port_workers_or_threads_out_of_range_is_a_usage_error_before_anything_starts(
    tmp_path: Path, served: list[str], command: list[str], said: str
) -> None:
    # --port 70000 was an OverflowError traceback; --threads 0 a traceback from every gunicorn
    # worker; --workers 0 a gunicorn that listened with no worker to answer
    env = {"REFUNDS_DATABASE_URL": f"sqlite:///{tmp_path}/ledger.db"}

    result = CliRunner().invoke(main, command, env=env)

    assert (result.exit_code, result.output.splitlines()[-1:]) == (2, [f"Error: {said}"])
    assert served == []
    assert not (tmp_path / "ledger.db").exists()


# --- REFUNDS_SHOP_LOGO_URL, REFUNDS_STRIPE_API_BASE, REFUNDS_EASYPOST_API_BASE -----------------

LOGO = ("expected the https address of an image, such as https://cdn.example.com/logo.png (the "
        "pages show images over https only, and an email needs the whole address)")
BASE = "expected the http(s) address of a proxy or a local fake, such as http://127.0.0.1:12111"


@pytest.mark.parametrize(("var", "value", "expected"), [
    # an http logo was taken, and the returns pages' Content-Security-Policy (img-src https:)
    # blocked it: a broken image in the header; a path was no image in any email
    ("REFUNDS_SHOP_LOGO_URL", "http://cdn.example.com/logo.png", LOGO),
    ("REFUNDS_SHOP_LOGO_URL", "/static/logo.png", LOGO),
    ("REFUNDS_SHOP_LOGO_URL", "cdn.example.com/logo.png", LOGO),
    # a base that is no URL was taken, and every refund or label call then failed to connect,
    # retried until 'unknown', with nothing said at start
    ("REFUNDS_STRIPE_API_BASE", "127.0.0.1:12111", BASE),
    ("REFUNDS_EASYPOST_API_BASE", "localhost/v2", BASE),
])
def test_a_logo_or_api_base_that_cannot_be_used_stops_serve_naming_it(
    tmp_path: Path, served: list[str], var: str, value: str, expected: str
) -> None:
    code, output = start_serve(tmp_path, **{var: value})

    assert code == 2
    assert output.splitlines()[-1] == f"Error: {var}={value!r} is not valid: {expected}"
    assert served == []
    assert not (tmp_path / "ledger.db").exists()


def test_a_logo_from_the_settings_file_is_checked_too(tmp_path: Path) -> None:
    config_file = tmp_path / "refunds.toml"
    config_file.write_text('shop_logo_url = "http://cdn.example.com/logo.png"\n')

    with pytest.raises(ConfigError) as refused:
        load_config(env={"REFUNDS_CONFIG_FILE": str(config_file)})

    assert str(refused.value) == (
        f"REFUNDS_SHOP_LOGO_URL='http://cdn.example.com/logo.png' is not valid: {LOGO}")


def test_an_https_logo_with_a_query_and_a_local_fake_api_base_are_taken() -> None:
    config = load_config(env={
        "REFUNDS_SHOP_LOGO_URL": "https://cdn.example.com/files/logo.png?v=1712",
        "REFUNDS_STRIPE_API_BASE": "http://127.0.0.1:12111",
        "REFUNDS_EASYPOST_API_BASE": "http://127.0.0.1:9/v2"})

    assert (config.shop_logo_url, config.stripe_api_base, config.easypost_api_base) == (
        "https://cdn.example.com/files/logo.png?v=1712", "http://127.0.0.1:12111",
        "http://127.0.0.1:9/v2")


def test_a_postgres_url_in_heroku_s_spelling_is_told_how_to_write_it(tmp_path: Path) -> None:
    # it said "names postgres, which refunds-plugin does not support", of PostgreSQL itself
    env = {"REFUNDS_DATABASE_URL": "postgres://shop:pw@db.example.com:5432/refunds"}

    result = CliRunner().invoke(main, ["migrate"], env=env)

    assert (result.exit_code, result.output) == (
        2, "Error: REFUNDS_DATABASE_URL='postgres://shop:***@db.example.com:5432/refunds' "
           "spells PostgreSQL postgres://, which SQLAlchemy does not read: write "
           "postgresql+psycopg://shop:***@db.example.com:5432/refunds\n")


def test_a_dashboard_url_that_is_no_url_is_refused_instead_of_dropped_from_framing(
    tmp_path: Path, served: list[str]
) -> None:
    # it was dropped from the widget's frame-ancestors, so the Dashboard could not show the card
    code, output = start_serve(
        tmp_path, REFUNDS_SALEOR_DASHBOARD_URLS="https://dashboard.example.com/,dashboard.example.net")

    assert code == 2
    assert output.splitlines()[-1] == (
        "Error: REFUNDS_SALEOR_DASHBOARD_URLS='https://dashboard.example.com/,dashboard.example"
        ".net' is not valid: expected comma-separated http(s) addresses of your Saleor "
        "Dashboard, such as https://dashboard.example.com/")
    assert served == []
    assert load_config(env={"REFUNDS_SALEOR_DASHBOARD_URLS": "https://a.example/, https://b.example/"}
                       ).saleor_dashboard_urls == ("https://a.example/", "https://b.example/")


def test_a_policy_that_does_not_load_stops_serve_before_a_database_is_made_or_a_key_said(
    tmp_path: Path, served: list[str]
) -> None:
    # it printed "status links: … kept in its database" and made and migrated ledger.db first
    code, output = start_serve(tmp_path, REFUNDS_SECRET_KEY="",
                               REFUNDS_POLICY=str(tmp_path / "my-polcy.yaml"))

    assert (code, output) == (
        1, "Error: refusing to start: the policy is invalid:\ninvalid policy "
           f"{tmp_path / 'my-polcy.yaml'}: (file): expected a readable policy file or "
           "preset:NAME, found no such file or directory\n")
    assert served == []
    assert not (tmp_path / "ledger.db").exists()
