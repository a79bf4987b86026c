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

    assert [r.exit_code for r in said] == [2, 2]
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


# --- one exit code for every bad setting, whichever check finds it ------------------------------

LATER = [  # settings the parser takes, refused by the checks made before a command starts
    {"REFUNDS_MAIL_OFF": "refund_snet"},
    {"REFUNDS_OUTBOUND_URL": "ftp://erp.example.com/hooks",
     "REFUNDS_OUTBOUND_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
    {"REFUNDS_TEMPLATES_DIR": "/nowhere"},
    {"REFUNDS_RATELIMIT_STORAGE_URI": "redis//127.0.0.1:6379"},
]
PARSED = [{"REFUNDS_EXECUTOR_LEASE": "abc"}, {"REFUNDS_OUTBOX_MAX_TRIES": "-"},
          {"REFUNDS_SHOP_PRIMARY_COLOR": "red"}]


@pytest.mark.parametrize("setting", [*PARSED, *LATER], ids=lambda s: next(iter(s)))
@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["worker", "--once"]],
                         ids=lambda c: c[0])
def test_a_bad_setting_exits_2_whether_the_parser_or_a_later_check_finds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: dict[str, str],
    command: list[str],
) -> None:
    # the parser's refusals exited 2, the checks made after it (mail, outbound events,
    # templates, the rate limiter's store) 1: a script could not tell a bad setting by its code
    from gunicorn.app.base import BaseApplication

    served: list[object] = []
    monkeypatch.setattr(BaseApplication, "run", lambda app: served.append(app))
    env = {"REFUNDS_DATABASE_URL": f"sqlite:///{tmp_path}/ledger.db", "REFUNDS_SECRET_KEY":
           "k" * 32, "REFUNDS_STOREFRONT_SECRET": "s" * 32, **setting}

    result = CliRunner().invoke(main, command, env=env)

    if command[0] == "worker" and "REFUNDS_RATELIMIT_STORAGE_URI" in setting:
        assert result.exit_code == 0, result.output  # the worker serves no pages: not read
        return
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"Error: {next(iter(setting))}")
    assert len(result.output.splitlines()) == 1, result.output
    assert "Usage:" not in result.output
    assert served == []


def test_a_bad_setting_exits_2_from_ledger_verify_too(sqlite_url: str) -> None:
    env = {"REFUNDS_DATABASE_URL": sqlite_url}
    assert CliRunner().invoke(main, ["migrate"], env=env).exit_code == 0

    said = [CliRunner().invoke(main, ["ledger", "verify"], env={**env, **s})
            for s in (*PARSED, {"REFUNDS_CONFIG_FILE": "/nowhere.toml"})]

    assert [r.exit_code for r in said] == [2, 2, 2, 2], [r.output for r in said]
    assert [r.output.split("=")[0] for r in said] == [
        "Error: REFUNDS_EXECUTOR_LEASE", "Error: REFUNDS_OUTBOX_MAX_TRIES",
        "Error: REFUNDS_SHOP_PRIMARY_COLOR", "Error: REFUNDS_CONFIG_FILE"]
    # and a ledger that verifies still exits 0, one that is altered 1 (docs/finance.md)
    assert CliRunner().invoke(main, ["ledger", "verify"], env=env).exit_code == 0
