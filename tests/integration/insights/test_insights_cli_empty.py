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
