"""Configuration: defaults, then ``REFUNDS_*`` environment variables, then the TOML file named
by ``REFUNDS_CONFIG_FILE``, then explicit overrides (tests).

Secrets are read from the environment only and never appear in ``repr`` or logs.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any
from urllib.parse import urlsplit

from refunds_plugin import config_values as read_as
from refunds_plugin.addresses import Parcel, ReturnAddress
from refunds_plugin.addresses import choose_address as choose_address


class ConfigError(ValueError):
    """A setting that cannot be used; the message names the variable."""


# The EU's member states and the rest of the EEA (Iceland, Liechtenstein, Norway), ISO 3166-1
# alpha-2: where the Consumer Rights Directive's withdrawal function (Article 11a) applies.
EU_EEA: tuple[str, ...] = (
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE",
    "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "IS", "LI", "NO",
)


@dataclass(frozen=True)
class Config:
    database_url: str = "sqlite:///refunds.db"
    database_pool_size: int = 0  # 0: sized by the process (``pool_size``)
    policy: str = "preset:default"
    stripe_api_key: str = field(default="", repr=False)
    stripe_api_base: str = ""
    stripe_webhook_secrets: tuple[str, ...] = field(default=(), repr=False)
    stripe_timeout_s: float = 15.0
    stripe_max_network_retries: int = 2
    storefront_secret: str = field(default="", repr=False)
    signature_tolerance_s: int = 300
    max_body_bytes: int = 1024 * 1024
    run_executor: bool = True
    executor_poll_s: float = 0.5
    executor_lease_s: int = 60
    executor_max_tries: int = 20  # tries before `unknown`: about 1 to 2 hours of backoff
    executor_backoff_base_s: float = 2.0
    executor_backoff_cap_s: float = 600.0
    outbox_max_tries: int = 100  # emails and events: tries until failed, about 8 to 15 hours
    secret_key: str = field(default="", repr=False)
    saleor_allowed_api_urls: tuple[str, ...] = ()
    saleor_hmac_secret: str = field(default="", repr=False)
    saleor_app_url: str = ""
    # where the Saleor Dashboard runs when not at the API's origin (it frames the order widget)
    saleor_dashboard_urls: tuple[str, ...] = ()
    saleor_final_sale_key: str = "refunds.final_sale"  # product/variant metadata key, see docs
    shop_name: str = "Our shop"
    shop_logo_url: str = ""
    shop_primary_color: str = "#1f4b99"
    ratelimit_storage_uri: str = "memory://"
    returns_lookup_limit_ip: str = "20 per hour"  # every look-up from one address
    returns_lookup_limit_order: str = "5 per 15 minutes"  # wrong emails for one order number
    trusted_proxies: int = 0  # how many reverse proxies set X-Forwarded-* in front of us
    behind_https: bool = False  # served over HTTPS: HSTS, and session cookies sent only on it
    finance_login_limit_ip: str = "10 per 15 minutes"  # finance log-ins from one address
    finance_login_limit_token: str = "5 per 15 minutes"  # failed log-ins per token prefix
    # Saleor API URLs that resolve to private, loopback or link-local addresses are refused
    # unless this is set (tests and local development against a Saleor on this machine)
    saleor_allow_private_addresses: bool = False
    log_level: str = "INFO"
    # the physical return (issue 14): where items go, the label platform, the default parcel
    return_addresses: tuple[ReturnAddress, ...] = ()
    return_parcel: Parcel = field(default_factory=Parcel)
    easypost_api_key: str = field(default="", repr=False)
    easypost_api_base: str = ""
    easypost_webhook_secret: str = field(default="", repr=False)
    easypost_timeout_s: int = 30
    easypost_webhook_max_age_s: int = 7 * 24 * 3600  # an older tracker event is refused (stale)
    saleor_restock_warehouse: str = ""  # ``[saleor] restock_warehouse``: restock there
    # customer emails (``refunds_plugin/notify``): smtp[s|+starttls]://user:pass@host:port, or
    # "console"; empty: no emails. The URL may carry a password, so it is a secret.
    mail_url: str = field(default="", repr=False)
    mail_from: str = ""
    mail_reply_to: str = ""  # where a customer's reply goes (unset: the From, unless no-reply)
    mail_off: tuple[str, ...] = ()  # kinds never sent (``[mail] off = ["refund_sent"]``)
    templates_dir: str = ""  # the merchant's own templates, looked up before ours
    outbound_url: str = ""  # where the merchant's systems receive our events
    outbound_secret: str = field(default="", repr=False)  # whsec_… (Standard Webhooks)
    # the EU withdrawal function (``[withdrawal] enabled = true``, optional ``countries``):
    # offered on the returns page for orders delivered to one of these countries
    withdrawal_enabled: bool = False
    withdrawal_countries: tuple[str, ...] = EU_EEA
    default_locale: str = "en"  # the shop's language: what a reader with no known language gets
    testing: bool = False

    @property
    def carrier(self) -> str:
        """The label platform: ``easypost`` with a key, else ``manual`` (instructions only)."""
        return "easypost" if self.easypost_api_key else "manual"

    @property
    def can_label(self) -> bool:
        """Whether a prepaid return label can be bought: a label platform and somewhere to send
        the parcel (``[[return_addresses]]``); ``OrderFacts.can_label`` tells the policy."""
        return self.carrier != "manual" and bool(self.return_addresses)

    @property
    def dry_run(self) -> bool:
        """True when no Stripe key is set: decisions are recorded, no money moves."""
        return not self.stripe_api_key

    @property
    def stripe_test(self) -> bool:
        """A Stripe test-mode key (``sk_test_…``, ``rk_test_…``): Stripe is called, but in its
        test mode, where no real money moves; customers are told what a dry run tells them."""
        return self.stripe_api_key.startswith(STRIPE_TEST_PREFIXES)


STRIPE_TEST_PREFIXES = ("sk_test_", "rk_test_")


def _api_url(raw: str) -> str:
    """A Saleor API URL as Saleor sends it (``Saleor-Api-Url``: ``…/graphql/``): the trailing
    slash added to ``…/graphql``, so an install from that store is not refused for it; anything
    but an http(s) URL ending in ``/graphql/`` is refused at start."""
    url = raw.strip()
    parts = urlsplit(url)
    if parts.path.endswith("/graphql"):
        url, parts = url + "/", parts._replace(path=parts.path + "/")
    if parts.scheme not in ("http", "https") or not parts.hostname \
            or not parts.path.endswith("/graphql/") or parts.query or parts.fragment:
        raise ConfigError(f"REFUNDS_SALEOR_ALLOWED_API_URLS: {raw!r} is not a Saleor API URL; "
                          "expected the store's GraphQL URL ending in /graphql/, such as "
                          "https://shop.example.com/graphql/")
    return url


_ENV: dict[str, tuple[str, Any]] = {
    "REFUNDS_DATABASE_URL": ("database_url", str),
    "REFUNDS_DATABASE_POOL_SIZE": ("database_pool_size", int),
    "REFUNDS_POLICY": ("policy", str),
    "REFUNDS_STRIPE_API_KEY": ("stripe_api_key", str),
    "REFUNDS_STRIPE_API_BASE": ("stripe_api_base", read_as.api_base),
    "REFUNDS_STRIPE_WEBHOOK_SECRETS": ("stripe_webhook_secrets", read_as.split),
    "REFUNDS_STRIPE_TIMEOUT": ("stripe_timeout_s", float),
    "REFUNDS_STRIPE_MAX_NETWORK_RETRIES": ("stripe_max_network_retries", int),
    "REFUNDS_STOREFRONT_SECRET": ("storefront_secret", str),
    "REFUNDS_SIGNATURE_TOLERANCE": ("signature_tolerance_s", int),
    "REFUNDS_MAX_BODY_BYTES": ("max_body_bytes", int),
    "REFUNDS_EXECUTOR_POLL": ("executor_poll_s", float),
    "REFUNDS_EXECUTOR_LEASE": ("executor_lease_s", int),
    "REFUNDS_EXECUTOR_MAX_TRIES": ("executor_max_tries", int),
    "REFUNDS_EXECUTOR_BACKOFF_BASE": ("executor_backoff_base_s", float),
    "REFUNDS_EXECUTOR_BACKOFF_CAP": ("executor_backoff_cap_s", float),
    "REFUNDS_OUTBOX_MAX_TRIES": ("outbox_max_tries", int),
    "REFUNDS_SECRET_KEY": ("secret_key", str),
    "REFUNDS_SALEOR_ALLOWED_API_URLS": ("saleor_allowed_api_urls", read_as.split),
    "REFUNDS_SALEOR_HMAC_SECRET": ("saleor_hmac_secret", str),
    "REFUNDS_APP_URL": ("saleor_app_url", read_as.web_address),
    "REFUNDS_SALEOR_DASHBOARD_URLS": ("saleor_dashboard_urls", read_as.dashboards),
    "REFUNDS_SALEOR_FINAL_SALE_KEY": ("saleor_final_sale_key", str),
    "REFUNDS_SHOP_NAME": ("shop_name", str),
    "REFUNDS_SHOP_LOGO_URL": ("shop_logo_url", read_as.https_image),
    "REFUNDS_SHOP_PRIMARY_COLOR": ("shop_primary_color", read_as.colour),
    "REFUNDS_RATELIMIT_STORAGE_URI": ("ratelimit_storage_uri", str),
    "REFUNDS_RETURNS_LOOKUP_LIMIT_IP": ("returns_lookup_limit_ip", read_as.rate),
    "REFUNDS_RETURNS_LOOKUP_LIMIT_ORDER": ("returns_lookup_limit_order", read_as.rate),
    "REFUNDS_TRUSTED_PROXIES": ("trusted_proxies", int),
    "REFUNDS_BEHIND_HTTPS": ("behind_https", read_as.flag),
    "REFUNDS_FINANCE_LOGIN_LIMIT_IP": ("finance_login_limit_ip", read_as.rate),
    "REFUNDS_FINANCE_LOGIN_LIMIT_TOKEN": ("finance_login_limit_token", read_as.rate),
    "REFUNDS_SALEOR_ALLOW_PRIVATE_ADDRESSES": ("saleor_allow_private_addresses", read_as.flag),
    "REFUNDS_LOG_LEVEL": ("log_level", str),
    "REFUNDS_EASYPOST_API_KEY": ("easypost_api_key", str),
    "REFUNDS_EASYPOST_API_BASE": ("easypost_api_base", read_as.api_base),
    "REFUNDS_EASYPOST_WEBHOOK_SECRET": ("easypost_webhook_secret", str),
    "REFUNDS_EASYPOST_TIMEOUT": ("easypost_timeout_s", int),
    "REFUNDS_EASYPOST_WEBHOOK_MAX_AGE": ("easypost_webhook_max_age_s", int),
    "REFUNDS_SALEOR_RESTOCK_WAREHOUSE": ("saleor_restock_warehouse", str),
    "REFUNDS_MAIL_URL": ("mail_url", str),
    "REFUNDS_MAIL_FROM": ("mail_from", str),
    "REFUNDS_MAIL_REPLY_TO": ("mail_reply_to", str),
    "REFUNDS_MAIL_OFF": ("mail_off", read_as.split),
    "REFUNDS_TEMPLATES_DIR": ("templates_dir", str),
    "REFUNDS_OUTBOUND_URL": ("outbound_url", str),
    "REFUNDS_OUTBOUND_SECRET": ("outbound_secret", str),
    "REFUNDS_DEFAULT_LOCALE": ("default_locale", read_as.locale),
}


SECRET_SETTINGS = frozenset(
    {"stripe_api_key", "stripe_webhook_secrets", "storefront_secret", "secret_key",
     "saleor_hmac_secret", "easypost_api_key", "easypost_webhook_secret", "mail_url",
     "outbound_secret"}
)


def _flat(data: dict[str, Any]) -> dict[str, Any]:
    """A TOML file's tables as setting names: ``[mail] off = [...]`` is ``mail_off``."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update({f"{key}_{k}": v for k, v in _flat(value).items()})
        else:
            out[key] = value
    return out


