"""Finance's word for a refund Saleor granted late: the grant failed, an admin approved paying
it again, and before the retry ran the merchant re-requested the grant from the Dashboard and it
succeeded. The money moved once (the first attempt, succeeded) and the retry was canceled
because nothing was left to pay: the decision's money status is ``succeeded`` (lists, the status
filter, the CSV), and the summary counts the money as returned, not as "mixed" nor waiting."""

from __future__ import annotations

import csv
import io

from refunds_plugin.finance.tokens import create_token
from refunds_plugin.intake.reviews import decide
from tests.integration.saleor_app.test_saleor_settled_late import ORDER, _failed


def test_a_grant_that_succeeded_late_with_its_retry_canceled_reads_succeeded(installed, clock):
    attempt, grant = _failed(installed, clock)
    decide(installed.engine, installed.runtime.service, attempt.decision_id, approve=True,
           by="ann", note="try again", now=clock())
    installed.saleor.dashboard_rerequest(grant["id"])  # before the executor ran the retry
    installed.saleor.settle(grant["id"])
    assert installed.webhook("ORDER_REFUNDED", ORDER).status_code == 200
    installed.executor.drain()
    assert [a.status for a in installed.attempts()] == ["succeeded", "canceled"]

    token = create_token(installed.engine, "Fin", "finance", clock()).secret
    auth = {"Authorization": f"Bearer {token}"}
    client = installed.app.test_client()
    [row] = client.get("/api/decisions", headers=auth).get_json()["data"]
    [csv_row] = list(csv.DictReader(io.StringIO(
        client.get("/api/decisions?format=csv", headers=auth).get_data(as_text=True))))
    succeeded = client.get("/api/decisions?status=succeeded", headers=auth).get_json()["data"]
    mixed = client.get("/api/decisions?status=mixed", headers=auth).get_json()["data"]
    summary = client.get("/api/summary", headers=auth).get_json()

    assert (row["id"], row["money_status"], csv_row["money_status"]) == (
        attempt.decision_id, "succeeded", "succeeded")
    assert ([r["id"] for r in succeeded], mixed) == ([attempt.decision_id], [])
    [usd] = summary["totals"]
    assert (usd["currency"], usd["refunded"]) == ("USD", 3000)
    assert (summary["promise"]["returned"], summary["promise"]["overdue"]) == (1, 0)
