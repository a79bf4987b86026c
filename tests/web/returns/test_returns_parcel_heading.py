"""The status page's parcel section is headed for where the parcel is: "How to send it back"
while the shop waits for it, "Your parcel" once it is back (never "How to send it back" above
"Received and checked by our team."), in each language."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from refunds_plugin.config import ReturnAddress
from refunds_plugin.ledger.tables import decisions
from tests.fakes.returns_client import open_form, submit, words
from tests.fakes.returns_shop import ReturnsShop, order_event

DOCK = ReturnAddress("Our shop returns", "1 Dock Rd", "Austin", "78701", "US")


@pytest.mark.parametrize(("accept", "waiting", "received"), [
    ("en", "How to send it back Waiting for your parcel.",
     "Your parcel Received and checked by our team."),
    ("de", "So senden Sie es zurück Wir warten auf Ihr Paket.",
     "Ihr Paket Von unserem Team erhalten und geprüft."),
    ("fr", "Comment le renvoyer Nous attendons votre colis.",
     "Votre colis Reçu et vérifié par notre équipe."),
    ("es", "Cómo devolverlo Esperamos tu paquete.",
     "Tu paquete Recibido y revisado por nuestro equipo."),
])
def test_once_the_parcel_is_back_its_heading_no_longer_says_how_to_send_it(
    sqlite_url: str, now: datetime, accept: str, waiting: str, received: str,
) -> None:
    shop = ReturnsShop(sqlite_url, lambda: now, {"return_addresses": (DOCK,)})
    shop.seed(order_event("1001"))
    client = shop.app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = accept
    answer = submit(client, open_form(client), **{"line-0-qty": "2",
                                                  "line-0-reason": "changed_mind"})
    link = re.search(r'id="status-link" href="([^"]+)"', answer.get_data(as_text=True))
    [decision] = shop.rows(decisions)
    assert link
    before = client.get(link.group(1))

    shop.runtime.service.receive(decision[0], {"l1": ("as_new", None, False)}, "desk")
    after = client.get(link.group(1))

    [waiting_section] = words(before, "return-instructions")
    [received_section] = words(after, "return-instructions")
    assert waiting_section.startswith(waiting)
    assert received_section == received
    shop.close()
