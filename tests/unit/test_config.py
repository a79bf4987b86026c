"""Configuration: defaults, then REFUNDS_* variables, then overrides; secrets never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from refunds_plugin.config import Config, ConfigError, load_config


def test_defaults_run_on_sqlite_with_the_default_policy_in_dry_run() -> None:
    config = load_config(env={})
    assert (config.database_url, config.policy, config.dry_run) == (
        "sqlite:///refunds.db", "preset:default", True)
    assert (config.signature_tolerance_s, config.max_body_bytes) == (300, 1024 * 1024)


def test_environment_variables_override_defaults_and_overrides_win_over_both() -> None:
    env = {"REFUNDS_DATABASE_URL": "postgresql+psycopg://db/refunds",
           "REFUNDS_STRIPE_API_KEY": "sk_test_x", "REFUNDS_STRIPE_API_BASE": "http://127.0.0.1:1",
           "REFUNDS_STRIPE_WEBHOOK_SECRETS": "whsec_new, whsec_old,,",
           "REFUNDS_MAX_BODY_BYTES": "2048", "REFUNDS_STRIPE_TIMEOUT": "2.5"}
    config = load_config(env=env, overrides={"max_body_bytes": 4096})
    assert config.database_url == "postgresql+psycopg://db/refunds"
    assert config.stripe_webhook_secrets == ("whsec_new", "whsec_old")
    assert (config.stripe_api_base, config.stripe_timeout_s) == ("http://127.0.0.1:1", 2.5)
    assert (config.max_body_bytes, config.dry_run) == (4096, False)


def test_secrets_never_appear_in_the_repr() -> None:
    config = load_config(env={"REFUNDS_STRIPE_API_KEY": "sk_live_secret",
                              "REFUNDS_STOREFRONT_SECRET": "shh-storefront",
                              "REFUNDS_STRIPE_WEBHOOK_SECRETS": "whsec_hidden"})
    shown = repr(config)
    assert "sk_live_secret" not in shown
    assert "shh-storefront" not in shown
    assert "whsec_hidden" not in shown


@pytest.mark.parametrize(("env", "overrides", "message"), [
    ({"REFUNDS_MAX_BODY_BYTES": "lots"}, None,
     r"^REFUNDS_MAX_BODY_BYTES='lots' is not valid: it must be a whole number, such as 10$"),
    ({"REFUNDS_EXECUTOR_POLL": "soon"}, None,
     r"^REFUNDS_EXECUTOR_POLL='soon' is not valid: it must be a number, such as 2.5$"),
    ({"REFUNDS_MAX_BODY_BYTES": "0"}, None, "REFUNDS_MAX_BODY_BYTES must be positive"),
    ({}, {"no_such_setting": 1}, "unknown settings: no_such_setting"),
    ({"REFUNDS_EXECUTOR_LEASE": "0"}, None,
     r"^REFUNDS_EXECUTOR_LEASE=0 is not valid: it must be more than 0$"),
    ({"REFUNDS_EXECUTOR_MAX_TRIES": "-1"}, None,
     r"^REFUNDS_EXECUTOR_MAX_TRIES=-1 is not valid: it must be more than 0$"),
    ({"REFUNDS_OUTBOX_MAX_TRIES": "0"}, None,
     r"^REFUNDS_OUTBOX_MAX_TRIES=0 is not valid: it must be more than 0$"),
    ({"REFUNDS_STRIPE_TIMEOUT": "-1"}, None,
     r"^REFUNDS_STRIPE_TIMEOUT=-1.0 is not valid: it must be more than 0$"),
    ({"REFUNDS_STRIPE_MAX_NETWORK_RETRIES": "-2"}, None,
     r"^REFUNDS_STRIPE_MAX_NETWORK_RETRIES=-2 is not valid: it must be 0 or more$"),
    ({}, {"executor_poll_s": 0}, r"^REFUNDS_EXECUTOR_POLL=0 is not valid: it must be more than 0$"),
    ({"REFUNDS_LOG_LEVEL": "LOUD"}, None, r"^REFUNDS_LOG_LEVEL='LOUD' is not valid: expected one "
                                          r"of DEBUG, INFO, WARNING, ERROR, CRITICAL$"),
])
def test_unusable_settings_are_refused_naming_the_variable(
    env: dict[str, str], overrides: dict[str, int] | None, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(env=env, overrides=overrides)


def test_empty_variables_count_as_unset() -> None:
    assert load_config(env={"REFUNDS_DATABASE_URL": ""}) == Config()


def test_a_config_file_sets_what_the_environment_did_not_and_overrides_still_win(
    tmp_path: Path,
) -> None:
    path = tmp_path / "refunds.toml"
    path.write_text('policy = "preset:no-hassle"\nmax_body_bytes = 2048\n'
                    'saleor_allowed_api_urls = ["https://shop.example/graphql/"]\n'
                    'executor_poll_s = 1\n')
    env = {"REFUNDS_CONFIG_FILE": str(path), "REFUNDS_DATABASE_URL": "sqlite:///x.db"}
    config = load_config(env=env, overrides={"max_body_bytes": 4096})
    assert (config.policy, config.database_url, config.max_body_bytes) == (
        "preset:no-hassle", "sqlite:///x.db", 4096)
    assert config.saleor_allowed_api_urls == ("https://shop.example/graphql/",)
    assert config.executor_poll_s == 1.0


@pytest.mark.parametrize(("text", "message"), [
    ('stripe_api_key = "sk_live_x"\n', "stripe_api_key is a secret; set it in the environment"),
    ('colour = "red"\n', "unknown setting 'colour'"),
    # named after its variable (REFUNDS_EXECUTOR_LEASE), or nearly right: the key is said
    ("executor_lease = 30\n", "unknown setting 'executor_lease', did you mean 'executor_lease_s'"),
    ("stripe_timout_s = 5\n", "unknown setting 'stripe_timout_s', did you mean 'stripe_timeout_s'"),
    ('max_body_bytes = "big"\n', "max_body_bytes must be int, got 'big'"),
    ('run_executor = 1\n', "run_executor must be bool, got 1"),
    ("policy = \n", "not valid TOML"),
])
def test_a_config_file_with_a_mistake_names_it(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "refunds.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(env={"REFUNDS_CONFIG_FILE": str(path)})


def test_a_missing_config_file_is_refused() -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        load_config(env={"REFUNDS_CONFIG_FILE": "/nonexistent/refunds.toml"})


@pytest.mark.parametrize("url", ["https://shop.example.com", "https://shop.example.com/",
                                 "shop.example.com/graphql/", "ftp://shop.example.com/graphql/",
                                 "https://shop.example.com/graphql/?x=1"])
def test_an_allowed_saleor_api_url_that_is_not_a_graphql_url_stops_the_start(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(env={"REFUNDS_SALEOR_ALLOWED_API_URLS": url})
    assert str(caught.value) == (
        f"REFUNDS_SALEOR_ALLOWED_API_URLS: {url!r} is not a Saleor API URL; expected the store's "
        "GraphQL URL ending in /graphql/, such as https://shop.example.com/graphql/")


def test_a_retry_count_of_0_and_a_lower_case_log_level_are_taken() -> None:
    config = load_config(env={"REFUNDS_STRIPE_MAX_NETWORK_RETRIES": "0",
                              "REFUNDS_LOG_LEVEL": "debug"})
    assert (config.stripe_max_network_retries, config.log_level) == (0, "debug")


def test_the_commands_say_a_log_level_they_cannot_use_in_one_line() -> None:
    from click.testing import CliRunner

    from refunds_plugin.cli import main

    result = CliRunner().invoke(main, ["worker", "--once"], env={"REFUNDS_LOG_LEVEL": "LOUD"})
    assert result.exit_code == 2  # a bad setting, as every other
    assert result.output == ("Error: REFUNDS_LOG_LEVEL='LOUD' is not valid: expected one of "
                             "DEBUG, INFO, WARNING, ERROR, CRITICAL\n")
