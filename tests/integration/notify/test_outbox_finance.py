"""Finance and the outbox: the page (queued, sent, failed, skipped, with why), a resend for
failed messages that only admins may ask for, the preview page, the decision page's messages,
the API and its OpenAPI entry, and ``refunds mail preview``."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from refunds_plugin.cli import main
from refunds_plugin.finance.tokens import create_token
from refunds_plugin.intake import reviews
from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.tables import decisions, outbox
from refunds_plugin.notify import causes
from tests.fakes import Clock, Harness, order_paid, return_requested
from tests.fakes.finance_scene import csrf
from tests.fakes.smtp_sink import SmtpSink
from tests.fakes.stripe_api import FakeStripe


@pytest.fixture
def failed_shop(
    mail_shop_with: Callable[..., Harness], fake_stripe: FakeStripe, smtp: SmtpSink,
    clock: Clock,
) -> Harness:
    """A shop whose first email was refused for good (550), the others sent."""
    h = mail_shop_with()
    smtp.refuse_next(1, "550 5.1.1 No such mailbox")
    fake_stripe.add_payment_intent(5500, "usd", "pi_123")
    h.post_storefront(order_paid())
    h.post_storefront(return_requested())
    h.drain()
    return h


def _tokens(h: Harness, clock: Clock) -> tuple[str, str]:
    engine = h.runtime.engine
    return (create_token(engine, "Ada Admin", "admin", clock.now).secret,
            create_token(engine, "Fin Reader", "finance", clock.now).secret)


def _login(h: Harness, token: str):  # type: ignore[no-untyped-def]
    client = h.client()
    resp = client.post("/finance/login", data={"token": token,
                                               "csrf_token": csrf(client, "/finance/login")})
    assert resp.status_code == 303
    return client


def _failed(h: Harness):  # type: ignore[no-untyped-def]
    [row] = [r for r in h.rows(outbox) if r.status == "failed"]
    return row


def test_the_outbox_page_shows_each_message_and_why_and_an_admin_resends_a_failed_one(
    failed_shop: Harness, smtp: SmtpSink, clock: Clock
) -> None:
    h = failed_shop
    admin, reader = _tokens(h, clock)
    row = _failed(h)

    page = _login(h, reader).get("/finance/outbox/").get_data(as_text=True)
    assert "failed: 1" in page and "sent: 2" in page and "skipped: 2" in page
    assert "SMTP 550: 5.1.1 No such mailbox" in page
    assert "not sent: REFUNDS_OUTBOUND_URL is not set" in page
    assert "Resend" not in page  # a finance reader sees it, cannot act on it
    client = _login(h, reader)
    denied = client.post(f"/finance/outbox/{row.id}/resend",
                         data={"csrf_token": csrf(client, "/finance/outbox/")})
    assert denied.status_code == 403
    assert _failed(h).status == "failed"

    client = _login(h, admin)
    assert "Resend" in client.get("/finance/outbox/?status=failed").get_data(as_text=True)
    done = client.post(f"/finance/outbox/{row.id}/resend",
                       data={"csrf_token": csrf(client, "/finance/outbox/")})
    assert done.status_code == 303
    again = client.post(f"/finance/outbox/{row.id}/resend",
                        data={"csrf_token": csrf(client, "/finance/outbox/")})
    assert again.status_code == 409  # queued now, not failed: nothing more is queued
    h.drain()
    assert [m.subject for m in smtp.received].count(
        "We received your return request for order 1001") == 1
    [resent] = [r for r in h.rows(outbox) if r.id == row.id]
    assert (resent.status, resent.note) == ("sent", "resend asked by Ada Admin (token #1)")
    # sent now: its old refusal is no longer why anything (the row keeps it, the page not)
    page = client.get("/finance/outbox/?status=sent").get_data(as_text=True)
    assert sorted(_why(page, "sent")) == ["", "", "resend asked by Ada Admin (token #1)"]


def _why(page: str, status: str) -> list[str]:
    """The Why cells of the page's messages of ``status``, in the page's order."""
    return re.findall(rf'<tr class="message status-{status}">.*?<td data-label="Why">(.*?)</td>',
                      page, re.S)


def test_a_message_sent_after_a_refusal_says_how_many_tries_not_the_old_error(
    mail_shop_with: Callable[..., Harness], fake_stripe: FakeStripe, smtp: SmtpSink,
    clock: Clock,
) -> None:
    h = mail_shop_with()
    smtp.refuse_next(1, "451 4.3.0 Try again later")
    fake_stripe.add_payment_intent(5500, "usd", "pi_123")
    h.post_storefront(order_paid())
    h.post_storefront(return_requested())
    h.drain()
    clock.advance(700)
    h.drain()
    [again] = [r for r in h.rows(outbox) if r.tries == 2]
    assert (again.status, again.last_error) == ("sent", "SMTP 451: 4.3.0 Try again later")
    _admin, reader = _tokens(h, clock)
    page = _login(h, reader).get("/finance/outbox/?status=sent").get_data(as_text=True)
    assert "Try again later" not in page
    assert sorted(_why(page, "sent")) == ["", "", "sent after 2 tries"]


def test_the_decision_page_lists_its_messages_and_the_preview_shows_an_email(
    failed_shop: Harness, clock: Clock
) -> None:
    h = failed_shop
    _admin, reader = _tokens(h, clock)
    row = _failed(h)
    decision_id = row.cause.split(":", 1)[1]
    client = _login(h, reader)

    decision = client.get(f"/finance/decisions/{decision_id}").get_data(as_text=True)
    assert "<td>request_received</td><td>ann@example.com</td><td>failed</td>" in decision
    assert "<td>refund_sent</td><td>ann@example.com</td><td>sent</td>" in decision

    shown = client.get(f"/finance/outbox/preview?kind=declined&decision={decision_id}")
    html = shown.get_data(as_text=True)
    assert shown.status_code == 200
    assert '<dd class="subject">About your return for order 1001</dd>' in html
    assert "<iframe" in html and 'sandbox=""' in html
    # the email's inline styles would be refused inside the page (srcdoc inherits its policy):
    # the iframe loads the email from its own address, under a policy that allows them
    assert (f'src="/finance/outbox/preview/email.html?kind=declined&amp;decision={decision_id}"'
            in html)
    assert shown.headers["Content-Security-Policy"].endswith("; frame-src 'self'")
    email = client.get(f"/finance/outbox/preview/email.html?kind=declined&decision={decision_id}")
    assert email.status_code == 200 and email.mimetype == "text/html"
    assert email.headers["Content-Security-Policy"] == (
        "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; "
        "frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox")
    assert email.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert 'style="' in email.get_data(as_text=True)
    assert "<title>About your return for order 1001</title>" in email.get_data(as_text=True)
    assert h.client().get(
        f"/finance/outbox/preview/email.html?kind=declined&decision={decision_id}"
    ).status_code in (302, 401)  # no session: not shown
    missing = client.get("/finance/outbox/preview?kind=declined&decision=nope")
    assert missing.status_code == 404
    assert client.get("/finance/outbox/preview/email.html?kind=declined&decision=nope"
                      ).status_code == 404


def test_the_api_lists_the_outbox_and_an_admin_resends(
    failed_shop: Harness, clock: Clock
) -> None:
    h = failed_shop
    admin, reader = _tokens(h, clock)
    row = _failed(h)
    client = h.client()

    def get(path: str, token: str = reader):  # type: ignore[no-untyped-def]
        return client.get(path, headers={"Authorization": f"Bearer {token}"})

    listed = get("/api/outbox?status=failed").get_json()
    assert [(m["id"], m["kind"], m["status"], m["tries"], m["last_error"])
            for m in listed["data"]] == [
        (row.id, "request_received", "failed", 1, "SMTP 550: 5.1.1 No such mailbox")]
    assert listed["data"][0]["created_at"] == "2026-11-24T12:00:00+00:00"
    csv = get("/api/outbox?format=csv&kind=refund_sent").get_data(as_text=True)
    assert csv.splitlines()[0] == ("id,cause,kind,channel,recipient,status,tries,next_try_at,"
                                   "last_error,note,created_at,sent_at")
    assert len(csv.splitlines()) == 2
    bad = get("/api/outbox?status=lost")
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid_parameter"

    forbidden = client.post(f"/api/outbox/{row.id}/resend",
                            headers={"Authorization": f"Bearer {reader}"})
    assert forbidden.status_code == 403
    ok = client.post(f"/api/outbox/{row.id}/resend", headers={"Authorization": f"Bearer {admin}"})
    assert ok.get_json() == {"id": row.id, "status": "queued"}
    conflict = client.post(f"/api/outbox/{row.id}/resend",
                           headers={"Authorization": f"Bearer {admin}"})
    assert conflict.status_code == 409
    doc = client.get("/api/openapi.json").get_json()
    assert doc["components"]["schemas"]["OutboxMessage"]["properties"]["status"]["enum"] == [
        "queued", "sending", "sent", "failed", "gone", "skipped"]


def _decided_for_the_cli(h: Harness, fake_stripe: FakeStripe,
                        monkeypatch: pytest.MonkeyPatch) -> str:
    """A mug returned (25.00 USD approved) on a SQLite shop the CLI reads; its decision id."""
    if h.runtime.engine.dialect.name != "sqlite":
        pytest.skip("the CLI reads REFUNDS_DATABASE_URL; one database is enough")
    fake_stripe.add_payment_intent(5500, "usd", "pi_123")
    h.post_storefront(order_paid())
    decision_id = h.post_storefront(return_requested()).json["decision_id"]  # type: ignore[index]
    monkeypatch.setenv("REFUNDS_DATABASE_URL", h.db_url)
    monkeypatch.setenv("REFUNDS_APP_URL", "https://returns.mugs.example")
    return str(decision_id)


def test_refunds_mail_preview_prints_what_would_be_sent(
    mail_shop: Harness, fake_stripe: FakeStripe, monkeypatch: pytest.MonkeyPatch,
    smtp: SmtpSink,
) -> None:
    h = mail_shop
    decision_id = _decided_for_the_cli(h, fake_stripe, monkeypatch)
    runner = CliRunner()

    out = runner.invoke(main, ["mail", "preview", "approved", "--decision", decision_id])
    assert out.exit_code == 0, out.output
    assert out.output.startswith("To: ann@example.com\n"
                                 "Subject: Your return for order 1001 is approved\n\n")
    assert "We will refund 25.00 USD to your original payment." in out.output
    assert "https://returns.mugs.example/returns/status/" in out.output
    assert (f"How did we do? Answer one short question: https://returns.mugs.example/returns/"
            f"feedback/{decision_id}/") in out.output
    for kind in ("approved", "refund_sent"):  # declined: for a declined one
        html = runner.invoke(main, ["mail", "preview", kind, "--decision", decision_id, "--html"])
        assert html.exit_code == 0, html.output
        assert f'href="https://returns.mugs.example/returns/feedback/{decision_id}/' in html.output
        assert ">Tell us how we did</a>" in html.output
    as_json = json.loads(runner.invoke(
        main, ["mail", "preview", "refund_sent", "--decision", decision_id, "--json"]).output)
    assert as_json["example"] is False and "25.00 USD" in as_json["text"]
    credit = runner.invoke(main, ["mail", "preview", "credit_issued", "--decision", decision_id])
    assert credit.exit_code == 2  # a refund: its customer is never sent the store credit's email
    missing = runner.invoke(main, ["mail", "preview", "approved", "--decision", "nope"])
    assert missing.exit_code == 2 and ("Error: Invalid value for '--decision': give a "
                                       "decision's id or its first 8 or more characters") \
        in missing.output
    short = runner.invoke(main, ["mail", "preview", "approved", "--decision", decision_id[:8]])
    assert (short.exit_code, short.output) == (0, out.output)  # as `ledger list` shows it
    wrong = runner.invoke(main, ["mail", "preview", "refund.succeeded", "--decision", "x"])
    assert wrong.exit_code == 2
    assert smtp.received == []  # a preview sends nothing


def test_the_item_received_preview_shows_the_email_its_cause_recorded(
    mail_shop: Harness, fake_stripe: FakeStripe, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``item_received`` is recorded under ``return:<id>`` by the receipt, not by the decision:
    the preview finds it there and says what was sent, with its date, not an example."""
    h = mail_shop
    decision_id = _decided_for_the_cli(h, fake_stripe, monkeypatch)
    runner = CliRunner()
    before = runner.invoke(main, ["mail", "preview", "item_received", "--decision", decision_id])
    assert "(dates, codes or the statement are examples: that cause is not recorded)" in \
        before.output.splitlines()

    with write_tx(h.runtime.engine) as conn:  # the receipt's cause, as shipping/ records it
        causes.return_received(conn, decision_id=decision_id, now=h.clock(),
                               received_at=datetime(2026, 11, 3, 9, 30, tzinfo=UTC))
    [sent] = [r for r in h.rows(outbox) if r.kind == "item_received"]
    assert sent.cause == f"return:{decision_id}"
    out = runner.invoke(main, ["mail", "preview", "item_received", "--decision", decision_id])
    as_json = json.loads(runner.invoke(main, ["mail", "preview", "item_received", "--decision",
                                              decision_id, "--json"]).output)
    assert out.exit_code == 0, out.output
    assert "that cause is not recorded" not in out.output
    assert as_json["example"] is False
    assert as_json["text"] == h.runtime.renderer.render(  # type: ignore[union-attr]
        "item_received", json.loads(sent.context), sent.locale).text
    assert as_json["text"].startswith(
        "Your returned item arrived on 3 November 2026:\n\n- 1 × Mug: 25.00 USD\n\n")