def read_file(path: str) -> dict[str, Any]:
    """Settings from a TOML file (``REFUNDS_CONFIG_FILE``): setting names as keys, no secrets."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"REFUNDS_CONFIG_FILE={path!r} cannot be read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    types = {f.name: f.type for f in fields(Config)}
    out: dict[str, Any] = _tables(path, data)
    for key, value in _flat({k: v for k, v in data.items() if k not in _TABLES}).items():
        if key in SECRET_SETTINGS:
            raise ConfigError(f"{path}: {key} is a secret; set it in the environment instead")
        if key not in types or key == "testing":
            raise ConfigError(f"{path}: unknown setting {key!r}{_nearest(key, types)}")
        expected = str(types[key])
        if expected.startswith("tuple"):
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
            value = tuple(value) if ok else value
        elif expected == "bool":
            ok = isinstance(value, bool)
        elif expected == "int":
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif expected == "float":
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            value = float(value) if ok else value
        else:
            ok = isinstance(value, str)
        if not ok:
            raise ConfigError(f"{path}: {key} must be {expected}, got {value!r}")
        out[key] = value
    return out


_TABLES = ("return_addresses", "return_parcel", "saleor")
_ADDRESS_KEYS = ("name", "street", "city", "postal_code", "country")


def _tables(path: str, data: dict[str, Any]) -> dict[str, Any]:
    """The file's tables: ``[[return_addresses]]``, ``[return_parcel]`` and ``[saleor]``."""
    out: dict[str, Any] = {}
    raw = data.get("return_addresses")
    if raw is not None:
        if not isinstance(raw, list) or not all(isinstance(a, dict) for a in raw):
            raise ConfigError(f"{path}: return_addresses must be tables ([[return_addresses]])")
        out["return_addresses"] = tuple(_address(path, i, a) for i, a in enumerate(raw))
    parcel = data.get("return_parcel")
    if parcel is not None:
        names = {f.name for f in fields(Parcel)}
        if not isinstance(parcel, dict) or set(parcel) - names or not all(
                isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in parcel.values()):
            raise ConfigError(f"{path}: [return_parcel] takes whole numbers above 0 for "
                              f"{', '.join(sorted(names))}")
        out["return_parcel"] = Parcel(**parcel)
    saleor = data.get("saleor")
    if saleor is not None:
        if not isinstance(saleor, dict) or set(saleor) - {"restock_warehouse"} or not all(
                isinstance(v, str) for v in saleor.values()):
            raise ConfigError(f"{path}: [saleor] takes restock_warehouse = \"<warehouse id>\"")
        if "restock_warehouse" in saleor:
            out["saleor_restock_warehouse"] = saleor["restock_warehouse"].strip()
    return out


