"""Delivery through failure: an SMTP server that is down, busy or refusing; a worker killed
around the send; two workers at once. The customer's answer never waits, a message is never
lost, and finance sees what gave up.

What SMTP allows, said plainly: a worker killed after the server accepted a message (its
``250`` to DATA) and before the outbox recorded it leaves a claim that another worker takes
over when the lease runs out, and that worker sends the message again. SMTP has no way to ask
a server "did you already take this one?", so the repeat cannot be ruled out; it carries the
same Message-ID, by which inboxes and MTAs that deduplicate show it once. It happens only for a
crash inside that window (one write transaction long), at most once per crash.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import event, update

from refunds_plugin.ledger.db import write_tx
from refunds_plugin.ledger.tables import outbox
from refunds_plugin.notify import courier as courier_module
from refunds_plugin.notify.courier import Courier
from refunds_plugin.notify.mail import DeliveryError, Mailer, SmtpMailer, parse_mail_url
from refunds_plugin.notify.outbox import enqueue
from tests.fakes import Clock, Harness, order_paid, return_requested
from tests.fakes.smtp_sink import SmtpSink, free_port
from tests.fakes.stripe_api import FakeStripe

ANN = "ann@example.com"
FROM_ADDRESS = "returns@mugs.example"
SUBJECTS = ["We received your return request for order 1001",
            "Your return for order 1001 is approved",
            "Your refund of 25.00 USD for order 1001 is on its way"]


def _returned(h: Harness, fake: FakeStripe) -> None:
    fake.add_payment_intent(5500, "usd", "pi_123")
    h.post_storefront(order_paid())
    assert h.post_storefront(return_requested()).status_code == 201


def _mail_rows(h: Harness) -> list[Any]:
    return sorted((r for r in h.rows(outbox) if r.channel == "mail"), key=lambda r: r.seq)


def test_smtp_down_is_retried_with_backoff_and_finance_sees_it_give_up_then_resends(
    mail_shop_with: Callable[..., Harness], fake_stripe: FakeStripe, smtp: SmtpSink,
    clock: Clock,
) -> None:
    h = mail_shop_with(outbox_max_tries=3)
    smtp.stop()
    _returned(h, fake_stripe)  # answered 201 with the mail server down
    h.drain()

    [attempt_row] = [r for r in h.rows(outbox) if r.kind == "refund.succeeded"]
    assert attempt_row.status == "skipped"  # the refund itself went through
    rows = _mail_rows(h)
    assert [(r.kind, r.status, r.tries) for r in rows] == [
        ("request_received", "queued", 1), ("approved", "queued", 1),
        ("refund_sent", "queued", 1)]
    assert all(r.last_error.startswith("SMTP server unreachable: ConnectionRefusedError")
               for r in rows)
    assert all(r.next_try_at.replace(tzinfo=clock.now.tzinfo) > clock.now for r in rows)

    for _ in range(2):
        clock.advance(700)
        h.drain()
    rows = _mail_rows(h)
    assert [(r.status, r.tries) for r in rows] == [("failed", 3)] * 3
    assert rows[0].last_error.startswith(
        "gave up after 3 tries: SMTP server unreachable: ConnectionRefusedError")
    clock.advance(10_000)
    h.drain()
    assert [(r.status, r.tries) for r in _mail_rows(h)] == [("failed", 3)] * 3  # given up

    smtp.start()
    from refunds_plugin.notify.outbox import resend_message

    for r in rows:
        assert resend_message(h.runtime.engine, r.id, "Ada", clock.now)
    assert not resend_message(h.runtime.engine, rows[0].id, "Ada", clock.now)  # queued now
    h.drain()
    assert [m.subject for m in smtp.received] == SUBJECTS
    assert [(r.status, r.tries, r.note) for r in _mail_rows(h)] == [
        ("sent", 1, "resend asked by Ada")] * 3


def test_a_mail_server_down_for_an_hour_loses_no_email_and_each_arrives_once(
    mail_shop: Harness, fake_stripe: FakeStripe, smtp: SmtpSink, clock: Clock
) -> None:
    """With the default settings: the executor's 8 tries gave up within 2 to 4 minutes of an
    outage (waits of 2, 4, … 128 s, jittered), leaving every email of it failed until a
    person resent each one by hand."""
    smtp.stop()
    _returned(mail_shop, fake_stripe)
    for _ in range(60):  # an hour, a minute at a time
        clock.advance(60)
        mail_shop.drain()
    rows = _mail_rows(mail_shop)
    assert {r.status for r in rows} == {"queued"}
    assert all(r.tries > 8 for r in rows)

    smtp.start()
    clock.advance(600)  # the longest wait between two tries (REFUNDS_EXECUTOR_BACKOFF_CAP)
    mail_shop.drain()
    assert sorted(m.subject for m in smtp.received) == sorted(SUBJECTS)
    assert [r.status for r in _mail_rows(mail_shop)] == ["sent"] * 3


def test_a_busy_server_is_tried_again_and_each_email_still_arrives_once(
    mail_shop: Harness, fake_stripe: FakeStripe, smtp: SmtpSink, clock: Clock
) -> None:
    smtp.refuse_next(1, "451 4.3.0 Mailbox busy, try again later")
    _returned(mail_shop, fake_stripe)
    mail_shop.drain()
    first = _mail_rows(mail_shop)[0]
    assert (first.status, first.tries, first.last_error) == (
        "queued", 1, "SMTP 451: 4.3.0 Mailbox busy, try again later")

    clock.advance(700)
    mail_shop.drain()
    assert sorted(m.subject for m in smtp.received) == sorted(SUBJECTS)
    assert [r.status for r in _mail_rows(mail_shop)] == ["sent"] * 3


def test_a_final_refusal_is_not_retried_and_is_failed_at_once(
    mail_shop: Harness, fake_stripe: FakeStripe, smtp: SmtpSink, clock: Clock
) -> None:
    smtp.refuse_next(1, "550 5.1.1 No such mailbox")
    _returned(mail_shop, fake_stripe)
    mail_shop.drain()
    clock.advance(10_000)
    mail_shop.drain()

    first = _mail_rows(mail_shop)[0]
    assert (first.kind, first.status, first.tries, first.last_error) == (
        "request_received", "failed", 1, "SMTP 550: 5.1.1 No such mailbox")
    assert [m.subject for m in smtp.received] == SUBJECTS[1:]


def test_a_message_whose_stored_context_is_corrupted_fails_alone_and_the_others_arrive_once(
    mail_shop: Harness, fake_stripe: FakeStripe, smtp: SmtpSink, clock: Clock
) -> None:
    _returned(mail_shop, fake_stripe)
    [approved] = [r for r in _mail_rows(mail_shop) if r.kind == "approved"]
    with mail_shop.runtime.engine.begin() as conn:  # edited by hand, and truncated
        conn.execute(update(outbox).where(outbox.c.id == approved.id)
                     .values(context='{"order_id": "1001", "amo'))
    mail_shop.drain()

    assert sorted(m.subject for m in smtp.received) == sorted([SUBJECTS[0], SUBJECTS[2]])
    rows = _mail_rows(mail_shop)
    assert [(r.kind, r.status, r.tries) for r in rows] == [
        ("request_received", "sent", 1), ("approved", "failed", 1), ("refund_sent", "sent", 1)]
    assert rows[1].last_error == (
        "not sent: its stored context is not valid JSON (Unterminated string starting at: "
        "line 1 column 22 (char 21)); a person must repair it, then resend")
    assert (rows[1].claimed_by, rows[1].lease_until) == (None, None)

    clock.advance(10_000)  # past any lease or backoff: nothing more goes
    mail_shop.drain()
    assert len(smtp.received) == 2
    assert [r.status for r in _mail_rows(mail_shop)] == ["sent", "failed", "sent"]


@pytest.mark.parametrize("answer", ["421 4.4.2 Closing connection", "554 5.0.0 Bye anyway"])
def test_a_server_that_took_the_message_and_then_fails_quit_has_it_sent_once(
    mail_shop: Harness, smtp: SmtpSink, clock: Clock, answer: str
) -> None:
    """After the server's 250 to DATA the message is its own: how it answers QUIT (smtplib's
    ``with`` raises on anything but 221) must neither send it again nor record it failed."""
    smtp.handler.quit_answer = answer
    _one_message(mail_shop, clock)
    mail_shop.drain()
    clock.advance(10_000)
    mail_shop.drain()

    assert [m.subject for m in smtp.received] == [
        "Your refund of 19.99 EUR for order 1001 is on its way"]
    [row] = mail_shop.rows(outbox)
    assert (row.status, row.tries, row.last_error) == ("sent", 1, None)


class Killed(BaseException):
    """The worker's process dies here: nothing after this line runs."""


