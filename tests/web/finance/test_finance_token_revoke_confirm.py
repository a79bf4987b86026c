"""Revoking a token on /finance/tokens takes a confirmation that names the token and what
happens; revoking one's own token says it logs you out; the last admin token is never revoked
from the page (the CLI makes another)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text, update

from refunds_plugin.finance.tokens import LastAdmin, create_token, live_admins, revoke_token
from refunds_plugin.ledger.db import make_engine
from refunds_plugin.ledger.tables import tokens
from tests.fakes.finance_scene import Scene, csrf


def _tokens(scene: Scene) -> list[tuple[Any, ...]]:
    with scene.shop.runtime.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            text("SELECT id, name, role, revoked_at IS NOT NULL FROM tokens ORDER BY id"))]


def test_the_list_asks_for_a_confirmation_that_names_the_token_before_revoking(
    scene: Scene,
) -> None:
    admin = scene.login(scene.admin)
    listing = admin.get("/finance/tokens/").get_data(as_text=True)
    assert '<a class="button" href="/finance/tokens/2/revoke">Revoke #2…</a>' in listing
    asked = admin.get("/finance/tokens/2/revoke")
    assert asked.status_code == 200
    html = asked.get_data(as_text=True)
    assert "<h1>Revoke token #2 (Fin Reader, finance)?</h1>" in html
    assert ("Token #2 (Fin Reader, role finance) stops working at once, on these pages and in "
            "the API, and every session made with it ends on its next request. This cannot be "
            "undone: its holder will need a new token.") in html
    assert "you will be logged out" not in html
    assert _tokens(scene) == [(1, "Ada Admin", "admin", False), (2, "Fin Reader", "finance", False)]
    # the old one-tap form (no confirm field) only leads to the question
    tapped = admin.post("/finance/tokens/2/revoke",
                        data={"csrf_token": csrf(admin, "/finance/tokens/")})
    assert (tapped.status_code, tapped.headers["Location"]) == (303, "/finance/tokens/2/revoke")
    assert _tokens(scene)[1] == (2, "Fin Reader", "finance", False)
    done = admin.post("/finance/tokens/2/revoke", data={
        "csrf_token": csrf(admin, "/finance/tokens/2/revoke"), "confirm": "yes"})
    assert done.status_code == 200
    assert "Token #2 (Fin Reader) is revoked since 2026-11-24 14:00 UTC." in done.get_data(
        as_text=True)
    assert _tokens(scene) == [(1, "Ada Admin", "admin", False), (2, "Fin Reader", "finance", True)]


def test_revoking_your_own_token_says_you_will_be_logged_out_and_does(scene: Scene) -> None:
    engine = scene.shop.runtime.engine
    create_token(engine, "Bo Backup", "admin", scene.shop.now)  # #3: another admin remains
    admin = scene.login(scene.admin)
    html = admin.get("/finance/tokens/1/revoke").get_data(as_text=True)
    assert ("This is the token you are logged in with: you will be logged out as soon as it "
            "is revoked.") in html
    done = admin.post("/finance/tokens/1/revoke", data={
        "csrf_token": csrf(admin, "/finance/tokens/1/revoke"), "confirm": "yes"})
    assert done.status_code == 200
    said = done.get_data(as_text=True)
    assert ("Token #1 (Ada Admin) is revoked since 2026-11-24 14:00 UTC. It was the token you "
            "were logged in with: you are logged out.") in said
    assert '<a href="/finance/login">Log in</a>' in said
    assert admin.get("/finance/").status_code == 401
    assert [r[3] for r in _tokens(scene)] == [True, False, False]


def test_the_last_admin_token_is_not_revoked_and_the_page_says_how_to_make_another(
    scene: Scene,
) -> None:
    engine = scene.shop.runtime.engine
    # an expired admin token and a revoked one do not count as another admin
    create_token(engine, "Old Admin", "admin", scene.shop.now - timedelta(days=40),
                 expires_in=timedelta(days=30))
    with engine.begin() as conn:
        conn.execute(text("UPDATE tokens SET revoked_at = created_at WHERE id = 2"))
    before = _tokens(scene)
    admin = scene.login(scene.admin)
    refusal = ("Nothing was revoked: token #1 (Ada Admin) is the last active admin token, and "
               "without one nobody can decide reviews or manage tokens. Make another admin "
               "token first (on the tokens page, or on the server with refunds tokens create "
               "--role admin --name &#34;…&#34;), then revoke this one.")
    asked = admin.get("/finance/tokens/1/revoke")
    assert asked.status_code == 409
    assert refusal in asked.get_data(as_text=True)
    posted = admin.post("/finance/tokens/1/revoke", data={
        "csrf_token": csrf(admin, "/finance/tokens/"), "confirm": "yes"})
    assert posted.status_code == 409
    assert refusal in posted.get_data(as_text=True)
    assert _tokens(scene) == before
    assert admin.get("/finance/").status_code == 200  # still logged in


def test_a_revoked_or_unknown_token_has_nothing_to_confirm(scene: Scene) -> None:
    reader = scene.login(scene.finance)
    assert reader.get("/finance/tokens/1/revoke").status_code == 403
    admin = scene.login(scene.admin)
    assert admin.get("/finance/tokens/9/revoke").status_code == 404
    admin.post("/finance/tokens/2/revoke", data={
        "csrf_token": csrf(admin, "/finance/tokens/"), "confirm": "yes"})
    again = admin.get("/finance/tokens/2/revoke")
    assert again.status_code == 409
    assert "Token #2 (Fin Reader) is already revoked: there is nothing to revoke." in \
        again.get_data(as_text=True)


def test_two_admins_revoking_each_other_at_once_leave_one_admin(
    any_db_url: str, now: datetime,
) -> None:
    """The second revocation waits for the first's lock on the live admin tokens, then sees
    itself alone and is refused (PostgreSQL; SQLite has one writer at a time anyway)."""
    if not any_db_url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers: no lock to test")
    engine = make_engine(any_db_url)
    at = now
    ada = create_token(engine, "Ada", "admin", at).principal.token_id
    bo = create_token(engine, "Bo", "admin", at).principal.token_id
    outcome: list[object] = []
    with engine.connect() as first, first.begin():
        assert live_admins(first, at) == [ada, bo]  # Ada revoking Bo holds the lock
        other = threading.Thread(target=lambda: outcome.append(_attempt(
            lambda: revoke_token(engine, ada, at, keep_an_admin=True), LastAdmin)))
        other.start()
        other.join(0.5)
        assert other.is_alive()  # Bo revoking Ada waits
        first.execute(update(tokens).where(tokens.c.id == bo).values(revoked_at=at))
    other.join(10)
    assert [type(o).__name__ for o in outcome] == ["LastAdmin"]
    with engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(text(
            "SELECT id, revoked_at IS NOT NULL FROM tokens ORDER BY id"))] == [
            (ada, False), (bo, True)]
    engine.dispose()


def _attempt(work: Any, expected: type[Exception]) -> object:
    try:
        return work()
    except expected as exc:
        return exc


def test_the_list_offers_no_revoke_for_the_last_admin_token_and_says_why(scene: Scene) -> None:
    """Its "Revoke #1…" only ever led to a 409 refusal: a link a newcomer follows to an error.
    The row says instead what to do first; once another admin token exists both are offered."""
    admin = scene.login(scene.admin)
    listing = admin.get("/finance/tokens/").get_data(as_text=True)
    assert 'href="/finance/tokens/1/revoke"' not in listing
    assert ('<td>the last active admin token: make another admin token to '
            'revoke it</td>') in listing
    assert '<a class="button" href="/finance/tokens/2/revoke">Revoke #2…</a>' in listing

    create_token(scene.shop.runtime.engine, "Bo Backup", "admin", scene.shop.now)
    listing = admin.get("/finance/tokens/").get_data(as_text=True)
    assert '<a class="button" href="/finance/tokens/1/revoke">Revoke #1…</a>' in listing
    assert '<a class="button" href="/finance/tokens/3/revoke">Revoke #3…</a>' in listing
    assert "the last active admin token" not in listing