def _nearest(key: str, types: Mapping[str, Any]) -> str:
    """", did you mean 'executor_lease_s'?": the file's key for the variable it was named after
    (``REFUNDS_EXECUTOR_LEASE`` is ``executor_lease_s``), else the closest setting's name."""
    by_variable = {var.removeprefix("REFUNDS_").lower(): name for var, (name, _) in _ENV.items()}
    named = by_variable.get(key.lower()) or next(iter(difflib.get_close_matches(
        key, [t for t in types if t != "testing" and t not in SECRET_SETTINGS], 1)), None)
    return f", did you mean {named!r}?" if named and named not in SECRET_SETTINGS else ""


def _address(path: str, i: int, raw: dict[str, Any]) -> ReturnAddress:
    where = f"{path}: return_addresses[{i}]"
    missing = [k for k in _ADDRESS_KEYS if not isinstance(raw.get(k), str) or not raw[k].strip()]
    if missing:
        raise ConfigError(f"{where} needs {', '.join(missing)} (text)")
    unknown = set(raw) - {*_ADDRESS_KEYS, "countries", "region"}
    if unknown:
        raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    countries = raw.get("countries", [])
    if not isinstance(countries, list) or not all(
            isinstance(c, str) and len(c) == 2 for c in countries):
        raise ConfigError(f"{where}: countries must be two-letter codes such as [\"DE\", \"AT\"]")
    region = raw.get("region", "")
    if not isinstance(region, str):
        raise ConfigError(f"{where}: region must be text such as \"TX\"")
    name, street, city, postal_code, country = (raw[k].strip() for k in _ADDRESS_KEYS)
    return ReturnAddress(name, street, city, postal_code, country.upper(),
                         tuple(c.upper() for c in countries), region.strip())


