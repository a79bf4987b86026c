"""Every ``refunds`` command and option explains itself in ``--help``: no option without words,
and ``mail preview`` names its KIND once, readably, instead of a wrapped choice list."""

from __future__ import annotations

from collections.abc import Iterator

import click
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
    assert len(MAIL_KINDS) == 14
