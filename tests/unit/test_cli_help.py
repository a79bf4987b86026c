"""Every ``refunds`` command and option explains itself in ``--help``: no option without words,
what an option left out does where it matters, and ``mail preview`` names its KIND once,
readably, instead of a wrapped choice list."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from refunds_plugin.cli import main
from refunds_plugin.notify.kinds import MAIL_KINDS


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[
        tuple[tuple[str, ...], click.Command]]:
    for name, cmd in sorted(group.commands.items()):
        yield (*path, name), cmd
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, (*path, name))


def test_every_option_of_every_command_says_what_it_is_for() -> None:
    silent = [f"refunds {' '.join(path)} {opt.opts[0]}"
              for path, cmd in _commands(main) for opt in cmd.params
              if isinstance(opt, click.Option) and not opt.help and opt.name != "help"]

    assert silent == []


def test_mail_preview_help_lists_each_kind_once_as_words() -> None:
    shown = CliRunner().invoke(main, ["mail", "preview", "--help"], terminal_width=80)

    assert shown.exit_code == 0
    assert shown.stdout.startswith("Usage: main mail preview [OPTIONS] KIND\n")
    assert "KIND: request_received, approved, in_review, declined, return_reminder,\n" \
        in shown.stdout
    assert " ".join(shown.stdout.split()).count("withdrawal_receipt") == 1
    assert "{request_received|" not in shown.stdout
    assert len(MAIL_KINDS) == 17


@pytest.mark.parametrize(("command", "said"), [
    (["ledger", "report"], "--since DATE ISO date or datetime, inclusive (default: --days "
                           "before --until). --until DATE ISO date or datetime, exclusive "
                           "(default: now). --days INTEGER Without --since: the period is this "
                           "many days before --until. [default: 30]"),
    (["ledger", "export"], "--since DATE ISO date or datetime, inclusive (default: from the "
                           "first decision). --until DATE ISO date or datetime, exclusive "
                           "(default: up to the last decision)."),
    (["policy", "simulate"], "--since DATE ISO date or datetime of the decision, inclusive "
                             "(default: every stored decision). --until DATE ISO date or "
                             "datetime, exclusive (default: now)."),
    (["tokens", "create"], "--expires-days INTEGER Days until it stops working (default: it "
                           "never expires). --expires-in DURATION How long until it stops "
                           "working: 30d, 12h, 2w (instead of --expires-days; default: it never "
                           "expires)."),
    (["trouble", "follow-ups"], "--all Also list open failed payments still inside the "
                                "policy's wait (trouble.failed_payment.follow_up_after_hours)."),
    (["mail", "preview"], "--decision ID The decision it is about: its id, or the first 8 or "
                          "more characters of it as `refunds ledger list` shows them. "
                          "[required]"),
    (["insights"], "What the returns say: reasons by product, costs, who comes back, feedback "
                   "(fold keeps them fast)."),
    (["mail"], "Customer emails: preview what one about a decision would say (nothing is "
               "sent)."),
])
def test_the_help_says_what_an_option_left_out_does(command: list[str], said: str) -> None:
    shown = CliRunner().invoke(main, [*command, "--help"], terminal_width=100)

    assert shown.exit_code == 0
    assert said in " ".join(shown.stdout.split())
