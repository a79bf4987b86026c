"""A return Saleor was never told of (its ``saleor_returns`` row ended ``failed``) is a
``saleor_return_failed`` follow-up on ``/finance/follow-ups`` and ``/api/follow-ups``: what
failed, the order, and what a person must do. Once the person has recorded the return in the
Saleor dashboard they say so (the page's form or the API, admins only): the row becomes
``recorded_by_hand``, journalled with who, and the follow-up is cleared; once. A return that
failed a try and was then recorded opens none."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime
from typing import Any

from click.testing import CliRunner
from flask.testing import FlaskClient

from refunds_plugin.cli import main
from refunds_plugin.finance.tokens import create_token
from refunds_plugin.ledger.migrate import head_revision, migrate
from refunds_plugin.ledger.tables import follow_ups, saleor_returns
from tests.fakes import Clock
from tests.fakes.finance_scene import as_before, csrf
from tests.fakes.saleor_harness import SaleorHarness, rows
from tests.integration.saleor_app.test_saleor_free_order_return import (
    ORDER,
    _ask,
    _entries,
    _free_order,
    _round,
)
from tests.web.finance.test_finance_follow_ups import cells as html_cells


def cells(page: str) -> list[list[str]]:
    """The follow-up rows' cells, as a person reads them (entities decoded)."""
    return [[html.unescape(c) for c in row] for row in html_cells(page)]


def _words(decision_id: str) -> str:
    return (f"Saleor was not told of return {decision_id} of order 1001 ({ORDER}): "
            f"order_not_found: Saleor has no order {ORDER}. The return is approved and the "
            "customer has their answer, but Saleor's order does not show the items as returned: "
            "record the return in the Saleor dashboard (check the order's fulfillments for a "
            "Returned one this service made first), then mark it recorded here.")


def _failed(shop: SaleorHarness) -> str:
    """A free order's approved return; the order then deleted in Saleor's Dashboard, so the
    worker's try ends failed (a final error). Returns the decision id."""
    _free_order(shop)
    decision_id = str(_ask(shop).get_json()["decision_id"])
    del shop.saleor.orders[ORDER]
    assert _round(shop) == 1
    return decision_id


def _login(shop: SaleorHarness, clock: Clock, role: str) -> FlaskClient:
    client = shop.app.test_client()
    secret = create_token(shop.engine, f"Ada {role}", role, clock()).secret
    resp = client.post("/finance/login", data={"token": secret,
                                              "csrf_token": csrf(client, "/finance/login")})
    assert resp.status_code == 303
    return client


def _api(shop: SaleorHarness, clock: Clock, path: str, role: str = "finance",
         method: str = "get") -> Any:
    secret = create_token(shop.engine, f"Bot {role}", role, clock()).secret
    call = getattr(shop.app.test_client(), method)
    return call(path, headers={"Authorization": f"Bearer {secret}"})


def _follow_ups(shop: SaleorHarness) -> list[tuple[Any, ...]]:
    return [(f.kind, f.order_id, f.subject, f.status, f.payment_reference, f.amount, f.currency,
             f.customer_email, f.detail) for f in rows(shop, follow_ups)]


def test_a_return_saleor_was_not_told_of_is_a_follow_up_with_what_failed_and_what_to_do(
    installed: SaleorHarness, clock: Clock,
) -> None:
    decision_id = _failed(installed)

    assert _follow_ups(installed) == [("saleor_return_failed", ORDER, decision_id, "open", None,
                                       None, None, None, _words(decision_id))]
    answer = _api(installed, clock, "/api/follow-ups")
    assert answer.status_code == 200
    assert answer.get_json()["data"] == [{
        "kind": "saleor_return_failed", "order_id": ORDER, "decision_id": decision_id,
        "payment_reference": None, "amount": None, "currency": None, "amount_text": "",
        "customer": "ann@example.com", "what_failed": _words(decision_id), "status": "open",
        "opened_at": "2026-11-24T12:00:00+00:00", "due_at": "2026-11-24T12:00:00+00:00",
        "cleared_at": None, "age_seconds": 0}]

    page = _login(installed, clock, "finance").get("/finance/follow-ups").get_data(as_text=True)
    assert cells(page) == [["2026-11-24 12:00 UTC", "0 min", ORDER, "ann@example.com", "",
                            _words(decision_id), "", "due",
                            f"Saleor not told: return {decision_id}"]]
    assert "Mark recorded in Saleor" not in page  # finance reads; an admin marks it
    admin = _login(installed, clock, "admin").get("/finance/follow-ups").get_data(as_text=True)
    assert (f'action="/finance/saleor-returns/{decision_id}/recorded"' in admin
            and "Mark recorded in Saleor</button>" in admin)


