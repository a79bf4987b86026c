"""A setting the operator got wrong (an environment variable or the settings file) is one line
naming it and its fix, exit 2 (1 means "differences found" to ``reconcile``): never click's
"Usage:" header and "Try --help", which point at a command line the operator typed correctly."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from refunds_plugin.cli import main

COMMANDS = [
    ["serve"], ["worker", "--once"], ["migrate"], ["ledger", "list"], ["ledger", "verify"],
    ["tokens", "list"], ["reconcile", "--since", "2026-11-01"], ["insights", "costs"],
    ["trouble", "scan"], ["returns", "list"], ["policy", "simulate", "preset:default"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_a_setting_that_is_not_valid_is_one_line_without_usage_text(
    sqlite_url: str, command: list[str], tmp_path: Path
) -> None:
    env = {"REFUNDS_DATABASE_URL": sqlite_url, "REFUNDS_STRIPE_API_KEY": "sk_test_x"}

    lease = CliRunner().invoke(main, command, env={**env, "REFUNDS_EXECUTOR_LEASE": "abc"})
    missing = CliRunner().invoke(
        main, command, env={**env, "REFUNDS_CONFIG_FILE": f"{tmp_path}/nowhere.toml"})

    assert (lease.exit_code, lease.output) == (
        2, "Error: REFUNDS_EXECUTOR_LEASE='abc' is not valid: it must be a whole number, such "
           "as 10\n")
    assert (missing.exit_code, missing.output) == (
        2, f"Error: REFUNDS_CONFIG_FILE='{tmp_path}/nowhere.toml' cannot be read: No such file "
           "or directory\n")
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists()
