"""A PostgreSQL server whose own time zone is not UTC (``initdb`` takes the machine's: a shop's
server in New York says ``America/New_York``) hands back every stored time in that zone. Finance
reads UTC days and times everywhere: a decision made at 02:30 UTC on 24 November belongs to the
summary's day 2026-11-24 and reads ``2026-11-24 02:30`` under ``ledger list``'s "created (UTC)",
never 21:30 the day before."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from refunds_plugin.cli import main
from refunds_plugin.finance.tokens import create_token
from refunds_plugin.ledger.db import make_engine
from refunds_plugin.ledger.migrate import migrate
from tests.conftest import PG_ADMIN_URL, fresh_pg_database
from tests.fakes.shop import Shop

DECIDED = datetime(2026, 11, 24, 2, 30, tzinfo=UTC)  # 21:30 on the 23rd in New York


@pytest.fixture
def new_york_db(pg_server_url: str) -> Iterator[str]:
    """A migrated database on the test server whose sessions default to New York's time."""
    with fresh_pg_database() as url:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"ALTER DATABASE \"{url.rsplit('/', 1)[1]}\" "
                              "SET timezone = 'America/New_York'"))
        admin.dispose()
        engine = make_engine(url)
        migrate(engine)
        engine.dispose()
        yield url


def test_a_server_in_another_time_zone_changes_no_day_or_time_finance_reads(
    new_york_db: str,
) -> None:
    shop = Shop(new_york_db, DECIDED)
    try:
        shop.order("o-1", 2500, "ann@example.com", paid_days_ago=3)
        decided = shop.ask_return("o-1", "r-1")
        shop.pay_out()
        token = create_token(shop.runtime.engine, "Fin", "finance", shop.now).secret
        auth = {"Authorization": f"Bearer {token}"}
        summary = shop.client.get("/api/summary?since=2026-11-01&until=2026-12-01",
                                  headers=auth).get_json()
        day_csv = shop.client.get("/api/summary?since=2026-11-01&until=2026-12-01&format=csv",
                                  headers=auth).get_data(as_text=True).splitlines()
    finally:
        shop.runtime.engine.dispose()

    assert [(d["day"], [(t["decisions"], t["sales"], t["dry_run"]) for t in d["totals"]])
            for d in summary["days"]] == [("2026-11-21", [(0, 2500, 0)]),
                                          ("2026-11-24", [(1, 0, 2500)])]
    assert [line.split(",")[:3] for line in day_csv[1:]] == [["2026-11-21", "EUR", "0"],
                                                              ["2026-11-24", "EUR", "1"]]
    listed = CliRunner().invoke(main, ["ledger", "list"],
                                env={"REFUNDS_DATABASE_URL": new_york_db})
    assert listed.exit_code == 0, listed.output
    [row] = [line for line in listed.stdout.splitlines() if "o-1" in line]
    assert row.split()[:5] == ["2026-11-24", "02:30", decided["decision_id"][:8], "o-1",
                               "approve"]
