"""A finance scene: a shop with one paid-out refund, one decision waiting for review, tokens."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from alembic import command
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from refunds_plugin.finance.tokens import create_token
from refunds_plugin.ledger.migrate import alembic_config
from tests.fakes.shop import Shop


@dataclass
class Scene:
    shop: Shop
    admin: str
    finance: str
    approved_id: str
    review_id: str

    def snapshot(self) -> dict[str, Any]:
        """Everything a refused request must leave exactly as it was."""
        out = {}
        with self.shop.runtime.engine.connect() as conn:
            for table, order in (("ledger_entries", "seq"), ("reviews", "id"),
                                 ("refund_attempts", "id"), ("decisions", "id")):
                out[table] = [tuple(r) for r in conn.execute(
                    text(f"SELECT * FROM {table} ORDER BY {order}"))]
        return out

    def login(self, token: str) -> FlaskClient:
        client = self.shop.app.test_client()
        resp = client.post("/finance/login", data={"token": token,
                                                   "csrf_token": csrf(client, "/finance/login")})
        assert resp.status_code == 303, resp.get_data(as_text=True)
        return client


def csrf(client: FlaskClient, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def make_scene(db_url: str, now: datetime) -> Scene:
    shop = Shop(db_url, now)
    shop.order("o-1", 2500, "ann@example.com")
    shop.order("o-2", 4000, "bob@example.com", paid_days_ago=400)
    approved = shop.ask_return("o-1", "r-1")
    review = shop.ask_return("o-2", "r-2")
    assert (approved["outcome"], review["outcome"]) == ("approve", "review")
    shop.pay_out()
    engine = shop.runtime.engine
    return Scene(
        shop,
        admin=create_token(engine, "Ada Admin", "admin", now).secret,
        finance=create_token(engine, "Fin Reader", "finance", now, expires_days=30).secret,
        approved_id=approved["decision_id"],
        review_id=review["decision_id"],
    )


def as_before(engine: Engine, revision: str, *statements: str) -> None:
    """The database as it was at ``revision``: migrated down to it, then ``statements`` (SQL)
    put back what the writers of then left; a migration test then migrates it up again."""
    with engine.connect() as conn:
        conn = conn.execution_options(sqlite_write=True)
        with conn.begin():
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, revision)
        with conn.begin():
            for sql in statements:
                conn.execute(text(sql))