class DiesAfterSending:
    def __init__(self, inner: Mailer) -> None:
        self.inner = inner

    def send(self, message: EmailMessage) -> None:
        self.inner.send(message)
        raise Killed


class DiesBeforeSending:
    def send(self, message: EmailMessage) -> None:
        raise Killed


def _one_message(h: Harness, clock: Clock) -> None:
    context = {"attempt_id": "a-1", "decision_id": "d-1", "order_id": "1001",
               "order_number": "1001", "kind": "refund", "currency": "EUR", "amount": 1999,
               "bonus": 0}
    with write_tx(h.runtime.engine) as conn:
        assert enqueue(conn, cause="attempt:a-1", kind="refund_sent", recipient=ANN,
                       now=clock.now, context=context)


def _courier(h: Harness, clock: Clock, mailer: Mailer, name: str) -> Courier:
    assert h.runtime.renderer is not None
    return Courier(h.runtime.engine, h.runtime.config, clock, h.runtime.renderer, mailer, None,
                   worker_id=name)


def test_a_worker_killed_after_the_server_accepted_sends_it_again_under_the_same_message_id(
    mail_shop: Harness, smtp: SmtpSink, clock: Clock
) -> None:
    _one_message(mail_shop, clock)
    smtp_mailer = SmtpMailer(parse_mail_url(smtp.url))
    dying = _courier(mail_shop, clock, DiesAfterSending(smtp_mailer), "worker-a")
    with pytest.raises(Killed):
        dying.run_once()
    [row] = mail_shop.rows(outbox)
    assert (row.status, row.claimed_by, row.tries) == ("sending", "worker-a", 1)
    assert len(smtp.received) == 1

    other = _courier(mail_shop, clock, smtp_mailer, "worker-b")
    assert other.run_once() == 0  # the dead worker's lease still holds: nothing sent
    clock.advance(mail_shop.runtime.config.executor_lease_s + 1)
    assert other.run_once() == 1

    # the honest part: SMTP cannot tell us the first copy arrived, so it went again, under the
    # same Message-ID (an inbox that deduplicates shows one)
    assert len(smtp.received) == 2
    first, second = smtp.received
    assert first.message["Message-ID"] == second.message["Message-ID"] == \
        f"<{row.id}@mugs.example>"
    assert first.part("plain") == second.part("plain")
    [row] = mail_shop.rows(outbox)
    assert (row.status, row.tries, row.claimed_by) == ("sent", 2, None)
    assert other.run_once() == 0 and len(smtp.received) == 2


