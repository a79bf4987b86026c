"""A TCP proxy that delays every byte by a fixed time each way, as between hosts.

Used by ``bench/bench_scaleout.py`` to put PostgreSQL "on another host": each chunk read from
one side is written to the other ``--delay-ms`` after it arrived, in order, without limiting
throughput (a timer on the event loop per chunk, no task per direction: simulating the network
takes as little of the machine's CPU as it can). Run on its own so the load generator's threads
do not slow it down:

    python bench/delay_proxy.py --target 127.0.0.1:5432 --delay-ms 1   # prints its port
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import deque

_EOF = object()  # markers in a side's queue: this side sends no more; this side is gone
_CLOSE = object()


class _Side(asyncio.Protocol):
    """One side of a proxied connection: what it receives is written to the other side
    ``delay`` seconds later (a timer on the loop per chunk, in order: the delay is the same for
    every chunk), and its end closes the other side as late."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.transport: asyncio.Transport | None = None
        self.peer: _Side | None = None
        self.queue: deque[bytes | object] = deque()  # received, not yet due
        self.early: list[bytes | object] = []  # due before the other side was connected
        self.loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._later(data)

    def _later(self, data: bytes | object) -> None:
        self.queue.append(data)
        self.loop.call_at(self.loop.time() + self.delay, self._due)

    def eof_received(self) -> bool:
        self._later(_EOF)  # this side sends no more: the other side is told as late
        return True  # and may still answer

    def connection_lost(self, exc: Exception | None) -> None:
        self._later(_CLOSE)  # the end, as late as the data

    def _due(self) -> None:
        # the oldest chunk, whichever timer fires first: timers due at the same time need not
        # fire in the order they were set
        self._forward(self.queue.popleft())

    def _forward(self, data: bytes | object) -> None:
        peer = self.peer
        if peer is None or peer.transport is None:
            self.early.append(data)
        elif data is _CLOSE:
            peer.transport.close()
        elif peer.transport.is_closing():
            return
        elif data is _EOF:
            if peer.transport.can_write_eof():
                peer.transport.write_eof()
        elif isinstance(data, bytes):
            peer.transport.write(data)

    def joined(self, peer: _Side) -> None:
        self.peer = peer
        for data in self.early:
            self._forward(data)
        self.early.clear()


async def serve(host: str, port: int, target: tuple[str, int], delay: float) -> None:
    loop = asyncio.get_running_loop()

    def accepted() -> _Side:
        client = _Side(delay)

        async def connect() -> None:
            try:
                _, server = await loop.create_connection(lambda: _Side(delay), *target)
            except OSError:
                if client.transport is not None:
                    client.transport.close()
                return
            server.joined(client)
            client.joined(server)

        loop.create_task(connect())
        return client

    listening = await loop.create_server(accepted, host, port)
    print(listening.sockets[0].getsockname()[1], flush=True)
    async with listening:
        await listening.serve_forever()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (port 0: any free)")
    parser.add_argument("--target", default="127.0.0.1:5432", help="HOST:PORT of the server")
    parser.add_argument("--delay-ms", type=float, default=1.0, help="added each way")
    args = parser.parse_args()
    host, port = args.listen.rsplit(":", 1)
    thost, tport = args.target.rsplit(":", 1)
    try:
        asyncio.run(serve(host, int(port), (thost, int(tport)), args.delay_ms / 1000))
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