# numbers a zero or a negative value would break: a lease that expires at once lets a second
# worker claim an attempt in flight, no tries leaves the first timeout unknown, a zero timeout
# or tolerance refuses everything
_POSITIVE = (
    "REFUNDS_STRIPE_TIMEOUT", "REFUNDS_SIGNATURE_TOLERANCE", "REFUNDS_EXECUTOR_POLL",
    "REFUNDS_EXECUTOR_LEASE", "REFUNDS_EXECUTOR_MAX_TRIES", "REFUNDS_EXECUTOR_BACKOFF_BASE",
    "REFUNDS_EXECUTOR_BACKOFF_CAP", "REFUNDS_OUTBOX_MAX_TRIES", "REFUNDS_EASYPOST_TIMEOUT",
    "REFUNDS_EASYPOST_WEBHOOK_MAX_AGE")
_NOT_NEGATIVE = ("REFUNDS_STRIPE_MAX_NETWORK_RETRIES",)  # 0: no retry in the call (the executor
# still tries again later)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def log_level(level: str) -> str:
    """``REFUNDS_LOG_LEVEL`` as logging takes it (``debug`` is ``DEBUG``), or a ConfigError."""
    if level.upper() not in LOG_LEVELS:
        raise ConfigError(f"REFUNDS_LOG_LEVEL={level!r} is not valid: expected one of "
                          f"{', '.join(LOG_LEVELS)}")
    return level.upper()