def test_a_worker_killed_before_sending_leaves_it_to_another_who_sends_it_once(
    mail_shop: Harness, smtp: SmtpSink, clock: Clock
) -> None:
    _one_message(mail_shop, clock)
    with pytest.raises(Killed):
        _courier(mail_shop, clock, DiesBeforeSending(), "worker-a").run_once()
    assert smtp.received == []

    clock.advance(mail_shop.runtime.config.executor_lease_s + 1)
    other = _courier(mail_shop, clock, SmtpMailer(parse_mail_url(smtp.url)), "worker-b")
    assert other.run_once() == 1
    assert other.run_once() == 0
    assert [m.subject for m in smtp.received] == [
        "Your refund of 19.99 EUR for order 1001 is on its way"]


def test_a_mail_server_that_cannot_be_reached_costs_one_wait_a_batch_not_one_per_email(
    mail_shop: Harness, clock: Clock
) -> None:
    """The courier runs in the executor's loop: a mail server that times out (15 s each) must
    not be waited for once per claimed email, holding refunds back ten times as long. The
    rest of the batch is queued again as the first was, each try counted, none lost."""
    for n in range(3):
        with write_tx(mail_shop.runtime.engine) as conn:
            enqueue(conn, cause=f"attempt:a-{n}", kind="refund_sent", recipient=ANN,
                    now=clock.now, context={
                        "attempt_id": f"a-{n}", "decision_id": "d-1", "order_id": "1001",
                        "order_number": "1001", "kind": "refund", "currency": "EUR",
                        "amount": 1999, "bonus": 0})
    waited: list[str] = []

    class TimesOut:
        def send(self, message: EmailMessage) -> None:
            waited.append(str(message["Message-ID"]))
            raise DeliveryError("SMTP server unreachable: TimeoutError: timed out",
                                retryable=True, unreachable=True)

    assert _courier(mail_shop, clock, TimesOut(), "worker-a").run_once() == 3
    assert len(waited) == 1
    rows = _mail_rows(mail_shop)
    assert [(r.status, r.tries, r.last_error, r.claimed_by) for r in rows] == [
        ("queued", 1, "SMTP server unreachable: TimeoutError: timed out", None)] * 3
    assert all(r.next_try_at.replace(tzinfo=clock.now.tzinfo) > clock.now for r in rows)


