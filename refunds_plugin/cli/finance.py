"""``refunds tokens create|list|revoke`` and ``refunds reconcile``: the finance pages' tokens
(made, listed, revoked, with an expiry), and the ledger held against the provider's own list of
refunds."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import NoReturn

import click

from refunds_plugin.cli import options, startup, tables
from refunds_plugin.config import Config
from refunds_plugin.errors import ProviderError


@click.group()
def tokens() -> None:
    """API tokens for the /finance pages and /api (roles: finance reads, admin decides,
    warehouse only receives returns at /finance/receive)."""


@tokens.command("create")
@click.option("--role", type=click.Choice(["finance", "admin", "warehouse"]), required=True,
              help="finance reads everything; admin also decides reviews and manages tokens; "
                   "warehouse opens only /finance/receive.")
@click.option("--name", required=True, help="Who holds the token (shown in the audit trail).")
@click.option("--expires-days", type=int, default=None,
              help="Days until it stops working (default: it never expires).")
@click.option("--expires-in", default=None, metavar="DURATION",
              help="How long until it stops working: 30d, 12h, 2w (instead of --expires-days; "
                   "default: it never expires).")
def tokens_create(role: str, name: str, expires_days: int | None, expires_in: str | None) -> None:
    """Create a token. It is printed once; only its SHA-256 hash is stored."""
    from refunds_plugin.errors import InputError
    from refunds_plugin.finance.tokens import create_token, parse_expiry

    try:
        lasts = parse_expiry(expires_in) if expires_in is not None else None
        with startup.engine() as engine:
            made = create_token(engine, name, role, datetime.now(UTC), expires_days, lasts)
    except InputError as exc:
        raise click.UsageError(exc.message) from None
    expires = made.principal.expires_at
    until = _utc(expires) if expires else "never"
    click.echo(f"token #{made.principal.token_id} for {name} ({role}), expires {until}", err=True)
    click.echo("store it now: it cannot be shown again", err=True)
    click.echo(made.secret)


def _utc(when: datetime | None) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if when else "-"


@tokens.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per token.")
def tokens_list(as_json: bool) -> None:
    """Every token: id, holder, role, when made, when it expires, whether it still works."""
    from refunds_plugin.finance.tokens import list_tokens

    now = datetime.now(UTC)
    with startup.engine() as engine:
        found = list_tokens(engine)
    if as_json:
        for t in found:
            click.echo(json.dumps(t.to_json(now), sort_keys=True))
        return
    if not found:
        click.echo("no tokens yet: make one with `refunds tokens create --role finance --name …`")
        return
    tables.echo_table(
        ["id", "name", "role", "created", "expires", "state"],
        [[f"#{t.token_id}", t.name, t.role, _utc(t.created_at),
          _utc(t.expires_at) if t.expires_at else "never",
          f"revoked {_utc(t.revoked_at)}" if t.revoked_at else t.state(now)] for t in found],
    )


@tokens.command("revoke")
@click.argument("token_id", type=options.TOKEN_ID, metavar="ID")
def tokens_revoke(token_id: int) -> None:
    """Revoke token ID (`2` or `#2`, from `refunds tokens list`) at once; its sessions end
    too."""
    from refunds_plugin.finance.tokens import UnknownToken, revoke_token

    try:
        with startup.engine() as engine:
            info = revoke_token(engine, token_id, datetime.now(UTC))
    except UnknownToken as exc:
        raise click.UsageError(f"{exc.message} (see `refunds tokens list`)") from None
    click.echo(f"token #{info.token_id} ({info.name}, {info.role}) revoked at "
               f"{_utc(info.revoked_at)}")


def _unset(provider: str, config: Config) -> str | None:
    """What is missing to ask ``provider`` for its refunds; None: it can be asked."""
    if provider == "stripe" and not config.stripe_api_key:
        return ("REFUNDS_STRIPE_API_KEY is not set: nothing to reconcile against (set it, or "
                "use --provider saleor)")
    if provider == "saleor" and not config.saleor_allowed_api_urls:
        return ("Saleor is not configured (set REFUNDS_SALEOR_ALLOWED_API_URLS to the API URL of "
                "the Saleor shop that installed this app): nothing to reconcile against")
    return None


def _unanswered(who: str, where: str, exc: ProviderError, retries: int) -> NoReturn:
    """The provider could not be asked (unreachable, or it refused): one line, exit 3, never a
    traceback and never "they agree"."""
    if exc.code == "APIConnectionError":
        said = (f"could not reach {who} at {where} ({exc.code}, after {retries} retries: "
                f"REFUNDS_STRIPE_MAX_NETWORK_RETRIES={retries})")
    else:
        why = (exc.message.strip().splitlines() or [exc.code])[0]
        said = f"{who} did not list its refunds at {where} ({exc.code}: {why})"
    again = "try again later" if exc.retryable else "check the settings"
    stop = click.ClickException(f"{said}: nothing was compared; {again}")
    stop.exit_code = 3  # 1: differences found; 2: no provider to ask
    raise stop


@click.command("reconcile")
@click.option("--provider", type=click.Choice(["stripe", "saleor"]), default="stripe",
              show_default=True, help="Whose refunds to compare the ledger with.")
@click.option("--since", type=options.WHEN, required=True,
              help="ISO date or datetime: refunds created from then.")
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON instead of a table: one object a line for each difference "
                   "(kind, refund_id, attempt_id, ledger, provider); when none, one line "
                   '{"agree": true, "differences": [], "provider", "since", '
                   '"provider_refunds", "ledger_refunds"} (and "orders" for Saleor).')
def reconcile_cmd(provider: str, since: datetime, as_json: bool) -> None:
    """List every difference between the provider's refunds and the ledger; exit 1 if any.

    Saleor: every Saleor order the ledger touched since --since is re-queried with the installed
    app's token, and its granted refunds and this app's refund requests are compared."""
    from refunds_plugin.finance.reconcile import reconcile, reconcile_saleor, stripe_refunds

    options.period(since, None)
    config = startup.config()
    start = since
    compared: dict[str, int] = {}  # how many refunds each side held
    unset = _unset(provider, config)
    if unset:  # nothing to compare with: saying "they agree" would be untrue
        stop = click.ClickException(unset)  # a setting, not the command line: no usage text
        stop.exit_code = 2  # 1 means differences were found
        raise stop
    if provider == "saleor":
        runtime = startup.runtime(config=config, with_executor=False, auto_migrate=False)
        try:
            found = reconcile_saleor(runtime.saleor_events, runtime.engine, start, compared)
        except ProviderError as exc:
            _unanswered("Saleor", ", ".join(config.saleor_allowed_api_urls), exc, 0)
        finally:
            runtime.engine.dispose()
    else:
        from refunds_plugin.providers.stripe import StripeProvider

        stripe = StripeProvider(
            config.stripe_api_key, api_base=config.stripe_api_base,
            timeout=config.stripe_timeout_s,
            max_network_retries=config.stripe_max_network_retries,
        )
        with startup.engine(config.database_url) as engine:
            try:
                found = reconcile(engine, stripe_refunds(stripe.refunds_page, start), start,
                                  provider, compared=compared)
            except ProviderError as exc:
                _unanswered("Stripe", config.stripe_api_base or "https://api.stripe.com", exc,
                            config.stripe_max_network_retries)
    if as_json and found:  # one line a difference
        for m in found:
            click.echo(json.dumps(m.to_json(), sort_keys=True))
    elif as_json:  # one line saying so, and about what: never nothing at all
        click.echo(json.dumps({"agree": True, "differences": [], "provider": provider,
                               "since": start.isoformat(), **compared}, sort_keys=True))
    elif not found:
        click.echo(f"{provider} and the ledger agree on every refund since {start.isoformat()}")
    else:
        tables.echo_table(["mismatch", "refund", "attempt", "ledger", provider],
                          [[m.kind, m.refund_id or "-", m.attempt_id or "-", m.ledger, m.provider]
                           for m in found])
    if found:
        sys.exit(1)
