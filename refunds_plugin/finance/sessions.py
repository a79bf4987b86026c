"""Finance log-in sessions, kept in the database so that logging out ends them everywhere.

A log-in makes a random secret for the session cookie and stores only its SHA-256 with the
token and the end time (``finance_sessions``). A request's session is valid while its row
exists, its end time is ahead and its token is valid (not revoked, not expired): one lookup by
primary key, joined to the token, on whichever host or worker serves it. Logging out deletes
the row, so a saved copy of the cookie is refused at once; revoking a token (rotating it: a new
one made, the old one revoked) logs it out everywhere, as each lookup reads the token too.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, select

from refunds_plugin.finance.tokens import Principal, holder
from refunds_plugin.ledger.db import aware, write_tx
from refunds_plugin.ledger.tables import finance_sessions, tokens

_SECRET_BYTES = 32


def _key(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def start_session(engine: Engine, who: Principal, now: datetime, lasts: timedelta) -> str:
    """A new session for ``who`` until ``now + lasts``; returns the secret for the cookie
    (never stored). Sessions that have ended by ``now`` are deleted on the way."""
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    with write_tx(engine) as conn:
        conn.execute(delete(finance_sessions).where(finance_sessions.c.expires_at <= now))
        conn.execute(finance_sessions.insert().values(
            id=_key(secret), token_id=who.token_id, created_at=now, expires_at=now + lasts))
    return secret


def session_holder(engine: Engine, secret: object, now: datetime) -> Principal | None:
    """The holder of the session whose cookie carries ``secret``, or None: no such session
    (never made, logged out, ended by a revoked token), past its end, or its token invalid."""
    if not isinstance(secret, str) or not secret or len(secret) > 100:
        return None
    query = (select(tokens, finance_sessions.c.expires_at.label("session_ends"))
             .join(finance_sessions, finance_sessions.c.token_id == tokens.c.id)
             .where(finance_sessions.c.id == _key(secret)))
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    ends = aware(row.session_ends)
    if ends is None or ends <= now:
        return None
    return holder(row, now)


def end_session(engine: Engine, secret: object) -> bool:
    """Log out: the session is deleted, on every host at once. False: there was none."""
    if not isinstance(secret, str) or not secret:
        return False
    with write_tx(engine) as conn:
        gone = conn.execute(delete(finance_sessions).where(
            finance_sessions.c.id == _key(secret))).rowcount
    return bool(gone)

