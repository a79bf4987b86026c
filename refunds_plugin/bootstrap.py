"""Wiring: from a Config to an engine, a policy, providers, a service and an executor.

Nothing is built at import time; ``build`` is called by ``create_app`` and by the CLI.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine

import policies
from refunds_plugin.config import Config
from refunds_plugin.execution.executor import Executor
from refunds_plugin.intake.service import Service, utcnow
from refunds_plugin.ledger.db import make_engine
from refunds_plugin.ledger.migrate import current_revision, migrate
from refunds_plugin.providers import Provider
from refunds_plugin.providers.dryrun import DryRunProvider

log = logging.getLogger("refunds.runtime")


@dataclass
class Runtime:
    config: Config
    engine: Engine
    policy: policies.Policy
    providers: dict[str, Provider]
    service: Service
    executor: Executor | None
    wall_clock: Callable[[], float] = time.time
    answer_wait_s: float = 3.0
    extras: dict[str, object] = field(default_factory=dict)


def build_providers(config: Config) -> dict[str, Provider]:
    providers: dict[str, Provider] = {"dryrun": DryRunProvider()}
    if config.stripe_api_key:
        from refunds_plugin.providers.stripe import StripeProvider

        providers["stripe"] = StripeProvider(
            config.stripe_api_key,
            api_base=config.stripe_api_base,
            timeout=config.stripe_timeout_s,
            max_network_retries=config.stripe_max_network_retries,
        )
    try:
        from refunds_plugin.providers.saleor.provider import SaleorProvider
    except ImportError:  # the Saleor adapter is optional at this layer
        return providers
    providers["saleor"] = SaleorProvider.from_config(config)
    return providers


def build(
    config: Config,
    *,
    engine: Engine | None = None,
    providers: dict[str, Provider] | None = None,
    clock: Callable[[], datetime] = utcnow,
    with_executor: bool | None = None,
    auto_migrate: bool = True,
) -> Runtime:
    """Assemble the service; refuses to start on an invalid policy (``PolicyError``)."""
    policy = policies.load_policy(config.policy)
    engine = engine or make_engine(config.database_url)
    if auto_migrate and current_revision(engine) is None:
        log.info("empty database: migrating")
        migrate(engine)
    providers = providers if providers is not None else build_providers(config)
    service = Service(engine, policy, config, clock)
    run_exec = config.run_executor if with_executor is None else with_executor
    executor = Executor(engine, providers, config, clock) if run_exec else None
    if executor is not None:
        service.on_attempts = executor.wake
    return Runtime(config, engine, policy, providers, service, executor)
