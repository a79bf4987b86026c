"""``refunds saleor …``: the Saleor app from the command line."""

from __future__ import annotations

import json
import os
from urllib.parse import urlsplit

import click


@click.group("saleor")
def saleor() -> None:
    """The Saleor app: print its manifest (the install itself is done from the Saleor Dashboard)."""


@saleor.command("manifest")
@click.option(
    "--app-url",
    envvar="REFUNDS_APP_URL",
    default=None,
    help="Public https URL this service is reachable at; required unless REFUNDS_APP_URL is "
    "set.",
)
@click.option(
    "--saleor-version",
    default=None,
    help="The Saleor version to install in, e.g. 3.23 (from 3.22 on the manifest adds the "
    "order widget; without it the manifest is the one every Saleor 3.20+ accepts).",
)
def manifest_command(app_url: str | None, saleor_version: str | None) -> None:
    """Print the app manifest JSON that Saleor installs from."""
    if not app_url:
        raise click.UsageError("Missing option '--app-url' (or set REFUNDS_APP_URL): the public "
                               "https URL Saleor reaches this service at")
    try:
        parsed = urlsplit(app_url)
        _port = parsed.port  # a port out of range raises here
    except ValueError:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.hostname \
            or any(c.isspace() for c in app_url):
        raise click.UsageError(f"--app-url {app_url!r} is not a URL: give the public https URL "
                               "Saleor reaches this service at, e.g. https://returns.example.com")
    if parsed.scheme == "http" and parsed.hostname not in ("localhost", "127.0.0.1", "::1"):
        click.echo(f"warning: --app-url {app_url} is not https: Saleor would send its webhooks "
                   "(orders, customers' emails) and the app's token to it unencrypted; use "
                   "https outside a local test", err=True)
    from refunds_plugin.saleor.manifest import manifest, parse_version

    if saleor_version is not None and parse_version(saleor_version) is None:
        # read as no version, it printed the manifest without the widget, silently
        raise click.BadParameter(f"{saleor_version!r} is not a Saleor version: give it as "
                                 "3.23 (or 3.23.1)", param_hint="--saleor-version")

    restock = bool(os.environ.get("REFUNDS_SALEOR_RESTOCK_WAREHOUSE"))
    if not restock and os.environ.get("REFUNDS_CONFIG_FILE"):
        from refunds_plugin.cli.startup import config

        restock = bool(config().saleor_restock_warehouse)
    click.echo(json.dumps(manifest(app_url, saleor_version, restock=restock), indent=2))
