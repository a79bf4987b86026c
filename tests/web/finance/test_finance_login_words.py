"""The log-in page says why a token is refused in words that cover every case: a revoked token
is refused like an unknown or expired one, an empty one is asked for, and no session is made."""

from __future__ import annotations

from datetime import datetime

import limits

from refunds_plugin.finance.tokens import create_token, revoke_token
from tests.fakes.finance_scene import Scene, csrf
from webhooks.finance.login_limits import FAILS_HERE


def test_a_revoked_token_is_refused_at_log_in_naming_revoked(scene: Scene, now: datetime) -> None:
    client = scene.login(scene.admin)
    made = create_token(scene.shop.runtime.engine, "Old laptop", "finance", now)
    revoke_token(scene.shop.runtime.engine, made.principal.token_id, now)
    fresh = scene.shop.app.test_client()
    resp = fresh.post("/finance/login", data={"token": made.secret,
                                              "csrf_token": csrf(fresh, "/finance/login")})
    assert resp.status_code == 401
    assert ('<p class="error" role="alert" id="login-error" tabindex="-1" autofocus>That token '
            'is not valid: it is unknown, revoked or expired.</p>') in resp.get_data(as_text=True)
    assert fresh.get("/finance/").status_code == 401  # no session was made
    assert client.get("/finance/").status_code == 200  # the admin's own session is untouched


def test_an_empty_token_is_asked_for_in_a_message_that_takes_the_focus(scene: Scene) -> None:
    """The form has ``novalidate`` (the browser's bubble would hide this message): the server
    asks for the token, counts no failed log-in, and makes no session."""
    client = scene.shop.app.test_client()
    limit = limits.parse(scene.shop.runtime.config.finance_login_limit_ip)
    strategy = scene.shop.app.extensions["limiter"].limiter
    left = strategy.get_window_stats(limit, FAILS_HERE, "127.0.0.1").remaining
    form = client.get("/finance/login").get_data(as_text=True)
    assert '<form method="post" action="/finance/login" novalidate>' in form
    resp = client.post("/finance/login", data={"token": "  ",
                                               "csrf_token": csrf(client, "/finance/login")})
    assert resp.status_code == 400
    assert ('<p class="error" role="alert" id="login-error" tabindex="-1" autofocus>Please '
            'enter your token.</p>') in resp.get_data(as_text=True)
    assert client.get("/finance/").status_code == 401  # no session was made
    assert strategy.get_window_stats(limit, FAILS_HERE, "127.0.0.1").remaining == left
