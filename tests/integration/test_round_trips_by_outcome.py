"""The statements a return.requested sends from the request's thread on PostgreSQL, by outcome.
A plain approval: 4 (tests/integration/test_round_trips_per_event.py). A decision that opens a
review writes its review row with a statement of its own, so ``first_then`` sends the decision's
row before it; what is given after (its journal entry, its messages) is held again and written
in one statement at the end, as before the decision's row joined them (a review then sent 8)."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from tests.fakes.shop import Shop


class Mine:
    def __init__(self, engine: Engine) -> None:
        self.thread = threading.get_ident()
        self.sent: list[str] = []
        self.engine = engine
        event.listen(engine, "before_cursor_execute", self._sent)

    def _sent(self, _c: Any, _cur: Any, statement: str, *_: Any) -> None:
        if threading.get_ident() == self.thread:
            self.sent.append(statement.split("\n")[0][:60])

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._sent)


# review: the inbox row, the order, the history, the decision's row with what was given before
# the review row's INSERT, that INSERT, and the rest (entry, messages) in one statement at the end
@pytest.mark.parametrize("limit, outcome, expected",
                         [("100.00", "approve", 4), ("1.00", "review", 6)])
def test_a_decisions_rows_after_the_early_flush_are_still_one_statement(
    pg_server_url: str, now: datetime, tmp_path: Path, limit: str, outcome: str, expected: int
) -> None:
    path = tmp_path / "p.yaml"
    path.write_text('currency: USD\nwindow: {days: unlimited}\n'
                    f'limits: {{auto_approve_per_request: "{limit}"}}\n', encoding="utf-8")
    shop = Shop(pg_server_url, now, policy=str(path))
    shop._n = 100 if outcome == "review" else 0  # its own event ids on the shared ledger
    try:
        shop.order(f"o-{outcome}", 5000, "ann@example.com", currency="USD")
        seen = Mine(shop.runtime.engine)
        try:
            answer = shop.ask_return(f"o-{outcome}", f"r-{outcome}", settled=False)
        finally:
            seen.close()
        assert answer["outcome"] == outcome
        assert len(seen.sent) == expected, " | ".join(seen.sent)
    finally:
        shop.runtime.engine.dispose()
