"""``refunds tokens create`` and ``refunds reconcile``: the finance pages' tokens, and the ledger
held against the provider's own list of refunds."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

import click

from refunds_plugin.cli import common


@click.group()
def tokens() -> None:
    """API tokens for the /finance pages and /api (roles: finance reads, admin decides)."""


@tokens.command("create")
@click.option("--role", type=click.Choice(["finance", "admin"]), required=True)
@click.option("--name", required=True, help="Who holds the token (shown in the audit trail).")
@click.option("--expires-days", type=int, default=None, help="Days until it stops working.")
def tokens_create(role: str, name: str, expires_days: int | None) -> None:
    """Create a token. It is printed once; only its SHA-256 hash is stored."""
    from refunds_plugin.errors import InputError
    from refunds_plugin.finance.tokens import create_token

    try:
        with common.engine() as engine:
            made = create_token(engine, name, role, datetime.now(UTC), expires_days)
    except InputError as exc:
        raise click.UsageError(exc.message) from None
    until = made.principal.expires_at.isoformat() if made.principal.expires_at else "never"
    click.echo(f"token #{made.principal.token_id} for {name} ({role}), expires {until}", err=True)
    click.echo("store it now: it cannot be shown again", err=True)
    click.echo(made.secret)


@click.command("reconcile")
@click.option("--provider", type=click.Choice(["stripe"]), default="stripe", show_default=True)
@click.option("--since", type=common.WHEN, required=True,
              help="ISO date or datetime: refunds created from then.")
@click.option("--json", "as_json", is_flag=True)
def reconcile_cmd(provider: str, since: datetime, as_json: bool) -> None:
    """List every difference between the provider's refunds and the ledger; exit 1 if any."""
    from refunds_plugin.finance.reconcile import reconcile, stripe_refunds
    from refunds_plugin.providers.stripe import StripeProvider

    config = common.config()
    if not config.stripe_api_key:
        raise click.UsageError("REFUNDS_STRIPE_API_KEY is not set: nothing to reconcile against")
    start = since
    client = StripeProvider(
        config.stripe_api_key, api_base=config.stripe_api_base, timeout=config.stripe_timeout_s
    ).client
    with common.engine(config.database_url) as engine:
        found = reconcile(engine, stripe_refunds(client, start), start, provider)
    if as_json:
        for m in found:
            click.echo(json.dumps(m.to_json(), sort_keys=True))
    elif not found:
        click.echo(f"{provider} and the ledger agree on every refund since {start.isoformat()}")
    else:
        common.echo_table(["mismatch", "refund", "attempt", "ledger", provider],
                          [[m.kind, m.refund_id or "-", m.attempt_id or "-", m.ledger, m.provider]
                           for m in found])
    if found:
        sys.exit(1)
