"""What the finance pages and the finance API share: the runtime, the clock, who is asking.

The pages accept a login session (Flask's signed cookie carrying the secret of a session kept in
the database, ``refunds_plugin.finance.sessions``; CSRF is checked app-wide by
``webhooks.security``) and, on
reads, a bearer token; the API accepts only the bearer token. Both check the token through
``refunds_plugin.finance.tokens`` and guard their views with one ``Gate``, differing only in how
they refuse.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Any

from flask import current_app, flash, g, get_flashed_messages, request, session

from refunds_plugin.bootstrap import Runtime
from refunds_plugin.finance.sessions import session_holder
from refunds_plugin.finance.tokens import Principal, check_token

View = Callable[..., Any]


def runtime() -> Runtime:
    found: Runtime = current_app.extensions["refunds"]
    return found


def now() -> datetime:
    return runtime().service.clock()


def bearer_principal() -> Principal | None:
    """The holder of the ``Authorization: Bearer …`` token, if it is valid."""
    header = request.headers.get("Authorization", "")
    bearer = header[7:].strip() if header.startswith("Bearer ") else None
    return check_token(runtime().engine, bearer, now())


def session_principal() -> Principal | None:
    """The holder of the logged-in session, while the session (kept in the database: logging
    out ends it on every host) and its token last."""
    return session_holder(runtime().engine, session.get("sid"), now())


@dataclass(frozen=True)
class Gate:
    """``needs(role)``: find who is asking, refuse 401 (nobody), the ``check`` (a refusal or
    None) or 403 (too weak a role), else run the view with ``g.principal`` set."""

    identify: Callable[[], Principal | None]
    unauthorized: Callable[[], Any]
    forbidden: Callable[[str, Principal], Any]
    check: Callable[[], Any] = lambda: None  # a refusal, or None to go on

    def needs(self, role: str) -> Callable[[View], View]:
        def wrap(view: View) -> View:
            @wraps(view)
            def inner(*args: Any, **kwargs: Any) -> Any:
                who = self.identify()
                if who is None:
                    return self.unauthorized()
                refused = self.check()
                if refused is not None:
                    return refused
                if not who.can(role):
                    return self.forbidden(role, who)
                g.principal = who
                return view(*args, **kwargs)

            return inner

        return wrap


def tell(text: str) -> None:
    """Say ``text`` on the next page this session sees (after a form's redirect): kept in the
    signed session, never taken from the query string, so a link cannot put words there."""
    flash(text, "done")


def told() -> str | None:
    """What ``tell`` left for this page, once; None when nothing."""
    said = get_flashed_messages(category_filter=["done"])
    return " ".join(str(m) for m in said) or None