def test_a_person_marks_it_recorded_in_saleor_once_and_its_follow_up_is_cleared(
    installed: SaleorHarness, clock: Clock,
) -> None:
    decision_id = _failed(installed)
    admin = _login(installed, clock, "admin")
    clock.advance(600)

    def mark() -> Any:
        return admin.post(f"/finance/saleor-returns/{decision_id}/recorded",
                          data={"csrf_token": csrf(admin, "/finance/follow-ups")})

    resp = mark()

    assert (resp.status_code, resp.headers["Location"]) == (303, "/finance/follow-ups")
    page = re.sub(r"\s+", " ", admin.get("/finance/follow-ups").get_data(as_text=True))
    assert (f"The return of decision {decision_id} (order {ORDER}) is recorded as entered in "
            "the Saleor dashboard; its follow-up is cleared.") in page
    assert cells(page) == []
    [row] = rows(installed, saleor_returns)
    assert (row.status, row.last_error) == (
        "recorded_by_hand", f"order_not_found: Saleor has no order {ORDER}")
    assert _entries(installed, decision_id)[1:] == [
        {"status": "failed", "error": f"order_not_found: Saleor has no order {ORDER}"},
        {"status": "recorded_by_hand", "by": "Ada admin (token #1)"}]
    [f] = rows(installed, follow_ups)
    assert (f.status, str(f.cleared_at)[:19]) == ("cleared", "2026-11-24 12:10:00")
    decision = admin.get(f"/finance/decisions/{decision_id}").get_data(as_text=True)
    assert ('<dt>Return in Saleor</dt><dd class="saleor-return-recorded_by_hand">recorded in the '
            'Saleor dashboard by a person</dd>') in decision
    assert "Saleor was not told" not in decision

    again = mark()  # a double click: nothing more is recorded
    assert again.status_code == 409
    assert (f"Nothing was recorded: the return of decision {decision_id} is not failed: it was "
            "recorded in Saleor by hand already.") in again.get_data(as_text=True)
    assert len(_entries(installed, decision_id)) == 3


def test_the_api_marks_it_recorded_once_for_an_admin_only(
    installed: SaleorHarness, clock: Clock,
) -> None:
    decision_id = _failed(installed)
    path = f"/api/saleor-returns/{decision_id}/recorded"

    assert _api(installed, clock, path, "finance", "post").status_code == 403
    done = _api(installed, clock, path, "admin", "post")

    assert (done.status_code, done.get_json()) == (200, {
        "decision_id": decision_id, "order_id": ORDER, "status": "recorded_by_hand",
        "recorded_by": "Bot admin (token #2)", "recorded_at": "2026-11-24T12:00:00+00:00",
        "follow_up_cleared": True})
    assert _api(installed, clock, "/api/follow-ups").get_json()["data"] == []
    again = _api(installed, clock, path, "admin", "post")
    assert (again.status_code, again.get_json()["error"]) == (409, {
        "code": "not_failed", "message": f"the return of decision {decision_id} is not failed: "
                                         "it was recorded in Saleor by hand already"})
    unknown = _api(installed, clock, "/api/saleor-returns/nope/recorded", "admin", "post")
    assert (unknown.status_code, unknown.get_json()["error"]["code"]) == (
        404, "unknown_saleor_return")


def test_a_return_still_being_told_cannot_be_marked_by_hand(
    installed: SaleorHarness, clock: Clock,
) -> None:
    _free_order(installed)
    decision_id = str(_ask(installed).get_json()["decision_id"])

    refused = _api(installed, clock, f"/api/saleor-returns/{decision_id}/recorded", "admin",
                   "post")

    assert (refused.status_code, refused.get_json()["error"]["message"]) == (
        409, f"the return of decision {decision_id} is not failed: Saleor is still being told "
             "of it; nothing to record by hand")
    assert [r.status for r in rows(installed, saleor_returns)] == ["pending"]


