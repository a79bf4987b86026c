"""Start ``refunds serve`` with the given settings on a fresh SQLite ledger, without serving:
its exit code and what it said (stdout and stderr together). A test that must know whether
gunicorn was asked to serve patches ``BaseApplication.run`` (the ``served`` fixtures)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from refunds_plugin.cli import main


def start_serve(tmp_path: Path, **env: str) -> tuple[int, str]:
    settings = {"REFUNDS_DATABASE_URL": f"sqlite:///{tmp_path}/ledger.db",
                "REFUNDS_SECRET_KEY": "k" * 32, "REFUNDS_STOREFRONT_SECRET": "s" * 32, **env}
    result = CliRunner().invoke(main, ["serve", "--port", "0"], env=settings)
    return result.exit_code, result.output