def test_only_a_server_that_cannot_be_reached_holds_back_the_rest_of_a_batch(
    smtp: SmtpSink,
) -> None:
    """A message of its own that the server cannot take (an address that needs SMTPUTF8,
    which this server does not offer) says nothing about the others of its batch."""
    plain = Controller(SmtpSink().handler, hostname="127.0.0.1", port=free_port(),
                       enable_SMTPUTF8=False)
    plain.start()
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = FROM_ADDRESS, "jürgen@example.com", "x"
    message.set_content("x")
    try:
        with pytest.raises(DeliveryError) as own:
            SmtpMailer(parse_mail_url(f"smtp://127.0.0.1:{plain.port}")).send(message)
    finally:
        plain.stop()
    assert (own.value.retryable, own.value.unreachable) == (False, False)

    mailer = SmtpMailer(parse_mail_url(smtp.url))
    smtp.stop()
    del message["To"]
    message["To"] = ANN
    with pytest.raises(DeliveryError) as down:
        mailer.send(message)
    assert (down.value.retryable, down.value.unreachable) == (True, True)
    assert down.value.message.startswith("SMTP server unreachable: ConnectionRefusedError")


JURGEN = "jürgen@example.com"


def _to_jurgen(h: Harness, clock: Clock) -> None:
    with write_tx(h.runtime.engine) as conn:
        assert enqueue(conn, cause="attempt:a-1", kind="refund_sent", recipient=JURGEN,
                       now=clock.now, context={
                           "attempt_id": "a-1", "decision_id": "d-1", "order_id": "1001",
                           "order_number": "1001", "kind": "refund", "currency": "EUR",
                           "amount": 1999, "bonus": 0})