def test_a_return_that_failed_a_try_and_was_then_recorded_is_no_follow_up(
    installed: SaleorHarness, clock: Clock,
) -> None:
    _free_order(installed)
    _ask(installed)
    installed.saleor.fail["RefundsReturnProducts"] = ["network_before"]
    assert _round(installed) == 1
    [row] = rows(installed, saleor_returns)
    assert (row.status, row.last_error is not None) == ("pending", True)
    clock.advance(2)
    assert _round(installed) == 1

    assert [r.status for r in rows(installed, saleor_returns)] == ["recorded"]
    assert rows(installed, follow_ups) == []
    assert _api(installed, clock, "/api/follow-ups?status=all").get_json()["data"] == []
    listed = _login(installed, clock, "finance").get("/finance/follow-ups?status=all")
    assert cells(listed.get_data(as_text=True)) == []


def test_revision_0027_opens_the_follow_up_of_a_return_that_failed_before_it(
    installed: SaleorHarness, clock: Clock,
) -> None:
    decision_id = _failed(installed)
    [opened] = rows(installed, follow_ups)
    # the ledger as the code before 0027 left it: the failed row, no follow-up
    as_before(installed.engine, "0026", "DELETE FROM follow_ups")
    assert rows(installed, follow_ups) == []
    clock.advance(3600)

    assert migrate(installed.engine) == ("0026", head_revision())

    assert _follow_ups(installed) == [("saleor_return_failed", ORDER, decision_id, "open", None,
                                       None, None, None, _words(decision_id))]
    [f] = rows(installed, follow_ups)
    assert str(f.created_at)[:19] == str(opened.created_at)[:19] == "2026-11-24 12:00:00"
    assert migrate(installed.engine) == (head_revision(), head_revision())  # nothing more
    assert len(rows(installed, follow_ups)) == 1


def _cli(db_url: str, *args: str) -> list[str]:
    env = {"REFUNDS_DATABASE_URL": db_url, "REFUNDS_POLICY": "preset:default",
           "REFUNDS_STRIPE_API_KEY": ""}
    result = CliRunner().invoke(main, ["trouble", "follow-ups", *args], env=env,
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def test_the_command_line_lists_it_as_the_api_does_and_filters_by_kind_and_status(
    installed: SaleorHarness, clock: Clock, any_db_url: str,
) -> None:
    decision_id = _failed(installed)
    words = _words(decision_id)

    table = _cli(any_db_url)

    assert table == [
        "opened                status  kind                  order         "
        f"{'decision':<36}  customer         amount  payment  what failed",
        f"2026-11-24 12:00 UTC  due     saleor_return_failed  {ORDER}  {decision_id}  "
        f"ann@example.com  -       -        {words}"]
    before = datetime.now(UTC)
    [line] = _cli(any_db_url, "--json")
    after = datetime.now(UTC)
    item = json.loads(line)
    opened = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    assert (int((before - opened).total_seconds()) <= item.pop("age_seconds")
            <= int((after - opened).total_seconds()))
    assert item == {
        "kind": "saleor_return_failed", "order_id": ORDER, "decision_id": decision_id,
        "payment_reference": None, "amount": None, "currency": None, "amount_text": "",
        "customer": "ann@example.com", "what_failed": words, "status": "open",
        "opened_at": "2026-11-24T12:00:00+00:00", "due_at": "2026-11-24T12:00:00+00:00",
        "cleared_at": None}
    assert _cli(any_db_url, "--kind", "failed_payment") == ["nothing to follow up"]
    assert _cli(any_db_url, "--kind", "failed_payment", "--kind", "saleor_return_failed") == table

    clock.advance(600)
    path = f"/api/saleor-returns/{decision_id}/recorded"
    assert _api(installed, clock, path, "admin", "post").status_code == 200

    assert _cli(any_db_url) == ["nothing to follow up"]
    assert _cli(any_db_url, "--status", "cleared")[1] == (
        f"2026-11-24 12:00 UTC  cleared 2026-11-24 12:10 UTC  saleor_return_failed  {ORDER}  "
        f"{decision_id}  ann@example.com  -       -        {words}")
    assert json.loads(_cli(any_db_url, "--status", "all", "--json")[0])["cleared_at"] == (
        "2026-11-24T12:10:00+00:00")
