"""API tokens: created once and shown once, stored as a SHA-256 hash, with a role and an expiry.

``finance`` reads; ``admin`` also decides reviews. A token is a random 32-byte secret; only its
hash is kept, so a copy of the database does not let anyone in. Tokens are listed (never their
secret), revoked (at once: a session on a revoked token ends with its next request, on every host:
``finance.sessions``) and expire
(``parse_expiry``: ``30d``, ``12h``, ``2w``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from refunds_plugin.errors import InputError
from refunds_plugin.ledger.db import aware, write_tx
from refunds_plugin.ledger.tables import tokens

ROLES = ("finance", "admin", "warehouse")  # warehouse: receiving returns only
PREFIX = "rfd_"


@dataclass(frozen=True)
class Principal:
    token_id: int
    name: str
    role: str
    expires_at: datetime | None

    def can(self, role: str) -> bool:
        """``admin`` can do everything ``finance`` (or ``warehouse``) can; ``anyone`` is any
        valid token (logging out)."""
        return self.role == "admin" or self.role == role or role == "anyone"


@dataclass(frozen=True)
class NewToken:
    principal: Principal
    secret: str  # shown once, never stored


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


_EXPIRY = re.compile(r"\s*([0-9]{1,5})\s*([hdw])\s*", re.IGNORECASE)
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def parse_expiry(text: str) -> timedelta:
    """``30d``, ``12h``, ``2w`` as a duration; anything else is an ``InputError`` naming it."""
    found = _EXPIRY.fullmatch(text or "")
    if found is None:
        raise InputError(f"expiry {text!r} is not a number followed by h, d or w (like 30d, "
                         "12h or 2w)", code="bad_expiry")
    if int(found.group(1)) == 0:
        raise InputError(f"expiry {text!r} must be more than zero (like 30d, 12h or 2w)",
                         code="bad_expiry")
    return int(found.group(1)) * _UNITS[found.group(2).lower()]


def create_token(
    engine: Engine, name: str, role: str, now: datetime, expires_days: int | None = None,
    expires_in: timedelta | None = None,
) -> NewToken:
    if role not in ROLES:
        raise InputError(f"role must be one of {', '.join(ROLES)}, not {role!r}", code="bad_role")
    if not name.strip():
        raise InputError("a token needs a name saying who holds it", code="name_required")
    if expires_days is not None and expires_days <= 0:
        raise InputError("--expires-days must be positive", code="bad_expiry")
    secret = PREFIX + secrets.token_urlsafe(32)
    if expires_days is not None and expires_in is not None:
        raise InputError("give either --expires-days or --expires-in, not both",
                         code="bad_expiry")
    expires = now + timedelta(days=expires_days) if expires_days else None
    if expires_in is not None:
        expires = now + expires_in
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
    return holder(row, now)


def holder(row: Any, now: datetime) -> Principal | None:
    """The one validity rule for a token (a bearer's, or a session's: ``finance.sessions``):
    not revoked, not expired."""
    expires = aware(row.expires_at)
    if row.revoked_at is not None or (expires is not None and expires <= now):
        return None
    return Principal(int(row.id), row.name, row.role, expires)


@dataclass(frozen=True)
class TokenInfo:
    """One token as it is listed: never its secret or hash."""

    token_id: int
    name: str
    role: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"

    def to_json(self, now: datetime) -> dict[str, Any]:
        def iso(v: datetime | None) -> str | None:
            return v.replace(microsecond=0).isoformat() if v else None

        return {"id": self.token_id, "name": self.name, "role": self.role,
                "created_at": iso(self.created_at), "expires_at": iso(self.expires_at),
                "revoked_at": iso(self.revoked_at), "state": self.state(now)}


def list_tokens(engine: Engine) -> list[TokenInfo]:
    """Every token, oldest first."""
    t = tokens.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(t.id, t.name, t.role, t.created_at, t.expires_at, t.revoked_at).order_by(t.id)
        ).all()
    out = []
    for r in rows:
        created = aware(r.created_at)
        assert created is not None
        out.append(TokenInfo(int(r.id), r.name, r.role, created, aware(r.expires_at),
                             aware(r.revoked_at)))
    return out


class UnknownToken(InputError):
    code = "unknown_token"


class LastAdmin(InputError):
    code = "last_admin"


MAKE_ADMIN = 'refunds tokens create --role admin --name "…"'  # the way back in, on the server


def live_admins(conn: Connection, now: datetime, *, lock: bool = True) -> list[int]:
    """The ids of the admin tokens neither revoked nor expired, ``lock``ed until the transaction
    ends (PostgreSQL; SQLite has one writer), so two admins revoking each other at once cannot
    both pass ``keep_an_admin``."""
    query = (select(tokens.c.id, tokens.c.expires_at)
             .where(tokens.c.role == "admin", tokens.c.revoked_at.is_(None)).order_by(tokens.c.id))
    found = conn.execute(query.with_for_update() if lock else query)
    return [int(r.id) for r in found if (e := aware(r.expires_at)) is None or e > now]


def is_last_admin(engine: Engine, token_id: int, now: datetime) -> bool:
    """Whether ``token_id`` is the one live admin token (for the question before revoking;
    ``revoke_token`` checks again, locked)."""
    with engine.connect() as conn:
        return live_admins(conn, now, lock=False) == [token_id]


def sole_admin(engine: Engine, now: datetime) -> int | None:
    """The id of the one live admin token, when there is exactly one (the tokens page offers
    it no revoke link: revoking it would be refused)."""
    with engine.connect() as conn:
        admins = live_admins(conn, now, lock=False)
    return admins[0] if len(admins) == 1 else None


def last_admin(token_id: int, name: str) -> LastAdmin:
    return LastAdmin(f"token #{token_id} ({name}) is the last active admin token, and without "
                     f"one nobody can decide reviews or manage tokens. Make another admin token "
                     f"first (on the tokens page, or on the server with {MAKE_ADMIN}), then revoke "
                     f"this one")


def revoke_token(engine: Engine, token_id: int, now: datetime, *,
                 keep_an_admin: bool = False) -> TokenInfo:
    """Revoke token ``token_id`` now; revoking a revoked one changes nothing (its first
    revocation time stays). An unknown id is ``UnknownToken``. ``keep_an_admin`` (the pages)
    refuses, as ``LastAdmin``, to revoke the last live admin token; the CLI, which can always
    make another, may."""
    with write_tx(engine) as conn:
        if keep_an_admin and live_admins(conn, now) == [token_id]:
            name = conn.execute(select(tokens.c.name).where(tokens.c.id == token_id)).scalar()
            raise last_admin(token_id, str(name))
        conn.execute(
            update(tokens).where(tokens.c.id == token_id, tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    found = [t for t in list_tokens(engine) if t.token_id == token_id]
    if not found:
        raise UnknownToken(f"there is no token #{token_id}")
    return found[0]
