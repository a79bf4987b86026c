"""``refunds saleor …``: the Saleor app from the command line."""

from __future__ import annotations

import json

import click


@click.group("saleor")
def saleor() -> None:
    """The Saleor app: print its manifest (the install itself is done from the Saleor Dashboard)."""


@saleor.command("manifest")
@click.option(
    "--app-url",
    envvar="REFUNDS_APP_URL",
    required=True,
    help="Public https URL this service is reachable at (default: REFUNDS_APP_URL).",
)
def manifest_command(app_url: str) -> None:
    """Print the app manifest JSON that Saleor installs from."""
    from refunds_plugin.saleor.manifest import manifest

    click.echo(json.dumps(manifest(app_url), indent=2))
