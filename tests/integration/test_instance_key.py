"""The instance's own key: made once, kept, and the same for concurrent first starts; a status
link signed under it opens on a second app (a restart) on the same database."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from sqlalchemy import select

from refunds_plugin.config import load_config
from refunds_plugin.ledger.db import make_engine
from refunds_plugin.ledger.instance import KEPT, instance_secret, kept_secret
from refunds_plugin.ledger.tables import instance_keys
from tests.fakes.returns_client import open_form, submit
from tests.fakes.returns_shop import ReturnsShop, order_event


def test_concurrent_first_starts_agree_on_one_kept_key(any_db_url: str) -> None:
    engine = make_engine(any_db_url)

    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda _: instance_secret(engine), range(8)))

    with engine.connect() as conn:
        rows = conn.execute(select(instance_keys.c.name, instance_keys.c.value)).all()
    assert len(set(keys)) == 1 and len(keys[0] or "") == 64
    assert [tuple(r) for r in rows] == [("secret_key", keys[0])]
    assert instance_secret(engine) == keys[0]
    engine.dispose()


def test_a_status_link_opens_after_a_restart_when_no_secret_key_is_set(
    any_db_url: str, now: datetime
) -> None:
    said: list[str] = []
    config = load_config(env={}, overrides={"database_url": any_db_url})

    def start() -> ReturnsShop:
        key = kept_secret(config, said.append)
        return ReturnsShop(any_db_url, lambda: now, {"secret_key": key})

    first = start()
    first.seed(order_event("1001"))
    client = first.app.test_client()
    answer = submit(client, open_form(client), **{"line-0-qty": "1",
                                                  "line-0-reason": "changed_mind"})
    link = re.search(r'href="(/returns/status/[^"]+)"', answer.get_data(as_text=True))
    assert link
    first.close()

    again = start()
    resp = again.app.test_client().get(link.group(1))

    assert resp.status_code == 200
    assert said == [KEPT, KEPT]
    assert KEPT == ("status links: REFUNDS_SECRET_KEY is not set, so this instance's own key is "
                    "used, kept in its database: links survive restarts")
    again.close()
