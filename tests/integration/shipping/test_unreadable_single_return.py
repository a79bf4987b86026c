"""One return whose stored record cannot be read (its ``return_shipments`` row or its decision's
body edited by hand, cut short by a partial restore) never takes a page about it down: finance's
decision page shows what can be read and one line naming the row; receiving it is refused by
name (409, the CLI's error), with nothing recorded and no money released; the customer's status
page shows what can be read and one polite sentence in their language."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import url_for
from sqlalchemy import text, update
from werkzeug.test import TestResponse

from refunds_plugin.cli import main
from refunds_plugin.finance.tokens import create_token
from refunds_plugin.ledger.tables import decisions, exchanges, orders, return_shipments
from tests.fakes.finance_scene import csrf
from tests.fakes.outbound_receiver import Receiver
from tests.fakes.smtp_sink import SmtpSink
from tests.integration.shipping import conftest as shipping
from tests.integration.shipping import test_exchange_shipped_by_hand as by_hand
from tests.integration.shipping.conftest import Returns, cut_at, desk_round
from webhooks.returns.views import status_token

# what each corruption stores, in which table and column, and how it is named
CORRUPT = {
    "return row": (return_shipments, "address", '{"name": "Our ret',
                   f"return_shipments ({cut_at(9)})"),
    "decision body": (decisions, "body", '{"outcome": "approve", "resolu',
                      f"decisions.body ({cut_at(23)})"),
}


@dataclass
class Shop:
    """Orders 1001 and 1002 with their labels bought, their refunds held for the parcel."""

    r: Returns
    decided: dict[str, str]  # decision id by order
    warehouse: dict[str, str]
    finance: dict[str, str]

    def corrupt(self, corruption: str) -> tuple[str, str]:
        """1002's row cut short by SQL: (its decision id, how the column is named)."""
        table, column, cut, named = CORRUPT[corruption]
        bad = self.decided["1002"]
        key = table.c.id if table is decisions else table.c.decision_id
        with self.r.h.runtime.engine.begin() as conn:
            conn.execute(update(table).where(key == bad).values({column: cut}))
        return bad, named

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """What a refusal must leave exactly as it was: the journal, attempts, receipts."""
        out = {}
        with self.r.h.runtime.engine.connect() as conn:
            for table, order in (("ledger_entries", "seq"), ("refund_attempts", "id"),
                                 ("return_receipts", "id"), ("return_shipments", "decision_id"),
                                 ("outbox", "seq")):
                out[table] = [tuple(r) for r in conn.execute(
                    text(f"SELECT * FROM {table} ORDER BY {order}"))]
        return out


def _bearer(r: Returns, role: str) -> dict[str, str]:
    token = create_token(r.h.runtime.engine, role.title(), role, r.h.clock()).secret
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def shop(returns_service: Callable[..., Returns], smtp: SmtpSink, erp: Receiver) -> Shop:
    r, decided = shipping.two_mailed_returns(returns_service, smtp.url)
    desk_round(r)
    return Shop(r, decided, _bearer(r, "warehouse"), _bearer(r, "finance"))


