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


COLOUR = "expected a colour written #rgb or #rrggbb, such as #1f4b99"


@pytest.mark.parametrize("value", ["red", "1f4b99", "#12345", "#gg0000", "rgb(0,0,0)"])
def test_a_primary_colour_that_is_no_colour_stops_serve_instead_of_falling_back_silently(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    # the returns pages and emails showed the default blue, and nothing said why
    from gunicorn.app.base import BaseApplication

    from tests.integration.starting import start_serve

    served: list[object] = []
    monkeypatch.setattr(BaseApplication, "run", lambda app: served.append(app))

    code, output = start_serve(tmp_path, REFUNDS_SHOP_PRIMARY_COLOR=value)

    assert (code, output) == (2, f"Error: REFUNDS_SHOP_PRIMARY_COLOR={value!r} is not valid: "
                                 f"{COLOUR}\n")
    assert served == []
    assert not (tmp_path / "ledger.db").exists()


def test_a_primary_colour_from_the_settings_file_is_checked_too(tmp_path: Path) -> None:
    from refunds_plugin.config import ConfigError, load_config

    config_file = tmp_path / "refunds.toml"
    config_file.write_text('shop_primary_color = "navy"\n')

    with pytest.raises(ConfigError) as refused:
        load_config(env={"REFUNDS_CONFIG_FILE": str(config_file)})

    assert str(refused.value) == f"REFUNDS_SHOP_PRIMARY_COLOR='navy' is not valid: {COLOUR}"


def test_a_primary_colour_in_either_length_is_taken_as_written() -> None:
    from refunds_plugin.config import load_config

    assert [load_config(env={"REFUNDS_SHOP_PRIMARY_COLOR": c}).shop_primary_color
            for c in ("#0B6E4F", " #abc ")] == ["#0B6E4F", "#abc"]
    assert load_config(env={}).shop_primary_color == "#1f4b99"


MAIL = [
    {"REFUNDS_MAIL_URL": "smtp//mail.example.com"}, {"REFUNDS_MAIL_OFF": "refund_snet"},
    {"REFUNDS_MAIL_FROM": "returns at example.com"},
    {"REFUNDS_OUTBOUND_URL": "erp.example.com/hooks"}, {"REFUNDS_TEMPLATES_DIR": "/nowhere"},
]


@pytest.mark.parametrize("setting", MAIL, ids=[next(iter(s)) for s in MAIL])
def test_a_web_host_without_the_executor_checks_the_mail_settings_as_serve_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: dict[str, str]
) -> None:
    # operations.md's web hosts run `serve --no-executor`; the worker sends the mail, but the
    # pages say "we have emailed you" from the same settings, so both starts refuse alike
    from gunicorn.app.base import BaseApplication

    served: list[object] = []
    monkeypatch.setattr(BaseApplication, "run", lambda app: served.append(app))
    env = {"REFUNDS_DATABASE_URL": f"sqlite:///{tmp_path}/ledger.db", "REFUNDS_SECRET_KEY":
           "k" * 32, "REFUNDS_STOREFRONT_SECRET": "s" * 32, **setting}

    said = [CliRunner().invoke(main, ["serve", *flag, "--port", "0"], env=env)
            for flag in ([], ["--no-executor"])]

    assert [r.exit_code for r in said] == [1, 1]
    assert said[0].output == said[1].output
    assert said[0].output.startswith(f"Error: {next(iter(setting))}")
    assert len(said[0].output.splitlines()) == 1
    assert served == []
    assert not (tmp_path / "ledger.db").exists()


@pytest.mark.parametrize("args", [["ledger", "export"], ["ledger", "list"],
                                  ["ledger", "export", "--output", "/dev/full"]])
def test_an_output_that_cannot_be_written_is_one_line_not_a_traceback(
    tmp_path: Path, args: list[str]
) -> None:
    # `refunds ledger export … > november.csv` on a full disk ended in an OSError traceback
    import os
    import subprocess
    import sys

    env = {**os.environ, "REFUNDS_DATABASE_URL": f"sqlite:///{tmp_path}/ledger.db",
           "PYTHONPATH": str(Path(__file__).parents[2])}
    assert subprocess.run([sys.executable, "-m", "refunds_plugin.cli", "migrate"], env=env,
                          capture_output=True).returncode == 0
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "refunds_plugin.cli", *args], env=env,
                              stdout=full, stderr=subprocess.PIPE, text=True)

    assert (done.returncode, done.stderr) == (
        1, "Error: could not write the output (No space left on device): free some space, or "
           "write it elsewhere, and run this again\n")
