"""The ``saleor_installs`` table: one app token (and the JWKS) per Saleor API URL.

A retried install sends a new token for the same URL; the row is replaced, never duplicated.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.dialects import postgresql, sqlite

from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.tables import saleor_installs


@dataclass(frozen=True)
class Install:
    api_url: str
    app_id: str | None
    token: str
    jwks: dict[str, Any] | None

    def __repr__(self) -> str:  # the token never reaches a log
        return f"Install(api_url={self.api_url!r}, app_id={self.app_id!r})"


def normalize_api_url(url: str) -> str:
    """``https://shop.example.com/graphql/`` in one spelling (scheme and host lower-cased)."""
    parts = urlsplit(url.strip())
    path = parts.path or "/"
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{path}"


def jwks_url(api_url: str) -> str:
    """Saleor serves its keys at the domain root, not under ``/graphql/``."""
    parts = urlsplit(api_url)
    return f"{parts.scheme}://{parts.netloc}/.well-known/jwks.json"


def save_install(
    conn: Connection,
    *,
    api_url: str,
    app_id: str | None,
    token: str,
    jwks: dict[str, Any] | None,
    now: datetime,
) -> None:
    values = {
        "api_url": api_url,
        "app_id": app_id,
        "token": token,
        "jwks": json.dumps(jwks, sort_keys=True) if jwks is not None else None,
        "installed_at": now,
        "updated_at": now,
    }
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(saleor_installs).values(**values)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["api_url"],
            set_={
                "app_id": stmt.excluded.app_id,
                "token": stmt.excluded.token,
                "jwks": stmt.excluded.jwks,
                "updated_at": now,
            },
        )
    )


def get_install(conn: Connection, api_url: str) -> Install | None:
    row = conn.execute(
        select(saleor_installs).where(saleor_installs.c.api_url == api_url)
    ).first()
    if row is None:
        return None
    return Install(row.api_url, row.app_id, row.token, json.loads(row.jwks) if row.jwks else None)


def save_jwks(conn: Connection, api_url: str, jwks: dict[str, Any], now: datetime) -> None:
    conn.execute(
        update(saleor_installs)
        .where(saleor_installs.c.api_url == api_url)
        .values(jwks=json.dumps(jwks, sort_keys=True), updated_at=now)
    )


# --- the same, each in its own transaction, for the app's install and key-fetch views ------------


def install(
    engine: Engine, *, api_url: str, app_id: str, token: str, jwks: dict[str, Any] | None,
    now: datetime,
) -> None:
    """Keep a (re)install: the app id and token Saleor gave, and the shop's signing keys."""
    with write_tx(engine) as conn:
        save_install(conn, api_url=api_url, app_id=app_id, token=token, jwks=jwks, now=now)


def find(engine: Engine, api_url: str) -> Install | None:
    with engine.connect() as conn:
        return get_install(conn, api_url)


def stored_jwks(engine: Engine, api_url: str) -> dict[str, Any] | None:
    found = find(engine, api_url)
    return found.jwks if found else None


def keep_jwks(engine: Engine, api_url: str, jwks: dict[str, Any], now: datetime) -> None:
    with write_tx(engine) as conn:
        save_jwks(conn, api_url, jwks, now)