DRY_POLICY = """currency: USD
window: {days: 365, start: payment}
reasons: {changed_mind: accept}
"""


def test_the_refund_sent_preview_of_a_dry_run_says_no_money_was_sent(
    any_db_url: str, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not any_db_url.startswith("sqlite"):
        pytest.skip("the CLI reads REFUNDS_DATABASE_URL; one database is enough")
    policy = tmp_path / "policy.yaml"
    policy.write_text(DRY_POLICY, encoding="utf-8")
    h = Harness(any_db_url, clock, settings={"policy": str(policy)})  # no Stripe key: dry run
    try:
        h.post_storefront(order_paid())
        decision_id = h.post_storefront(return_requested()).json["decision_id"]  # type: ignore[index]
        h.drain()
        monkeypatch.setenv("REFUNDS_DATABASE_URL", h.db_url)
        monkeypatch.setenv("REFUNDS_POLICY", str(policy))
        runner = CliRunner()
        out = runner.invoke(main, ["mail", "preview", "refund_sent", "--decision", decision_id])
        as_json = json.loads(runner.invoke(main, ["mail", "preview", "refund_sent", "--decision",
                                                  decision_id, "--json"]).output)
    finally:
        h.close()
    assert out.exit_code == 0, out.output
    assert out.output.splitlines()[2] == (
        "(dry run: no money was sent, so this email is never sent to the customer)")
    assert as_json["dry_run"] is True


def test_the_preview_refuses_an_outcome_email_the_decision_does_not_stand_at(
    mail_shop: Harness, fake_stripe: FakeStripe, monkeypatch: pytest.MonkeyPatch, clock: Clock,
) -> None:
    """A return under review previews as 'being reviewed', never as 'approved'; once a person
    declines it, as declined. The finance decision page links to the email that fits."""
    h = mail_shop
    if h.runtime.engine.dialect.name != "sqlite":
        pytest.skip("the CLI reads REFUNDS_DATABASE_URL; one database is enough")
    fake_stripe.add_payment_intent(5500, "usd", "pi_123")
    h.post_storefront(order_paid(paid_at="2025-01-01T10:00:00Z"))  # far outside the window
    answer = h.post_storefront(return_requested()).json
    assert answer is not None and answer["outcome"] == "review"
    decision_id = answer["decision_id"]
    monkeypatch.setenv("REFUNDS_DATABASE_URL", h.db_url)
    runner = CliRunner()

    def preview(kind: str) -> tuple[int, str]:
        out = runner.invoke(main, ["mail", "preview", kind, "--decision", decision_id])
        return out.exit_code, out.output

    def refused(state: str, fits: str) -> tuple[int, str]:
        return 2, (f"Error: decision {decision_id} is {state}: the 'approved' email would be "
                   f"false; the one that fits is '{fits}' (refunds mail preview {fits} "
                   f"--decision {decision_id})\n")

    assert preview("approved") == refused("under review (no person has decided yet)",
                                          "in_review")
    assert preview("declined")[0] == 2
    code, shown = preview("in_review")
    assert code == 0 and "Subject: Your return for order 1001 is being reviewed\n" in shown
    client = _login(h, _tokens(h, clock)[1])
    page = client.get(f"/finance/decisions/{decision_id}").get_data(as_text=True)
    assert f"preview?decision={decision_id}&amp;kind=in_review" in page

    reviews.decide(h.runtime.engine, h.runtime.service, decision_id, approve=False, by="Ada",
                   note="bought 23 months ago", now=clock.now)
    assert preview("approved") == refused("declined by a person on review", "declined")
    assert preview("in_review")[0] == 2
    code, shown = preview("declined")
    assert code == 0 and "Subject: About your return for order 1001\n" in shown
    page = client.get(f"/finance/decisions/{decision_id}").get_data(as_text=True)
    assert f"preview?decision={decision_id}&amp;kind=declined" in page
    assert preview("refund_failed")[0] == 0  # not an outcome email: shown as before


def test_the_preview_of_a_decision_whose_stored_rows_cannot_be_read_shows_what_it_can(
    failed_shop: Harness, clock: Clock, caplog: pytest.LogCaptureFixture,
) -> None:
    h = failed_shop
    _admin, reader = _tokens(h, clock)
    decision_id = _failed(h).cause.split(":", 1)[1]
    client = _login(h, reader)
    preview = f"/finance/outbox/preview?kind=approved&decision={decision_id}"
    with h.runtime.engine.begin() as conn:  # the explanation's ids cut short
        conn.execute(update(decisions).where(decisions.c.id == decision_id)
                     .values(said='{"j": [{"m": "Your return'))

    shown = client.get(preview)

    assert shown.status_code == 200  # the stored English explanation, as the mail would say it
    assert '<dd class="subject">Your return for order 1001 is approved</dd>' in shown.get_data(
        as_text=True)
    assert [r.getMessage() for r in caplog.records if r.name == "refunds.notify"] == [
        f"decision {decision_id}'s stored explanation ids (decisions.said) cannot be read (not "
        "valid JSON: Unterminated string starting at: line 1 column 14 (char 13)): its mails "
        "carry the stored English explanation until a person repairs the row"]

    with h.runtime.engine.begin() as conn:  # and its body
        conn.execute(update(decisions).where(decisions.c.id == decision_id)
                     .values(body='{"outcome": "approve", "resolu'))
    refused = client.get(preview)

    assert refused.status_code == 404
    assert (f"decision {decision_id}&#39;s stored body (decisions.body) cannot be read (not "
            "valid JSON: Unterminated string starting at: line 1 column 24 (char 23)): there is "
            "no email to show until a person repairs the row") in refused.get_data(as_text=True)
    assert "resolu" not in caplog.text
