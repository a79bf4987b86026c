"""Configuration: defaults, then REFUNDS_* variables, then overrides; secrets never shown."""

from __future__ import annotations

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
    ({"REFUNDS_MAX_BODY_BYTES": "lots"}, None, "REFUNDS_MAX_BODY_BYTES='lots' is not valid"),
    ({"REFUNDS_MAX_BODY_BYTES": "0"}, None, "REFUNDS_MAX_BODY_BYTES must be positive"),
    ({}, {"no_such_setting": 1}, "unknown settings: no_such_setting"),
])
def test_unusable_settings_are_refused_naming_the_variable(
    env: dict[str, str], overrides: dict[str, int] | None, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(env=env, overrides=overrides)


def test_empty_variables_count_as_unset() -> None:
    assert load_config(env={"REFUNDS_DATABASE_URL": ""}) == Config()
