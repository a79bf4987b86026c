"""Wiring: from a Config to an engine, a policy, providers, a service and an executor.

Nothing is built at import time; ``build`` is called by ``create_app`` and by the CLI. Each part
gets what it needs when it is constructed, in order: the engine, the providers (the Saleor one
on the same engine), the executor, the Saleor order re-queries, then the service with the
executor's nudge and wait and the Saleor re-queries.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import requests
from sqlalchemy import Engine

import policies
from refunds_plugin.config import Config
from refunds_plugin.execution.executor import Executor
from refunds_plugin.execution.poller import SaleorPoller
from refunds_plugin.intake.service import Service, utcnow
from refunds_plugin.ledger.db import make_engine
from refunds_plugin.ledger.migrate import current_revision, migrate
from refunds_plugin.metrics import observe_saleor_poll
from refunds_plugin.providers import Provider
from refunds_plugin.providers.dryrun import DryRunProvider
from refunds_plugin.providers.saleor.provider import SaleorProvider
from refunds_plugin.providers.stripe import StripeProvider
from refunds_plugin.saleor.events import SaleorEvents

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
    wall_clock: Callable[[], float] = time.time


def build_providers(config: Config, engine: Engine) -> dict[str, Provider]:
    """Every provider this configuration can call; the Saleor one reads its install tokens
    through ``engine`` (the service's own: no second engine)."""
    providers: dict[str, Provider] = {"dryrun": DryRunProvider()}
    if config.stripe_api_key:
        providers["stripe"] = StripeProvider(
            config.stripe_api_key,
            api_base=config.stripe_api_base,
            timeout=config.stripe_timeout_s,
            max_network_retries=config.stripe_max_network_retries,
        )
    providers["saleor"] = SaleorProvider(engine)
    return providers


def build(
    config: Config,
    *,
    engine: Engine | None = None,
    providers: dict[str, Provider] | None = None,
    clock: Callable[[], datetime] = utcnow,
    with_executor: bool | None = None,
    auto_migrate: bool = True,
    answer_wait_s: float = 3.0,
) -> Runtime:
    """Assemble the service; refuses to start on an invalid policy (``PolicyError``).

    ``answer_wait_s``: how long a store-credit answer waits for its code (the in-process
    executor only)."""
    policy = policies.load_policy(config.policy)
    engine = engine or make_engine(config.database_url)
    if auto_migrate and current_revision(engine) is None:
        log.info("empty database: migrating")
        migrate(engine)
    providers = providers if providers is not None else build_providers(config, engine)
    run_exec = config.run_executor if with_executor is None else with_executor
    executor = Executor(engine, providers, config, clock) if run_exec else None
    saleor = SaleorEvents(
        engine, clock, requests.Session(), final_sale_key=config.saleor_final_sale_key
    )
    service = Service(
        engine,
        policy,
        config,
        clock,
        saleor=saleor,
        nudge=executor.wake if executor is not None else None,
        wait_settled=executor.wait_until_settled if executor is not None else None,
        answer_wait_s=answer_wait_s,
    )
    if executor is not None:
        watch_saleor(executor, service)
    return Runtime(config, engine, policy, providers, service, executor, saleor)


def watch_saleor(executor: Executor, service: Service) -> SaleorPoller:
    """The executor's loop also re-queries Saleor orders whose refunds are still ``sent``:
    a declined refund sends no webhook (``execution.poller``). Returns the poller (``worker
    --once`` runs one round of it itself)."""
    poller = SaleorPoller(
        service.engine, service.saleor_requery, service.clock, observe=observe_saleor_poll
    )
    executor.poller = poller.poll_once
    return poller