def test_an_address_that_is_not_ascii_fails_at_once_where_the_server_lacks_smtputf8(
    mail_shop: Harness, clock: Clock,
) -> None:
    """jürgen@example.com needs SMTPUTF8: a server without it will never take it, so it is
    failed on its first try saying why, not retried for hours as "server unreachable"."""
    plain = Controller(SmtpSink().handler, hostname="127.0.0.1", port=free_port(),
                       enable_SMTPUTF8=False)
    plain.start()
    _to_jurgen(mail_shop, clock)
    try:
        mailer = SmtpMailer(parse_mail_url(f"smtp://127.0.0.1:{plain.port}"))
        assert _courier(mail_shop, clock, mailer, "worker-a").run_once() == 1
    finally:
        plain.stop()
    [row] = _mail_rows(mail_shop)
    assert (row.status, row.tries, row.last_error) == (
        "failed", 1, "the address jürgen@example.com is not ASCII, which needs SMTPUTF8, and "
        "the mail server does not offer it: not sent; write to the customer another way")


def test_an_address_that_is_not_ascii_is_sent_where_the_server_offers_smtputf8(
    mail_shop: Harness, smtp: SmtpSink, clock: Clock,
) -> None:
    _to_jurgen(mail_shop, clock)
    mailer = SmtpMailer(parse_mail_url(smtp.url))
    assert _courier(mail_shop, clock, mailer, "worker-a").run_once() == 1
    [row] = _mail_rows(mail_shop)
    assert (row.status, row.tries) == ("sent", 1)
    [got] = smtp.received
    assert (got.rcpt_tos, str(got.message["To"]), got.subject) == (
        [JURGEN], JURGEN, "Your refund of 19.99 EUR for order 1001 is on its way")


def test_a_worker_asked_to_stop_sends_no_more_of_its_batch_and_hands_the_rest_back(
    mail_shop: Harness, smtp: SmtpSink, clock: Clock
) -> None:
    """SIGTERM (a deploy): the worker said "finishing the current attempt and releasing
    claims" and then sent the rest of its batch, up to ten emails of up to a timeout each,
    past the service manager's patience and into its SIGKILL."""
    for n in range(3):
        with write_tx(mail_shop.runtime.engine) as conn:
            enqueue(conn, cause=f"attempt:a-{n}", kind="refund_sent", recipient=ANN,
                    now=clock.now, context={
                        "attempt_id": f"a-{n}", "decision_id": "d-1", "order_id": "1001",
                        "order_number": "1001", "kind": "refund", "currency": "EUR",
                        "amount": 1999 + n, "bonus": 0})
    smtp_mailer = SmtpMailer(parse_mail_url(smtp.url))

    class StopAsked:  # the signal arrives while the first email is being sent
        def send(self, message: EmailMessage) -> None:
            smtp_mailer.send(message)
            courier.request_stop()

    courier = _courier(mail_shop, clock, StopAsked(), "worker-a")
    assert courier.run_once() == 3
    assert courier.run_once() == 0  # claims nothing more once asked to stop
    assert [m.subject for m in smtp.received] == [
        "Your refund of 19.99 EUR for order 1001 is on its way"]
    assert courier.release() == 2
    assert [(r.status, r.tries, r.claimed_by) for r in _mail_rows(mail_shop)] == [
        ("sent", 1, None), ("queued", 0, None), ("queued", 0, None)]


def test_two_workers_never_send_one_message_at_the_same_time(
    mail_shop: Harness, smtp: SmtpSink, clock: Clock
) -> None:
    _one_message(mail_shop, clock)
    smtp_mailer = SmtpMailer(parse_mail_url(smtp.url))
    other = _courier(mail_shop, clock, smtp_mailer, "worker-b")
    seen: list[int] = []

    class AskTheOtherFirst:
        def send(self, message: EmailMessage) -> None:
            seen.append(other.run_once())  # the other worker runs while this one sends
            smtp_mailer.send(message)

    assert _courier(mail_shop, clock, AskTheOtherFirst(), "worker-a").run_once() == 1
    assert seen == [0]
    assert len(smtp.received) == 1


