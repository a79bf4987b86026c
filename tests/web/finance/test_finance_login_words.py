"""The log-in page says why a token is refused in words that cover every case: a revoked token
is refused like an unknown or expired one, and no session is made."""

from __future__ import annotations

from datetime import datetime

from refunds_plugin.finance.tokens import create_token, revoke_token
from tests.fakes.finance_scene import Scene, csrf


def test_a_revoked_token_is_refused_at_log_in_naming_revoked(scene: Scene, now: datetime) -> None:
    client = scene.login(scene.admin)
    made = create_token(scene.shop.runtime.engine, "Old laptop", "finance", now)
    revoke_token(scene.shop.runtime.engine, made.principal.token_id, now)
    fresh = scene.shop.app.test_client()
    resp = fresh.post("/finance/login", data={"token": made.secret,
                                              "csrf_token": csrf(fresh, "/finance/login")})
    assert resp.status_code == 401
    assert ('<p class="error" role="alert">That token is not valid: it is unknown, revoked or '
            'expired.</p>') in resp.get_data(as_text=True)
    assert fresh.get("/finance/").status_code == 401  # no session was made
    assert client.get("/finance/").status_code == 200  # the admin's own session is untouched
