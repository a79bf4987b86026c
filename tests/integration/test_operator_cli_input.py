"""Every command that takes a date, and every command on a wrong database URL, answers in one
line a person can act on: a usage error (exit 2) naming the option, or the problem and its fix
(exit 1); never a traceback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from refunds_plugin.cli import main

DATE_HINT = ("expected an ISO 8601 date such as 2026-11-01 or a datetime such as "
             "2026-11-01T10:00:00Z, found 'yesterday'")

DATED = [
    (["ledger", "export", "--since", "yesterday"], "--since"),
    (["ledger", "export", "--until", "yesterday"], "--until"),
    (["ledger", "report", "--since", "yesterday"], "--since"),
    (["ledger", "report", "--until", "yesterday"], "--until"),
    (["reconcile", "--since", "yesterday"], "--since"),
    (["trouble", "scan", "--since", "yesterday"], "--since"),
    (["policy", "simulate", "preset:default", "--since", "yesterday"], "--since"),
    (["policy", "simulate", "preset:default", "--until", "yesterday"], "--until"),
    (["policy", "explain", "--now", "yesterday"], "--now"),
]


@pytest.mark.parametrize(("args", "option"), DATED, ids=[" ".join(a) for a, _ in DATED])
def test_a_date_that_is_no_date_is_a_usage_error_naming_the_option(
    sqlite_url: str, args: list[str], option: str
) -> None:
    result = CliRunner().invoke(main, args, env={"REFUNDS_DATABASE_URL": sqlite_url})

    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == f"Error: Invalid value for '{option}': {DATE_HINT}"
    assert result.exception is None or isinstance(result.exception, SystemExit)


BACKWARDS = [
    ["ledger", "export"], ["ledger", "report"], ["policy", "simulate", "preset:default"],
    ["policy", "compare", "preset:default", "preset:no-hassle"],
]


@pytest.mark.parametrize("args", BACKWARDS, ids=[" ".join(a) for a in BACKWARDS])
def test_a_period_that_ends_before_it_starts_is_a_usage_error_not_an_empty_report(
    sqlite_url: str, args: list[str]
) -> None:
    assert CliRunner().invoke(main, ["migrate"], env={"REFUNDS_DATABASE_URL": sqlite_url}
                              ).exit_code == 0
    result = CliRunner().invoke(main, [*args, "--since", "2026-12-01", "--until", "2026-11-01"],
                                env={"REFUNDS_DATABASE_URL": sqlite_url})

    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        "Error: --until: the period must end after it starts (since 2026-12-01T00:00:00+00:00, "
        "until 2026-11-01T00:00:00+00:00)")


@pytest.mark.parametrize("days", ["-5", "0"])
def test_a_report_over_no_days_says_days_must_be_positive_not_a_future_since(
    sqlite_url: str, days: str
) -> None:
    assert CliRunner().invoke(main, ["migrate"], env={"REFUNDS_DATABASE_URL": sqlite_url}
                              ).exit_code == 0
    result = CliRunner().invoke(main, ["ledger", "report", "--days", days],
                                env={"REFUNDS_DATABASE_URL": sqlite_url})

    assert (result.exit_code, result.output.splitlines()[-1]) == (
        2, f"Error: --days must be a positive number, not {days}")


ADDRESSLESS = [
    ["--help"], ["ledger", "--help"], ["tokens", "create", "--help"], ["ledger", "verify"],
    ["ledger", "report"], ["tokens", "list"], ["policy", "simulate", "preset:default"],
    ["returns", "list"], ["insights", "costs"],
]


@pytest.mark.parametrize("args", ADDRESSLESS, ids=[" ".join(a) for a in ADDRESSLESS])
def test_the_return_address_warning_is_said_only_by_serve_and_policy_check(
    sqlite_url: str, args: list[str]
) -> None:
    env = {"REFUNDS_DATABASE_URL": sqlite_url, "REFUNDS_CONFIG_FILE": ""}
    assert CliRunner().invoke(main, ["migrate"], env=env).exit_code == 0
    result = CliRunner().invoke(main, args, env=env)

    assert result.exit_code == 0, result.output
    assert "return_addresses" not in result.output
    checked = CliRunner().invoke(main, ["policy", "check", "preset:default"], env=env)
    assert "warning: no [[return_addresses]] are configured" in checked.stderr


def test_a_good_date_is_still_read(sqlite_url: str) -> None:
    assert CliRunner().invoke(main, ["migrate"], env={"REFUNDS_DATABASE_URL": sqlite_url}
                              ).exit_code == 0
    result = CliRunner().invoke(main, ["ledger", "export", "--since", "2026-11-01", "--until",
                                       "2026-11-02T10:00:00Z"],
                                env={"REFUNDS_DATABASE_URL": sqlite_url})
    assert (result.exit_code, result.stderr) == (0, "exported 0 decision(s)\n")
    assert result.stdout == (
        "id,created_at,order_id,request_key,kind,outcome,resolution,currency,amount,"
        "refund_amount,credit_amount,amount_text,reason_code,review_reason,policy_name,"
        "policy_hash,customer_id,customer_email,money_status,explanation,review_status,"
        "review_decided_by,review_decided_at,credit_bonus,total_text,adjusted,exchange,"
        "amount_decimal,refund_amount_decimal,credit_amount_decimal,credit_bonus_decimal,"
        "granted_refund_amount,granted_credit_amount,granted_refund_amount_decimal,"
        "granted_credit_amount_decimal\n")


USE = "use sqlite:///refunds.db (a file) or postgresql+psycopg://user@host/db"
COMMANDS = [
    ["serve"], ["worker", "--once"], ["migrate"], ["ledger", "list"], ["ledger", "verify"],
    ["ledger", "head"], ["ledger", "report"], ["ledger", "export"],
    ["tokens", "create", "--role", "admin", "--name", "Ann"], ["trouble", "scan"],
    ["trouble", "follow-ups"], ["policy", "simulate", "preset:default"],
]


def _urls(tmp: str) -> list[tuple[str, str]]:
    return [
        ("mysql://shop:secret@db/refunds",
         f"REFUNDS_DATABASE_URL='mysql://shop:***@db/refunds' names mysql, which refunds-plugin "
         f"does not support: {USE}"),
        ("nonsense", f"REFUNDS_DATABASE_URL='nonsense' is not a database URL: {USE}"),
        (f"sqlite:///{tmp}/missing/refunds.db",
         f"REFUNDS_DATABASE_URL='sqlite:///{tmp}/missing/refunds.db': the directory "
         f"{tmp}/missing does not exist: create it, or name a file in an existing directory"),
        ("postgresql+pg8000://shop@db/refunds",
         "REFUNDS_DATABASE_URL='postgresql+pg8000://shop@db/refunds' needs the database driver "
         "pg8000, which is not installed: install it, or use postgresql+psycopg://… after "
         'pip install -e ".[postgres]"'),
    ]


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_a_wrong_database_url_is_one_line_naming_the_problem_and_the_fix(
    tmp_path: Path, command: list[str]
) -> None:
    assert "pg8000" not in sys.modules
    for url, said in _urls(str(tmp_path)):
        result = CliRunner().invoke(main, command, env={"REFUNDS_DATABASE_URL": url})

        assert (result.exit_code, result.output) == (2, f"Error: {said}\n"), url
        assert not (tmp_path / "missing").exists()


def test_postgresql_without_the_postgres_extra_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # `import psycopg` raises ImportError
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/refunds"

    for command in (["ledger", "list"], ["migrate"], ["serve"]):
        result = CliRunner().invoke(main, command, env={"REFUNDS_DATABASE_URL": url})

        assert (result.exit_code, result.output) == (
            2, f"Error: REFUNDS_DATABASE_URL='{url}' needs the database driver psycopg, which is "
               'not installed: pip install -e ".[postgres]"\n')


def test_a_missing_setting_is_said_with_the_setting_and_no_usage_text(sqlite_url: str) -> None:
    env = {"REFUNDS_DATABASE_URL": sqlite_url, "REFUNDS_STRIPE_API_KEY": "",
           "REFUNDS_APP_URL": ""}
    unset = CliRunner().invoke(main, ["reconcile", "--since", "2026-11-01"], env=env)
    assert (unset.exit_code, unset.output) == (
        2, "Error: REFUNDS_STRIPE_API_KEY is not set: nothing to reconcile against (set it, or "
           "use --provider saleor)\n")  # 2, not 1: 1 says differences were found
    for fmt in ([], ["--json"]):  # never "saleor and the ledger agree", never silence
        saleor = CliRunner().invoke(
            main, ["reconcile", "--since", "2026-11-01", "--provider", "saleor", *fmt],
            env={**env, "REFUNDS_SALEOR_ALLOWED_API_URLS": ""})
        assert (saleor.exit_code, saleor.stdout, saleor.stderr) == (
            2, "", "Error: Saleor is not configured (set REFUNDS_SALEOR_ALLOWED_API_URLS to the "
                   "API URL of the Saleor shop that installed this app): nothing to reconcile "
                   "against\n")
    no_url = CliRunner().invoke(main, ["saleor", "manifest"], env=env)
    assert no_url.exit_code == 2
    assert no_url.output.splitlines()[-1] == (
        "Error: Missing option '--app-url' (or set REFUNDS_APP_URL): the public https URL "
        "Saleor reaches this service at")
    shown = CliRunner().invoke(main, ["saleor", "manifest", "--help"], env=env).output
    assert "required unless REFUNDS_APP_URL" in " ".join(shown.split())
    assert "[required]" not in shown


def test_a_read_on_a_database_that_does_not_exist_leaves_no_empty_file_behind(
    tmp_path: Path,
) -> None:
    db = tmp_path / "refunds.db"
    result = CliRunner().invoke(main, ["ledger", "list"],
                                env={"REFUNDS_DATABASE_URL": f"sqlite:///{db}"})
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: the database sqlite:///{db} has no ledger tables")
    assert list(tmp_path.iterdir()) == []  # not refunds.db, nor refunds.db-writer


LIMITED = [["ledger", "list"], ["returns", "list"]]


@pytest.mark.parametrize("limit", ["0", "-1"])
@pytest.mark.parametrize("args", LIMITED, ids=[" ".join(a) for a in LIMITED])
def test_a_limit_below_one_is_a_usage_error_not_an_empty_or_unlimited_list(
    sqlite_url: str, args: list[str], limit: str
) -> None:
    """`ledger list --limit 0` said "no decisions yet" over a ledger full of them, and
    `--limit -1` listed every row (SQLite reads LIMIT -1 as no limit)."""
    assert CliRunner().invoke(main, ["migrate"], env={"REFUNDS_DATABASE_URL": sqlite_url}
                              ).exit_code == 0
    result = CliRunner().invoke(main, [*args, "--limit", limit],
                                env={"REFUNDS_DATABASE_URL": sqlite_url})

    assert (result.exit_code, result.output.splitlines()[-1]) == (
        2, f"Error: Invalid value for '--limit': {limit} is not in the range x>=1.")


AFTER_NOW = [["ledger", "export"], ["ledger", "report"], ["reconcile"], ["trouble", "scan"],
             ["policy", "simulate", "preset:default"],
             ["policy", "compare", "preset:default", "preset:no-hassle"]]


@pytest.mark.parametrize("args", AFTER_NOW, ids=[" ".join(a) for a in AFTER_NOW])
def test_a_since_after_now_is_a_usage_error_not_an_empty_answer(
    sqlite_url: str, args: list[str]
) -> None:
    """A mistyped year (2099 for 2026) gave "exported 0", "no trouble found", "stripe and the
    ledger agree" or a compare "from 2099-01-01 to now", exit 0."""
    env = {"REFUNDS_DATABASE_URL": sqlite_url, "REFUNDS_STRIPE_API_KEY": "sk_test_x"}
    assert CliRunner().invoke(main, ["migrate"], env=env).exit_code == 0

    result = CliRunner().invoke(main, [*args, "--since", "2099-01-01"], env=env)

    assert (result.exit_code, result.output.splitlines()[-1]) == (
        2, "Error: --since 2099-01-01T00:00:00+00:00 is after now: nothing can have been "
           "recorded since then (is the year right?)")
