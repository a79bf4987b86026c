"""An insight with nothing to show says so in words, instead of a bare header line."""

from __future__ import annotations

from click.testing import CliRunner

from refunds_plugin.cli import main


def test_an_empty_period_is_said_in_words(sqlite_url: str) -> None:
    env = {"REFUNDS_DATABASE_URL": sqlite_url}
    assert CliRunner().invoke(main, ["migrate"], env=env).exit_code == 0
    period = ["--since", "2026-11-01", "--until", "2026-12-01"]

    reasons = CliRunner().invoke(main, ["insights", "reasons", *period], env=env)
    one = CliRunner().invoke(main, ["insights", "reasons", "--reason", "not_as_described",
                                    *period], env=env)
    feedback = CliRunner().invoke(main, ["insights", "feedback", *period], env=env)

    assert (reasons.exit_code, one.exit_code, feedback.exit_code) == (0, 0, 0)
    assert reasons.output == ("Returns by sku, 2026-11-01 to 2026-12-01\n"
                              "Nothing was sold or came back in this period.\n")
    assert one.output.splitlines()[-1] == (
        "Nothing was sold or came back in this period for reason not_as_described.")
    assert feedback.output == "Feedback on decisions 2026-11-01 to 2026-12-01: 0 answer(s)\n"


def test_a_backwards_period_names_the_option_as_typed(sqlite_url: str) -> None:
    env = {"REFUNDS_DATABASE_URL": sqlite_url}
    assert CliRunner().invoke(main, ["migrate"], env=env).exit_code == 0
    for name in ("reasons", "costs", "retention", "feedback"):
        result = CliRunner().invoke(main, ["insights", name, "--since", "2026-06-15",
                                           "--until", "2026-05-01"], env=env)
        assert result.exit_code == 2
        assert result.output.splitlines()[-1] == (
            "Error: --until: the period must end after it starts (since "
            "2026-06-15T00:00:00+00:00, until 2026-05-01T00:00:00+00:00)"), name


def test_ledger_report_for_an_empty_period_says_so_instead_of_a_bare_header(
    sqlite_url: str,
) -> None:
    env = {"REFUNDS_DATABASE_URL": sqlite_url}
    assert CliRunner().invoke(main, ["migrate"], env=env).exit_code == 0
    result = CliRunner().invoke(main, ["ledger", "report", "--since", "2026-11-01", "--until",
                                       "2026-12-01"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output == ("Ledger totals from 2026-11-01 to 2026-12-01\n"
                             "No decisions or payments in this period.\n")
