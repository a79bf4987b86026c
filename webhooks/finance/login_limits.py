"""Finance log-in attempts, limited per client address and per token prefix.

Counted in the same Flask-Limiter storage as the returns page (``REFUNDS_RATELIMIT_STORAGE_URI``,
shared by every process), and only on failure: a wrong token from one address
(``REFUNDS_FINANCE_LOGIN_LIMIT_IP``), or many wrong tokens that share their first characters
(``REFUNDS_FINANCE_LOGIN_LIMIT_TOKEN``: a guesser working through one prefix from many
addresses). The prefix is kept only as a hash, and no log line holds any part of a token.
"""

from __future__ import annotations

import hashlib
import logging

import limits
from flask_limiter import Limiter

from refunds_plugin.config import Config

FAILS_HERE = "finance-login-fail-ip"
FAILS_PREFIX = "finance-login-fail-prefix"
PREFIX_CHARS = 12  # "rfd_" and the first 8 characters of the secret
log = logging.getLogger("refunds.finance")


def prefix_key(token: str) -> str:
    return hashlib.sha256(token[:PREFIX_CHARS].encode("utf-8", "replace")).hexdigest()[:24]


def refused(limiter: Limiter, config: Config, ip: str, token: str) -> bool:
    """Whether this attempt is refused (429) before the token is even looked at."""
    strategy = limiter.limiter
    return not (strategy.test(limits.parse(config.finance_login_limit_ip), FAILS_HERE, ip)
                and strategy.test(limits.parse(config.finance_login_limit_token), FAILS_PREFIX,
                                  prefix_key(token)))


def failed(limiter: Limiter, config: Config, ip: str, token: str, why: str) -> None:
    strategy = limiter.limiter
    strategy.hit(limits.parse(config.finance_login_limit_ip), FAILS_HERE, ip)
    strategy.hit(limits.parse(config.finance_login_limit_token), FAILS_PREFIX, prefix_key(token))
    log.warning("finance login failed: %s", why, extra={"client": ip})
