"""API tokens: created once and shown once, stored as a SHA-256 hash, with a role and an expiry.

``finance`` reads; ``admin`` also decides reviews. A token is a random 32-byte secret; only its
hash is kept, so a copy of the database does not let anyone in.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from refunds_plugin.errors import InputError
from refunds_plugin.ledger.db import aware, write_tx
from refunds_plugin.ledger.tables import tokens

ROLES = ("finance", "admin")
PREFIX = "rfd_"


@dataclass(frozen=True)
class Principal:
    token_id: int
    name: str
    role: str
    expires_at: datetime | None

    def can(self, role: str) -> bool:
        """``admin`` can do everything ``finance`` can."""
        return self.role == "admin" or self.role == role


@dataclass(frozen=True)
class NewToken:
    principal: Principal
    secret: str  # shown once, never stored


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(
    engine: Engine, name: str, role: str, now: datetime, expires_days: int | None = None
) -> NewToken:
    if role not in ROLES:
        raise InputError(f"role must be one of {', '.join(ROLES)}, not {role!r}", code="bad_role")
    if not name.strip():
        raise InputError("a token needs a name saying who holds it", code="name_required")
    if expires_days is not None and expires_days <= 0:
        raise InputError("--expires-days must be positive", code="bad_expiry")
    secret = PREFIX + secrets.token_urlsafe(32)
    expires = now + timedelta(days=expires_days) if expires_days else None
    with write_tx(engine) as conn:
        token_id = conn.execute(
            tokens.insert()
            .values(
                name=name.strip(),
                role=role,
                token_hash=hash_token(secret),
                created_at=now,
                expires_at=expires,
            )
            .returning(tokens.c.id)
        ).scalar_one()
    return NewToken(Principal(int(token_id), name.strip(), role, expires), secret)


def check_token(engine: Engine, secret: str | None, now: datetime) -> Principal | None:
    """The token's holder, or None for a missing, unknown, revoked or expired token."""
    if not secret or not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    digest = hash_token(secret)
    with engine.connect() as conn:
        row = conn.execute(select(tokens).where(tokens.c.token_hash == digest)).first()
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    return _holder(row, now)


def check_token_id(engine: Engine, token_id: int, now: datetime) -> Principal | None:
    """The holder of token ``token_id`` while it is still valid: a finance session keeps only
    the id, and ends as soon as its token is revoked or expires."""
    with engine.connect() as conn:
        row = conn.execute(select(tokens).where(tokens.c.id == token_id)).first()
    return None if row is None else _holder(row, now)


def _holder(row: Any, now: datetime) -> Principal | None:
    """The one validity rule for both paths: not revoked, not expired."""
    expires = aware(row.expires_at)
    if row.revoked_at is not None or (expires is not None and expires <= now):
        return None
    return Principal(int(row.id), row.name, row.role, expires)
