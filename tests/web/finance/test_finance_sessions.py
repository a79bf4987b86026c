"""Logging out ends a finance session for good, on every host: the cookie carries only the
secret of a session kept in the database, so a copy saved before logout (or used through
another app instance on the same database) is refused after it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from refunds_plugin.finance.tokens import check_token, revoke_token
from refunds_plugin.ledger.tables import finance_sessions
from tests.fakes.finance_scene import Scene, csrf
from tests.fakes.shop import Shop


@pytest.fixture
def other(scene: Scene, any_db_url: str) -> Iterator[Shop]:
    """A second app instance (another gunicorn worker or host) on the same database."""
    made = Shop(any_db_url, scene.shop.now)
    yield made
    made.runtime.engine.dispose()


def _cookie(client: FlaskClient) -> str:
    found = client.get_cookie("session")
    assert found is not None
    return found.value


def _with_cookie(app: Flask, cookie: str) -> FlaskClient:
    client = app.test_client()
    client.set_cookie("session", cookie)
    return client


def _logout(client: FlaskClient) -> int:
    return client.post("/finance/logout",
                       data={"csrf_token": csrf(client, "/finance/")}).status_code


def test_a_session_cookie_saved_before_logout_is_refused_after_it(scene: Scene) -> None:
    client = scene.login(scene.finance)
    saved = _cookie(client)

    assert _logout(client) == 303
    assert client.get_cookie("session") is None  # the browser's copy is cleared

    replay = _with_cookie(scene.shop.app, saved)
    resp = replay.get("/finance/")
    assert resp.status_code == 401
    assert "Please log in with a finance or admin token." in resp.get_data(as_text=True)
    assert replay.get("/finance/follow-ups").status_code == 401


def test_logging_out_on_one_instance_ends_the_session_on_another(
    scene: Scene, other: Shop,
) -> None:
    client = scene.login(scene.finance)
    elsewhere = _with_cookie(other.app, _cookie(client))
    assert elsewhere.get("/finance/").status_code == 200  # one session, any instance

    assert _logout(client) == 303

    assert elsewhere.get("/finance/").status_code == 401
    # rotating the token (revoked on the other instance) logs its new session out everywhere
    again = scene.login(scene.finance)
    copy = _with_cookie(other.app, _cookie(again))
    assert copy.get("/finance/").status_code == 200
    holder = check_token(other.runtime.engine, scene.finance, other.now)
    assert holder is not None
    revoke_token(other.runtime.engine, holder.token_id, other.now)
    assert (again.get("/finance/").status_code, copy.get("/finance/").status_code) == (401, 401)


def test_the_database_keeps_only_the_session_secrets_hash_and_logout_deletes_it(
    scene: Scene,
) -> None:
    client = scene.login(scene.admin)
    app = scene.shop.app
    secret = app.session_interface.get_signing_serializer(app).loads(_cookie(client))["sid"]
    engine = scene.shop.runtime.engine
    query = select(finance_sessions.c.id, finance_sessions.c.token_id)
    admin = check_token(engine, scene.admin, scene.shop.now)
    assert admin is not None

    with engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(query)] == [
            (hashlib.sha256(secret.encode()).hexdigest(), admin.token_id)]
    assert _logout(client) == 303
    with engine.connect() as conn:
        assert conn.execute(query).all() == []
