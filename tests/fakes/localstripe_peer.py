"""localstripe (PyPI, "a fake but stateful Stripe server") as an independent peer, run as a
program: ``python -m tests.fakes.localstripe_peer`` prints ``port <n>`` once it listens.

Where localstripe differs from Stripe in a way our service would trip on, it is brought back to
Stripe's documented behaviour here, and only here, each change named with its reason:

- it listens on ``::`` (every interface) and pickles its whole store to the one file
  ``/tmp/localstripe.pickle`` after each write (and reads it at start): here it listens on
  127.0.0.1 only and keeps its state in memory, so runs never share or leak state;
- ``POST /v1/refunds`` refuses ``reason`` ("Unexpected reason", 400), which Stripe accepts as
  ``duplicate``, ``fraudulent`` or ``requested_by_customer``: taken and kept on the refund;
- a PaymentIntent has no ``amount_received`` and a charge no ``amount_captured``, both fields of
  Stripe's objects (and of the events that carry them): added, from what the capture took
  (localstripe keeps a partial capture only as a refund of the uncaptured rest).

Left as localstripe has it, because the tests want to see what WE do: it ignores
``Idempotency-Key`` (Stripe replays the first answer for 24 hours, then prunes the key) and
refunds beyond what a charge has left (Stripe refuses), so a second POST from us would be a
second refund there. Every request's method, path, key and answer is kept, and read at
``GET /_config/peer/requests``. ``POST /_config/peer/late_refunds`` (``count``, ``seconds``)
makes the next refunds answer late: made, but the answer lost to a client that gave up.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from aiohttp import web
from localstripe import resources, server
from localstripe.errors import UserError

REASONS = ("duplicate", "fraudulent", "requested_by_customer")
JOURNAL: list[dict[str, Any]] = []
LATE = {"count": 0, "seconds": 0.0}


def _in_memory() -> None:
    resources.Store.dump_to_disk = lambda self: None
    resources.Store.try_load_from_disk = lambda self: None


def _refund_reason() -> None:
    made = resources.Refund.__init__

    def init(self: Any, *args: Any, reason: str | None = None, **kwargs: Any) -> None:
        if reason is not None and reason not in REASONS:
            raise UserError(400, f"Invalid reason: {reason}", {"param": "reason"})
        made(self, *args, **kwargs)
        self.reason = reason

    resources.Refund.__init__ = init


def _amounts() -> None:
    capture = resources.Charge._capture

    def partial(charge: Any, amount: Any, on_success: Any = None) -> None:
        charge._amount_captured = charge.amount if amount is None else int(amount)
        capture(charge, amount, on_success)

    def captured(charge: Any) -> int:
        if not (charge.captured and charge.status == "succeeded"):
            return 0
        return int(getattr(charge, "_amount_captured", charge.amount))

    def received(intent: Any) -> int:
        return 0 if intent.latest_charge is None else captured(intent.latest_charge)

    resources.Charge._capture = partial
    resources.Charge.amount_captured = property(captured)
    resources.PaymentIntent.amount_received = property(received)


@web.middleware
async def journal(request: web.Request, handler: Any) -> web.StreamResponse:
    if request.path.startswith("/_config/"):
        return await handler(request)
    entry: dict[str, Any] = {"method": request.method, "path": request.path,
                             "idempotency_key": request.headers.get("Idempotency-Key")}
    JOURNAL.append(entry)
    try:
        response = await handler(request)
    except UserError as exc:
        entry["status"] = exc.code
        raise
    entry["status"] = response.status
    if (request.method, request.path) == ("POST", "/v1/refunds") and LATE["count"] > 0:
        LATE["count"] -= 1
        await asyncio.sleep(LATE["seconds"])  # the refund is made; its answer comes too late
    return response


async def requests_seen(request: web.Request) -> web.Response:
    return web.json_response(JOURNAL)


async def late_refunds(request: web.Request) -> web.Response:
    asked = await request.json()
    LATE.update(count=int(asked["count"]), seconds=float(asked["seconds"]))
    return web.json_response(LATE)


def main() -> None:
    _in_memory()
    _refund_reason()
    _amounts()
    server.app.middlewares.append(journal)
    server.app.router.add_get("/_config/peer/requests", requests_seen)
    server.app.router.add_post("/_config/peer/late_refunds", late_refunds)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    print(f"port {sock.getsockname()[1]}", flush=True)
    web.run_app(server.app, sock=sock, print=None, access_log=None,
                handle_signals=True)


if __name__ == "__main__":
    main()