_TAKES: dict[Any, str] = {int: "it must be a whole number, such as 10",
                          float: "it must be a number, such as 2.5"}


def load_config(
    env: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> Config:
    """Build the configuration from defaults, the environment, then ``overrides``."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for var, (name, conv) in _ENV.items():
        raw = env.get(var)
        if raw is None or raw == "":
            continue
        try:
            values[name] = conv(raw)
        except ValueError as exc:
            # Python's own words ("invalid literal for int() with base 10") mean nothing to
            # an operator: say what the variable takes
            why = _TAKES.get(conv) or str(exc)
            raise ConfigError(f"{var}={raw!r} is not valid: {why}") from None
    config = replace(Config(), **values)
    config_file = env.get("REFUNDS_CONFIG_FILE")
    if config_file:
        config = replace(config, **read_file(config_file))
    if overrides:
        known = {f.name for f in fields(Config)}
        unknown = set(overrides) - known
        if unknown:
            raise ConfigError(f"unknown settings: {', '.join(sorted(unknown))}")
        config = replace(config, **dict(overrides))
    if config.max_body_bytes <= 0:
        raise ConfigError("REFUNDS_MAX_BODY_BYTES must be positive")
    if config.trusted_proxies < 0:
        raise ConfigError("REFUNDS_TRUSTED_PROXIES must be 0 or more")
    if config.database_pool_size < 0:
        raise ConfigError("REFUNDS_DATABASE_POOL_SIZE must be 0 (sized by the process) or more")
    for var in (*_POSITIVE, *_NOT_NEGATIVE):  # from a file or an override too
        value = getattr(config, _ENV[var][0])
        if value < 0 or (value == 0 and var in _POSITIVE):
            floor = "more than 0" if var in _POSITIVE else "0 or more"
            raise ConfigError(f"{var}={value!r} is not valid: it must be {floor}")
    log_level(config.log_level)
    try:  # the keys themselves are never said
        read_as.stripe_keys(config.stripe_api_key, config.stripe_webhook_secrets)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    countries = tuple(c.strip().upper() for c in config.withdrawal_countries)
    if not all(len(c) == 2 and c.isalpha() for c in countries):
        raise ConfigError("[withdrawal] countries must be two-letter codes such as "
                          "[\"DE\", \"AT\"]")
    config = replace(config, withdrawal_countries=countries,
                     saleor_allowed_api_urls=tuple(
                         _api_url(u) for u in config.saleor_allowed_api_urls))
    for var in ("REFUNDS_RETURNS_LOOKUP_LIMIT_IP", "REFUNDS_RETURNS_LOOKUP_LIMIT_ORDER",
                "REFUNDS_FINANCE_LOGIN_LIMIT_IP", "REFUNDS_FINANCE_LOGIN_LIMIT_TOKEN",
                "REFUNDS_APP_URL", "REFUNDS_SHOP_LOGO_URL", "REFUNDS_STRIPE_API_BASE",
                "REFUNDS_EASYPOST_API_BASE", "REFUNDS_SALEOR_DASHBOARD_URLS",
                "REFUNDS_SHOP_PRIMARY_COLOR"):
        value = getattr(config, _ENV[var][0])
        value = ",".join(value) if isinstance(value, tuple) else value
        try:
            _ENV[var][1](value)
        except ValueError as exc:  # a file or override setting, not checked on the way in
            raise ConfigError(f"{var}={value!r} is not valid: {exc}") from None
    return config
