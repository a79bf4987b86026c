"""Wiring: from a Config to an engine, a policy, providers, a service and an executor.

Nothing is built at import time; ``build`` is called by ``create_app`` and by the CLI. Each part
gets what it needs when it is constructed, in order: the engine, the providers (the Saleor one
on the same engine), the message renderer and courier (the outbox), the executor (which runs
the courier after its rounds, paced while busy), the Saleor order re-queries, then the service
with the executor's nudge and wait and the Saleor re-queries.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import requests
from sqlalchemy import Connection, Engine

import policies
from refunds_plugin import routing
from refunds_plugin.config import Config
from refunds_plugin.errors import FinalProviderError
from refunds_plugin.exchanges import fallback
from refunds_plugin.exchanges.worker import ExchangeWorker, OutOfStock
from refunds_plugin.execution.executor import Executor
from refunds_plugin.execution.poller import SaleorPoller
from refunds_plugin.execution.saleor_returns import SaleorReturns
from refunds_plugin.intake.service import Service, utcnow
from refunds_plugin.intake.withdrawals import decide_pending as decide_withdrawals
from refunds_plugin.ledger.db import make_engine
from refunds_plugin.ledger.exchanges import ExchangeRow
from refunds_plugin.ledger.fold import Folder
from refunds_plugin.ledger.instance import instance_secret
from refunds_plugin.ledger.migrate import current_revision, migrate
from refunds_plugin.metrics import observe_provider, observe_saleor_poll
from refunds_plugin.notify.courier import Courier
from refunds_plugin.notify.mail import build_mailer, check_mail
from refunds_plugin.notify.outbound import build_outbound, check_outbound
from refunds_plugin.notify.render import Renderer, check_templates
from refunds_plugin.providers import Provider
from refunds_plugin.providers.dryrun import DryRunProvider
from refunds_plugin.providers.saleor.provider import SaleorProvider
from refunds_plugin.providers.saleor.replacement import SaleorReplacement
from refunds_plugin.providers.stripe import StripeProvider
from refunds_plugin.saleor.client import SaleorClient
from refunds_plugin.saleor.egress import Egress, GuardedSession
from refunds_plugin.saleor.events import SaleorEvents
from refunds_plugin.saleor.installs import find as find_install
from refunds_plugin.shipping.carriers import Carrier
from refunds_plugin.shipping.carriers.easypost import EasyPostCarrier
from refunds_plugin.shipping.carriers.manual import ManualCarrier
from refunds_plugin.shipping.desk import Restocker, ShippingDesk
from refunds_plugin.shipping.restock import Planned, restock

log = logging.getLogger("refunds.runtime")


@dataclass
class Runtime:
    config: Config
    engine: Engine
    policy: policies.Policy
    providers: dict[str, Provider]
    service: Service
    executor: Executor | None
    saleor_events: SaleorEvents
    # re-queries Saleor orders whose refunds wait for an outcome no webhook brings; the
    # executor's loop runs it, and ``refunds worker --once`` runs one round itself
    saleor_poller: SaleorPoller | None = None
    # buys return labels, voids expired ones, restocks Saleor (the executor's loop runs it)
    shipping_desk: ShippingDesk | None = None
    exchanges: ExchangeWorker | None = None  # Checkout Sessions and replacement orders
    wall_clock: Callable[[], float] = time.time
    # the customer's emails as they would be sent (the courier's, ``refunds mail preview``)
    renderer: Renderer | None = None
    courier: Courier | None = None  # delivers the outbox; the executor's loop runs it
    # returns Saleor hears of without a refund attempt (a free order's); the loop records them
    saleor_returns: SaleorReturns | None = None


def build_providers(
    config: Config, engine: Engine, clock: Callable[[], datetime] = utcnow
) -> dict[str, Provider]:
    """Every provider this configuration can call; the Saleor one reads its install tokens
    through ``engine`` (the service's own: no second engine)."""
    providers: dict[str, Provider] = {"dryrun": DryRunProvider()}
    if config.stripe_api_key:
        providers["stripe"] = StripeProvider(
            config.stripe_api_key,
            api_base=config.stripe_api_base,
            timeout=config.stripe_timeout_s,
            max_network_retries=config.stripe_max_network_retries,
            clock=clock,
        )
    providers["saleor"] = SaleorProvider(engine, session=saleor_session(config))
    return providers


def build_carrier(config: Config) -> Carrier:
    """EasyPost with a key (``REFUNDS_EASYPOST_API_KEY``), else instructions only."""
    if config.easypost_api_key:
        return EasyPostCarrier(config.easypost_api_key, config.easypost_api_base,
                               config.easypost_timeout_s)
    return ManualCarrier()


def saleor_restocker(engine: Engine, session: GuardedSession) -> Restocker:
    """Restock through the installed app's token for the order's Saleor API URL."""
    def client_for(api_url: str) -> SaleorClient:
        found = find_install(engine, api_url)
        if found is None:
            raise FinalProviderError(f"the Saleor app is not installed for {api_url}",
                                     code="not_installed")
        return SaleorClient(api_url, found.token, session=session)

    def run(api_url: str, variant: str, warehouse: str, units: int, planned: Planned | None,
            plan: Callable[[Planned], None]) -> str:
        return restock(client_for, api_url, variant, warehouse, units, planned, plan)

    return run


def _fallback_for_stock(policy: policies.Policy, config: Config) -> OutOfStock:
    """What an exchange whose new item is out of stock becomes: the policy's fallback."""
    route = routing.router(config)

    def run(conn: Connection, row: ExchangeRow, why: str,
            now: datetime) -> tuple[str, tuple[str, ...]]:
        return fallback.out_of_stock(conn, policy, route, row, why, now)

    return run


def saleor_session(config: Config) -> GuardedSession:
    """HTTP to the allow-listed Saleor shops only (``saleor.egress``)."""
    return GuardedSession(Egress(config.saleor_allowed_api_urls,
                                 allow_private=config.saleor_allow_private_addresses))


def checked_settings(config: Config) -> policies.Policy:
    """The policy, once every setting read only when used (mail, outbound events, templates)
    is known to be usable: a ``PolicyError`` or ``ConfigError`` before anything is written."""
    policy = policies.load_policy(config.policy)
    check_mail(config)
    check_outbound(config)
    if config.templates_dir:
        check_templates(config.templates_dir)
    return policy


def build(
    config: Config,
    *,
    engine: Engine | None = None,
    providers: dict[str, Provider] | None = None,
    clock: Callable[[], datetime] = utcnow,
    with_executor: bool | None = None,
    auto_migrate: bool = True,
    answer_wait_s: float = 3.0,
    worker_id: str | None = None,
    carrier: Carrier | None = None,
) -> Runtime:
    """Assemble the service; refuses to start on an invalid policy (``PolicyError``).

    ``answer_wait_s``: how long a store-credit answer waits for its code (the in-process
    executor only). ``worker_id`` names the executor in claims and logs (``refunds worker``).
    Everything is built here, each part handed what it needs when it is made."""
    policy = checked_settings(config)
    # ``serve`` sizes the pool by its threads; gunicorn run directly or ``refunds worker``: 10
    engine = engine or make_engine(config.database_url, pool_size=config.database_pool_size or 10)
    if auto_migrate and current_revision(engine) is None:
        log.info("empty database: migrating")
        migrate(engine)
    providers = providers if providers is not None else build_providers(config, engine, clock)
    run_exec = config.run_executor if with_executor is None else with_executor
    poller = executor = courier = None
    desk = ShippingDesk(engine, carrier or build_carrier(config), config, clock,
                        saleor_restocker(engine, saleor_session(config)),
                        carriers=policy.return_shipping.carriers,
                        services=policy.return_shipping.services,
                        remind_days=policy.return_shipping.remind_days_before)
    # status links in emails are signed with the key the returns page checks them with
    renderer = Renderer(config, lambda: config.secret_key or instance_secret(engine) or "")
    stripe = providers.get("stripe")
    saleor_provider = providers.get("saleor")
    exchange_worker = ExchangeWorker(
        engine, clock,
        stripe=stripe if isinstance(stripe, StripeProvider) else None,
        saleor=SaleorReplacement(saleor_provider)
        if isinstance(saleor_provider, SaleorProvider) else None,
        return_url=f"{(config.saleor_app_url or 'http://localhost:8000').rstrip('/')}/returns",
        out_of_stock=_fallback_for_stock(policy, config),
        announced=bool(config.outbound_url),
    )
    told = SaleorReturns(engine, clock, saleor_provider
                         if isinstance(saleor_provider, SaleorProvider) else None, config)
    if run_exec:
        courier = Courier(engine, config, clock, renderer, build_mailer(config),
                          build_outbound(config, requests.Session()),
                          worker_id=f"{worker_id}:mail" if worker_id else None)
        # a declined Saleor refund sends no webhook: the executor's loop also re-queries the
        # orders whose refunds wait (``execution.poller``) through the service's one event
        # skeleton; the service is made below, and the poller only calls it once running
        poller = SaleorPoller(
            engine, lambda order_id: service.saleor_requery(order_id), clock,
            observe=observe_saleor_poll,
        )
        saleor_poll = poller.poll_once
        folder = Folder(engine)  # the insights' rollups, every 30 s (``fold.EVERY_S``)

        def background() -> int:  # the executor's loop: each round, paced while busy
            return (saleor_poll() + desk.run_once() + exchange_worker.run_once()
                    + told.run_once()
                    # a withdrawal recorded by a process that stopped before deciding it
                    + decide_withdrawals(service, clock()) + folder.run_once())

        executor = Executor(engine, providers, config, clock, worker_id=worker_id,
                            observe=observe_provider, poller=background, courier=courier)
    saleor = SaleorEvents(
        engine, clock, saleor_session(config), final_sale_key=config.saleor_final_sale_key
    )
    if executor is not None:
        exchange_worker.nudge = executor.wake
    service = Service(
        engine,
        policy,
        config,
        clock,
        saleor=saleor,
        nudge=executor.wake if executor is not None else None,
        wait_settled=executor.wait_until_settled if executor is not None else None,
        answer_wait_s=answer_wait_s,
        restock=desk.restock_due,
        exchanges=exchange_worker,
    )
    return Runtime(config, engine, policy, providers, service, executor, saleor, poller, desk,
                   exchanges=exchange_worker, renderer=renderer, courier=courier,
                   saleor_returns=told)
