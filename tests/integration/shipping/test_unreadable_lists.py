"""A return whose stored row cannot be read (edited by hand, cut short by a partial restore)
never takes a list of returns down with it: the warehouse's page, ``GET /api/returns``,
``refunds returns list`` and ``refunds ledger list --json`` show the others as usual and that
one in its place, saying why in words that never quote the row."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from html import unescape
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import update
from werkzeug.test import TestResponse

from refunds_plugin.cli import main
from refunds_plugin.finance.tokens import create_token
from refunds_plugin.ledger.tables import return_shipments
from tests.fakes.outbound_receiver import Receiver
from tests.fakes.smtp_sink import SmtpSink
from tests.integration.shipping import conftest as shipping
from tests.integration.shipping.conftest import Returns, cut_at, desk_round

CUT = '{"name": "Our ret'  # return_shipments.address cut short
SAID = (f"its stored return (return_shipments) cannot be read ({cut_at(9)}): a person must "
        "repair the row")


@dataclass
class Shop:
    """Orders 1001 and 1002 with their labels bought, 1002's return row cut short."""

    r: Returns
    decided: dict[str, str]  # decision id by order
    codes: dict[str, str]  # tracking code by order
    auth: dict[str, str]  # a warehouse token's header

    def get(self, url: str) -> TestResponse:
        return self.r.h.client().get(url, headers=self.auth)


@pytest.fixture
def shop(returns_service: Callable[..., Returns], smtp: SmtpSink, erp: Receiver) -> Shop:
    r, decided = shipping.two_mailed_returns(returns_service, smtp.url)
    desk_round(r)
    codes = {row.order_id: str(row.tracking_code) for row in r.h.rows(return_shipments)}
    with r.h.runtime.engine.begin() as conn:
        conn.execute(update(return_shipments)
                     .where(return_shipments.c.decision_id == decided["1002"])
                     .values(address=CUT))
    token = create_token(r.h.runtime.engine, "Dock", "warehouse", r.h.clock()).secret
    return Shop(r, decided, codes, {"Authorization": f"Bearer {token}"})


def test_the_returns_api_lists_the_others_and_says_which_one_cannot_be_read(shop: Shop) -> None:
    listed = shop.get("/api/returns")
    found = shop.get("/api/returns?q=1002")

    assert listed.status_code == 200, listed.get_data(as_text=True)
    rows = {d["order_id"]: d for d in listed.get_json()["data"]}
    assert set(rows) == {"1001", "1002"}
    good, bad = rows["1001"], rows["1002"]
    assert (good["status"], good["label_status"], good["unreadable"]) == (
        "label_created", "bought", None)
    assert [ln["name"] for ln in good["lines"]] == ["Mug"]
    assert good["return_instructions"]["address"]["street"] == "1 Dock Rd"
    assert bad == {
        "decision_id": shop.decided["1002"], "order_id": "1002", "order_number": None,
        "status": "label_created", "label_status": "bought", "carrier": None,
        "tracking_code": shop.codes["1002"], "label_cost": None, "label_currency": None,
        "label_fee": None, "currency": None, "return_by": None, "expires_at": None,
        "refund_on": None, "lines": [], "received": [], "return_instructions": None,
        "unreadable": SAID}
    assert found.status_code == 200
    assert found.get_json()["data"] == [bad]


def test_the_receiving_page_shows_a_return_that_cannot_be_read_as_a_line_not_a_traceback(
    shop: Shop,
) -> None:
    bad = shop.get("/finance/receive?q=1002")
    good = shop.get("/finance/receive?q=1001")

    assert bad.status_code == 200, bad.get_data(as_text=True)
    html = bad.get_data(as_text=True)
    bad_id = shop.decided["1002"]
    section = re.search(rf'<section class="return" id="return-{bad_id}">(.*?)</section>', html,
                        re.S)
    assert section is not None, html
    text = " ".join(unescape(re.sub(r"<[^>]+>", " ", section.group(1))).split())
    assert text == f"Order 1002 This return cannot be shown or received here: {SAID}."
    assert "Traceback" not in html and CUT not in html
    assert good.status_code == 200
    assert "Mark received" in good.get_data(as_text=True)


def _cli(r: Returns, tmp_path: Path, *args: str) -> Result:
    policy = tmp_path / "policy.yaml"  # the shop's policy, as the harness wrote it
    env = {"REFUNDS_DATABASE_URL": r.h.db_url, "REFUNDS_POLICY": str(policy)}
    return CliRunner().invoke(main, list(args), env=env)


def test_refunds_returns_list_and_ledger_list_name_the_return_that_cannot_be_read(
    shop: Shop, tmp_path: Path,
) -> None:
    r = shop.r
    table = _cli(r, tmp_path, "returns", "list")
    as_json = _cli(r, tmp_path, "returns", "list", "--json")
    ledger = _cli(r, tmp_path, "ledger", "list", "--json")

    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert sorted(ln.split()[1:5] for ln in lines[1:3]) == [
        ["1001", "label_created", "bought", shop.codes["1001"]],
        ["1002", "label_created", "bought", shop.codes["1002"]]]
    assert lines[3:] == [f"return of decision {shop.decided['1002']}, order 1002: {SAID}"]
    assert as_json.exit_code == 0, as_json.output
    assert {d["order_id"]: d["unreadable"] for d in map(json.loads, as_json.output.splitlines())} \
        == {"1001": None, "1002": SAID}
    assert ledger.exit_code == 0, ledger.output
    shown = {d["order_id"]: d["return_instructions"] for d in map(json.loads,
                                                                 ledger.output.splitlines())}
    assert shown["1002"] == {"unreadable": SAID}
    assert shown["1001"]["address"]["street"] == "1 Dock Rd"
