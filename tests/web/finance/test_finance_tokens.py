"""Tokens are listed, revoked and made to expire, from the CLI and from the admin page
(/finance/tokens: admin only, CSRF-checked, logged); a revoked token stops working at once."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from refunds_plugin.cli import main
from refunds_plugin.finance.tokens import check_token, create_token, parse_expiry
from refunds_plugin.ledger.db import make_engine
from refunds_plugin.ledger.migrate import migrate
from tests.fakes.finance_scene import Scene, csrf


def cli(db_url: str, *args: str) -> object:
    return CliRunner().invoke(main, list(args), env={"REFUNDS_DATABASE_URL": db_url})


def test_the_cli_lists_revokes_and_expires_tokens(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    migrate(engine)
    made = cli(sqlite_url, "tokens", "create", "--role", "finance", "--name", "Ann",
               "--expires-in", "30d")
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip().splitlines()[-1]
    with engine.connect() as conn:
        created, expires = conn.execute(text("SELECT created_at, expires_at FROM tokens")).one()
    assert (datetime.fromisoformat(str(expires)) - datetime.fromisoformat(str(created))
            ) == timedelta(days=30)
    cli(sqlite_url, "tokens", "create", "--role", "admin", "--name", "Bo")
    listed = cli(sqlite_url, "tokens", "list")
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert lines[0].split() == ["id", "name", "role", "created", "expires", "state"]
    assert lines[1].split()[:3] == ["#1", "Ann", "finance"] and lines[1].endswith("active")
    assert lines[2].split()[:3] == ["#2", "Bo", "admin"] and " never " in lines[2]
    revoked = cli(sqlite_url, "tokens", "revoke", "#1")  # as `tokens list` names it
    assert revoked.exit_code == 0, revoked.output
    assert re.fullmatch(r"token #1 \(Ann, finance\) revoked at \d{4}-\d\d-\d\d \d\d:\d\d UTC\n",
                        revoked.output)
    assert check_token(engine, secret, datetime.now(UTC)) is None
    [first, second] = [json.loads(ln) for ln in
                       cli(sqlite_url, "tokens", "list", "--json").output.splitlines()]
    assert (first["state"], second["state"]) == ("revoked", "active")
    assert "token_hash" not in first and secret not in json.dumps(first)
    unknown = cli(sqlite_url, "tokens", "revoke", "9")
    assert unknown.exit_code == 2 and "there is no token #9" in unknown.output
    assert cli(sqlite_url, "tokens", "revoke", "2").exit_code == 0  # bare works too
    wrong = cli(sqlite_url, "tokens", "revoke", "Bo")
    assert wrong.exit_code == 2 and "expected a token id such as 2 or #2" in wrong.output
    bad = cli(sqlite_url, "tokens", "create", "--role", "admin", "--name", "Cy",
              "--expires-in", "soon")
    assert bad.exit_code == 2 and "expiry 'soon' is not a number followed by h, d or w" in \
        bad.output
    never = cli(sqlite_url, "tokens", "create", "--role", "admin", "--name", "Cy",
                "--expires-in", "0d")
    assert (never.exit_code, never.output.splitlines()[-1]) == (
        2, "Error: expiry '0d' must be more than zero (like 30d, 12h or 2w)")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM tokens")).scalar_one() == 2
    engine.dispose()


def test_expiry_durations() -> None:
    assert (parse_expiry("12h"), parse_expiry("30d"), parse_expiry("2W")) == (
        timedelta(hours=12), timedelta(days=30), timedelta(weeks=2))


def test_an_admin_lists_makes_and_revokes_tokens_on_the_page(
    scene: Scene, caplog: pytest.LogCaptureFixture,
) -> None:
    client = scene.login(scene.admin)
    page = client.get("/finance/tokens/").get_data(as_text=True)
    assert '<td data-label="Holder">Ada Admin</td>' in page
    assert '<td data-label="Holder">Fin Reader</td>' in page
    assert '<td data-label="Expires">2026-12-24 12:00 UTC</td>' in page
    assert "rfd_" not in page  # secrets are never listed
    made = client.post("/finance/tokens/", data={
        "name": "Cy Auditor", "role": "finance", "expires_in": "2w",
        "csrf_token": csrf(client, "/finance/tokens/")})
    assert made.status_code == 201
    html = made.get_data(as_text=True)
    secret = re.search(r'<code class="secret">(rfd_[^<]+)</code>', html)
    assert secret is not None
    assert "Token #3 for Cy Auditor (finance), expires 2026-12-08 14:00 UTC." in html
    who = check_token(scene.shop.runtime.engine, secret.group(1), scene.shop.now)
    assert who is not None and who.name == "Cy Auditor"
    with caplog.at_level(logging.INFO, logger="refunds.finance"):
        revoked = client.post("/finance/tokens/3/revoke",
                              data={"csrf_token": csrf(client, "/finance/tokens/"),
                                    "confirm": "yes"})
    assert revoked.status_code == 200
    assert "Token #3 (Cy Auditor) is revoked since 2026-11-24 14:00 UTC." in revoked.get_data(
        as_text=True)
    assert check_token(scene.shop.runtime.engine, secret.group(1), scene.shop.now) is None
    assert [(r.message, r.token_id, r.by) for r in caplog.records  # type: ignore[attr-defined]
            if r.message == "token revoked"] == [("token revoked", 3, 1)]


def test_the_tokens_page_is_for_admins_and_checks_its_forms(scene: Scene) -> None:
    before = scene.snapshot()
    reader = scene.login(scene.finance)
    assert reader.get("/finance/tokens/").status_code == 403
    assert reader.post("/finance/tokens/1/revoke", data={
        "csrf_token": csrf(reader, "/finance/")}).status_code == 403
    admin = scene.login(scene.admin)
    assert admin.post("/finance/tokens/2/revoke").status_code == 400  # no CSRF token
    assert scene.shop.app.test_client().get("/finance/tokens/").status_code == 401
    assert check_token(scene.shop.runtime.engine, scene.finance, scene.shop.now) is not None
    assert scene.snapshot() == before


def test_a_session_ends_when_its_token_is_revoked(scene: Scene) -> None:
    reader = scene.login(scene.finance)
    assert reader.get("/finance/").status_code == 200
    admin = scene.login(scene.admin)
    assert admin.post("/finance/tokens/2/revoke", data={
        "csrf_token": csrf(admin, "/finance/tokens/"), "confirm": "yes"}).status_code == 200
    assert reader.get("/finance/").status_code == 401


def test_made_tokens_expire_when_they_say(sqlite_url: str, now: datetime) -> None:
    engine = make_engine(sqlite_url)
    migrate(engine)
    made = create_token(engine, "Dee", "finance", now, expires_in=timedelta(hours=12))
    assert check_token(engine, made.secret, now + timedelta(hours=11, minutes=59)) is not None
    assert check_token(engine, made.secret, now + timedelta(hours=12)) is None
    engine.dispose()


def test_an_admin_makes_a_warehouse_token_on_the_page_and_it_opens_only_receiving(
    scene: Scene,
) -> None:
    client = scene.login(scene.admin)
    page = client.get("/finance/tokens/").get_data(as_text=True)
    assert '<option value="warehouse">warehouse (receives returns only)</option>' in page
    assert ("warehouse opens only the receiving page (<code>/finance/receive</code>: find a "
            "return by order number or tracking code and mark what arrived) and "
            "<code>/api/returns</code>, and no other finance page.") in page
    made = client.post("/finance/tokens/", data={
        "name": "Dock", "role": "warehouse", "expires_in": "",
        "csrf_token": csrf(client, "/finance/tokens/")})
    assert made.status_code == 201
    html = made.get_data(as_text=True)
    assert "Token #3 for Dock (warehouse), expires never." in html
    secret = re.search(r'<code class="secret">(rfd_[^<]+)</code>', html)
    assert secret is not None
    who = check_token(scene.shop.runtime.engine, secret.group(1), scene.shop.now)
    assert who is not None and (who.name, who.role) == ("Dock", "warehouse")

    dock = scene.shop.app.test_client()
    login = dock.post("/finance/login", data={"token": secret.group(1),
                                              "csrf_token": csrf(dock, "/finance/login")})
    assert (login.status_code, login.headers["Location"]) == (303, "/finance/receive")
    assert dock.get("/finance/receive").status_code == 200
    assert dock.get("/finance/summary").status_code == 403
    bearer = {"Authorization": f"Bearer {secret.group(1)}"}
    listed = scene.shop.app.test_client().get("/api/returns", headers=bearer)
    assert listed.status_code == 200, listed.get_data(as_text=True)
    assert scene.shop.app.test_client().get("/api/decisions", headers=bearer).status_code == 403
