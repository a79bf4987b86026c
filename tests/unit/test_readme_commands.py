"""README's commands table and settings table match the CLI and the configuration, and the SQLite
writer lock file beside the database is ignored by git."""

from __future__ import annotations

import fnmatch
import re
import shlex
from pathlib import Path

import click

from refunds_plugin.cli import main
from refunds_plugin.config import _ENV

ROOT = Path(__file__).parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _table() -> list[str]:
    block = README.split("### Commands\n", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def _leaves(group: click.Group, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], click.Command]:
    out: dict[tuple[str, ...], click.Command] = {}
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            out.update(_leaves(command, (*path, name)))
        else:
            out[(*path, name)] = command
    return out


def _row(line: str) -> tuple[tuple[str, ...], list[str]]:
    """A row's command path (the words naming subcommands) and the options it names."""
    usage = re.split(r"\s{2,}", line.strip(), maxsplit=1)[0]
    words = usage.split()
    assert words[0] == "refunds", line
    path: list[str] = []
    node: click.Command = main
    for word in words[1:]:
        if not isinstance(node, click.Group) or word not in node.commands:
            break
        path.append(word)
        node = node.commands[word]
    return tuple(path), re.findall(r"--[a-z][a-z-]*", usage)


def test_every_row_of_the_commands_table_is_a_command_with_those_options() -> None:
    leaves = _leaves(main)
    for line in _table():
        path, options = _row(line)
        assert path in leaves, f"README names `refunds {' '.join(path)}`, which is no command"
        known = {o for p in leaves[path].params for o in (*p.opts, *p.secondary_opts)}
        unknown = [o for o in options if o not in known]
        assert not unknown, f"`refunds {' '.join(path)}` has no option {', '.join(unknown)}"


def test_every_command_of_the_cli_has_a_row() -> None:
    listed = {_row(line)[0] for line in _table()}
    missing = [" ".join(p) for p in _leaves(main) if p not in listed]
    assert not missing, f"README's commands table lacks: {', '.join(sorted(missing))}"


def test_every_setting_is_in_the_readme() -> None:
    missing = [var for var in _ENV if f"`{var}`" not in README]
    assert not missing, f"README's settings table lacks: {', '.join(missing)}"
    for var in ("REFUNDS_SHOP_NAME", "REFUNDS_SHOP_LOGO_URL", "REFUNDS_SHOP_PRIMARY_COLOR"):
        assert f"| `{var}` |" in README


def test_every_setting_is_a_row_of_the_one_settings_table() -> None:
    """A table row cut off from its header (by a code block, say) renders as loose text."""
    after = README.split("| variable | default | meaning |\n| --- | --- | --- |\n", 1)[1]
    rows = after.split("\n\n", 1)[0].splitlines()
    assert all(row.startswith("| `REFUNDS_") for row in rows), rows
    table = "\n".join(rows)
    missing = [var for var in _ENV if f"`{var}`" not in table]
    assert not missing, f"outside README's settings table: {', '.join(missing)}"
    stray = [line for line in README.splitlines() if line.startswith("| `REFUNDS_")
             and line not in rows]
    assert not stray, stray


def test_the_sqlite_files_beside_the_ledger_are_ignored_by_git() -> None:
    patterns = [p.strip() for p in (ROOT / ".gitignore").read_text().splitlines()
                if p.strip() and not p.startswith("#")]
    # the group commit's lock file is the database's name + "-writer" (ledger/db.py)
    for name in ("refunds.db", "refunds.db-wal", "refunds.db-shm", "refunds.db-writer"):
        assert any(fnmatch.fnmatch(name, p) for p in patterns), name


def test_every_token_command_the_docs_show_runs_as_written() -> None:
    """``refunds tokens create`` needs both ``--role`` and ``--name``: one shown with only its
    role (to make a warehouse token, say) stops at "Missing option '--name'"."""
    create = main.commands["tokens"].commands["create"]  # type: ignore[attr-defined]
    shown = [span for doc in (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
             for span in re.findall(r"`(refunds tokens create --[^`\n]+)`",
                                    doc.read_text(encoding="utf-8"))]
    assert shown
    for span in shown:
        ctx = click.Context(create, info_name="create", resilient_parsing=True)
        opts, _args, _order = create.make_parser(ctx).parse_args(shlex.split(span)[3:])
        missing = [p.name for p in create.params if p.required and opts.get(p.name) is None]
        assert not missing, f"`{span}` lacks {missing}"