def test_messages_no_channel_takes_are_skipped_unclaimed_in_one_commit_a_round(
    mail_shop: Harness, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(courier_module, "SKIPPED_BATCHES", 2)
    context = {"attempt_id": "a-1", "decision_id": "d-1", "order_id": "1001",
               "order_number": "1001", "kind": "refund", "currency": "EUR", "amount": 1999}
    with write_tx(mail_shop.runtime.engine) as conn:  # no REFUNDS_OUTBOUND_URL: never sent
        for n in range(25):
            assert enqueue(conn, cause=f"attempt:a-{n}", kind="refund.succeeded",
                           recipient="merchant", now=clock.now, context=context)
    courier = _courier(mail_shop, clock, SmtpMailer(parse_mail_url("smtp://127.0.0.1:1")), "w")
    commits: list[int] = []
    event.listen(mail_shop.runtime.engine, "commit", lambda _conn: commits.append(1))

    statements: list[str] = []  # nothing claimed, nothing read back
    event.listen(mail_shop.runtime.engine, "before_cursor_execute",
                 lambda *args: statements.append(args[2].split()[0]))
    assert courier.run_once(limit=10) == 20  # two batches' worth, at most, in one transaction
    write = "WITH" if mail_shop.runtime.engine.dialect.name == "postgresql" else "UPDATE"
    assert [s for s in statements if s != "BEGIN"] == ["SELECT", write]  # a look, one write
    assert len(commits) == 1
    assert courier.run_once(limit=10) == 5
    assert len(commits) == 2
    assert courier.run_once(limit=10) == 0  # nothing due: found by a look, nothing committed
    assert len(commits) == 2
    rows = mail_shop.rows(outbox)
    assert {(r.status, r.tries, r.claimed_by, r.note) for r in rows} == {
        ("skipped", 1, None, "not sent: REFUNDS_OUTBOUND_URL is not set")}
    assert len(rows) == 25


def test_messages_no_channel_takes_do_not_hold_back_the_ones_to_send(
    mail_shop: Harness, smtp: SmtpSink, clock: Clock
) -> None:
    _one_message(mail_shop, clock)  # a mail: sent; the merchant's events: no receiver set
    context = {"attempt_id": "a-1", "decision_id": "d-1", "order_id": "1001",
               "order_number": "1001", "kind": "refund", "currency": "EUR", "amount": 1999}
    with write_tx(mail_shop.runtime.engine) as conn:
        for n in range(14):
            enqueue(conn, cause=f"attempt:a-{n}", kind="refund.succeeded", recipient="merchant",
                    now=clock.now, context=context)
    courier = _courier(mail_shop, clock, SmtpMailer(parse_mail_url(smtp.url)), "worker-a")
    assert courier.run_once(limit=10) == 15  # 14 skipped, 1 claimed and sent
    assert len(smtp.received) == 1
    statuses = [r.status for r in mail_shop.rows(outbox)]
    assert (statuses.count("skipped"), statuses.count("sent")) == (14, 1)
    assert courier.run_once(limit=10) == 0


def test_a_kind_switched_off_is_said_before_a_missing_mail_server(
    mail_shop: Harness, clock: Clock
) -> None:
    _one_message(mail_shop, clock)
    [row] = mail_shop.rows(outbox)
    shop = replace(mail_shop.runtime.config, mail_off=(row.kind,))
    assert mail_shop.runtime.renderer is not None
    courier = Courier(mail_shop.runtime.engine, shop, clock, mail_shop.runtime.renderer,
                      None, None, worker_id="w")
    assert courier.run_once() == 1
    [row] = mail_shop.rows(outbox)
    assert (row.status, row.tries, row.claimed_by, row.lease_until, row.note) == (
        "skipped", 1, None, None, f"not sent: {row.kind} is switched off ([mail] off)")