def _errors(caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
    return [rec.getMessage() for rec in caplog.records
            if rec.name == logger and rec.levelname == "ERROR"]


def _text(html: str) -> str:
    """What a reader sees: tags gone, runs of ASCII white space one space (a narrow no-break
    space stays: French puts it before ';')."""
    return re.sub(r"[ \t\r\n]+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


@pytest.mark.parametrize("corruption", list(CORRUPT))
def test_the_finance_decision_page_shows_what_can_be_read_and_names_the_row(
    shop: Shop, caplog: pytest.LogCaptureFixture, corruption: str,
) -> None:
    bad, named = shop.corrupt(corruption)
    before = shop.snapshot()
    caplog.clear()

    page = shop.r.h.client().get(f"/finance/decisions/{bad}", headers=shop.finance)

    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    line = (f"The stored record of decision {bad} cannot be read: {named}. A person must look "
            "at the row; nothing was changed.")
    found = re.search(r'<p class="error unreadable" role="alert">(.*?)</p>', html, re.S)
    assert found is not None and _text(found.group(1)) == line
    assert "Decision for order 1002" in html
    # the plain columns still read: the held refund, the parcel's status and label
    assert '<td class="status-held">held</td>' in html
    assert "<dt>Label</dt><dd>bought" in html
    assert _errors(caplog, "refunds.finance") == [f"decision {bad}, order 1002: {line}"]
    assert CORRUPT[corruption][2] not in caplog.text
    assert shop.snapshot() == before


@pytest.mark.parametrize("corruption", list(CORRUPT))
def test_receiving_a_return_that_cannot_be_read_is_refused_and_records_nothing(
    shop: Shop, caplog: pytest.LogCaptureFixture, corruption: str, tmp_path: Path,
) -> None:
    bad, named = shop.corrupt(corruption)
    what = named.split(" (")[0]
    what = {"return_shipments": "return (return_shipments)",
            "decisions.body": "decision (decisions.body)"}[what]
    why = named[named.index("(") + 1:-1]
    said = (f"the return of decision {bad}, order 1002 cannot be received: its stored {what} "
            f"cannot be read ({why}); a person must repair the row first, nothing was "
            "recorded")
    before = shop.snapshot()
    caplog.clear()

    api = shop.r.h.client().post(
        f"/api/returns/{bad}/receive", headers=shop.warehouse,
        json={"lines": [{"line_id": "l1", "condition": "as_new"}]})
    cli = CliRunner().invoke(main, ["returns", "receive", "1002", "l1=as_new"], env={
        "REFUNDS_DATABASE_URL": shop.r.h.db_url, "REFUNDS_POLICY": str(tmp_path / "policy.yaml")})
    listed = shop.r.h.client().get("/finance/receive?q=1002", headers=shop.warehouse)
    dock, _ = by_hand._login(shop.r, "Dock", "warehouse")
    form = dock.post(f"/finance/receive/{bad}", data={
        "csrf_token": csrf(dock, "/finance/receive?q=1001"), "quantity-l1": "1",
        "condition-l1": "as_new"})

    assert (api.status_code, api.get_json()) == (
        409, {"error": {"code": "unreadable_record", "message": said}})
    assert (cli.exit_code, cli.output.splitlines()[-1]) == (1, f"Error: {said}")
    assert form.status_code == 409
    assert said in _text(form.get_data(as_text=True)).replace("&#39;", "'")
    assert _errors(caplog, "refunds.shipping") == [said, said, said]
    # the packing table offers no form for it: it says why instead
    assert listed.status_code == 200
    assert "Mark received" not in listed.get_data(as_text=True)
    assert f"This return cannot be shown or received here: its stored {what} cannot be read " \
        f"({why}): a person must repair the row." in _text(listed.get_data(as_text=True))
    assert shop.snapshot() == before  # nothing received, no money released
    assert shipping.where_they_stand(shop.r)[1] == [("1001", "held", 2500),
                                                    ("1002", "held", 2500)]


PART_UNREADABLE = {
    "en": "Part of your return's record cannot be read right now, so this page shows only what "
          "can be. Our team has been told and will look at it; you don't need to do anything.",
    "de": "Ein Teil der Daten Ihrer Rücksendung kann gerade nicht gelesen werden, daher zeigt "
          "diese Seite nur, was lesbar ist. Unser Team ist informiert und kümmert sich darum; "
          "Sie müssen nichts tun.",
    "fr": "Une partie du dossier de votre retour ne peut pas être lue pour le moment\u202f; "
          "cette page n’affiche donc que ce qui peut l’être. Notre équipe est prévenue et va "
          "s’en occuper\u202f; vous n’avez rien à faire.",
    "es": "Una parte del registro de tu devolución no se puede leer ahora mismo, así que esta "
          "página muestra solo lo que se puede leer. Nuestro equipo ya lo sabe y lo revisará; "
          "no tienes que hacer nada.",  # "tú", as the rest of the Spanish page
}


def _status(r: Returns, decision_id: str, page: str = "status") -> TestResponse:
    with r.h.app.test_request_context():
        url = url_for(f"returns.{page}", token=status_token(decision_id))
    return r.h.client().get(url)


@pytest.mark.parametrize("lang", list(PART_UNREADABLE))
@pytest.mark.parametrize("corruption", list(CORRUPT))
def test_the_customers_status_page_shows_what_can_be_read_and_says_so_politely(
    shop: Shop, caplog: pytest.LogCaptureFixture, corruption: str, lang: str,
) -> None:
    bad, named = shop.corrupt(corruption)
    with shop.r.h.runtime.engine.begin() as conn:
        conn.execute(update(orders).where(orders.c.order_id == "1002").values(locale=lang))
    before = shop.snapshot()
    caplog.clear()

    page = _status(shop.r, bad)

    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    found = re.search(r'<p class="notice unreadable" role="status">(.*?)</p>', html, re.S)
    assert found is not None and _text(found.group(1)) == PART_UNREADABLE[lang]
    assert 'data-stage="waiting"' in html  # the held refund, from its plain columns
    assert "Traceback" not in html and CORRUPT[corruption][2] not in html
    assert _errors(caplog, "refunds.returns") == [
        f"the return of decision {bad}, order 1002: its stored {named} cannot be read: its "
        "customer's page shows what can be read until a person repairs the row"]
    # the answer page (the link right after Send) says the same, never a 500
    answer = _status(shop.r, bad, "answer")
    assert answer.status_code == 200
    assert _text(PART_UNREADABLE[lang]) in _text(answer.get_data(as_text=True))
    assert shop.snapshot() == before
    # the other customer's page is whole
    good = _status(shop.r, shop.decided["1001"]).get_data(as_text=True)
    assert 'class="notice unreadable"' not in good and "return-instructions" in good


def test_an_exchange_whose_progress_cannot_be_read_is_never_marked_shipped_on_a_guess(
    returns_service: Callable[..., Returns], smtp: SmtpSink, caplog: pytest.LogCaptureFixture,
) -> None:
    r, decision = by_hand._shop(returns_service, smtp)  # ready: a person ships it
    cut = '{"nobody_ships": tr'
    with r.h.runtime.engine.begin() as conn:
        conn.execute(update(exchanges).where(exchanges.c.decision_id == decision)
                     .values(progress=cut))
    why = "not valid JSON: Expecting value: line 1 column 18 (char 17)"
    admin = _bearer(r, "admin")
    before = Shop(r, {}, {}, {}).snapshot()
    row_before = r.h.rows(exchanges, decision_id=decision)
    caplog.clear()

    api = r.h.client().post(f"/api/exchanges/{decision}/shipped", headers=admin,
                            json={"carrier": "UPS", "tracking_number": "1Z999"})
    page = r.h.client().get(f"/finance/decisions/{decision}", headers=admin)
    status = _status(r, decision)

    assert (api.status_code, api.get_json()) == (409, {"error": {
        "code": "unreadable_record",
        "message": f"exchange {decision}'s stored progress (exchanges.progress) cannot be "
                   f"read ({why}); a person must repair the row first"}})
    html = page.get_data(as_text=True)
    assert page.status_code == 200, html
    found = re.search(r'<p class="error unreadable" role="alert">(.*?)</p>', html, re.S)
    assert found is not None and _text(found.group(1)) == (
        f"The stored record of decision {decision} cannot be read: exchanges.progress ({why}). "
        "A person must look at the row; nothing was changed.")
    assert 'class="exchange-ready"' in html and "Mark shipped" not in html
    assert status.status_code == 200
    assert PART_UNREADABLE["en"] in _text(status.get_data(as_text=True))
    assert Shop(r, {}, {}, {}).snapshot() == before
    assert r.h.rows(exchanges, decision_id=decision) == row_before
    assert cut not in caplog.text
