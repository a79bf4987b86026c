"""A TCP proxy that delays every byte by a fixed time each way, as between hosts.

Used by ``bench/bench_scaleout.py`` to put PostgreSQL "on another host": each chunk read from
one side is written to the other ``--delay-ms`` after it arrived, in order, without limiting
throughput (a queue per direction). Run on its own so the load generator's threads do not slow
it down:

    python bench/delay_proxy.py --target 127.0.0.1:5432 --delay-ms 1   # prints its port
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def send() -> None:
        while True:
            due, chunk = await queue.get()
            if not chunk:
                break
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(chunk)
            await writer.drain()
        writer.close()

    sender = asyncio.create_task(send())
    try:
        while True:
            chunk = await reader.read(65536)
            queue.put_nowait((time.monotonic() + delay, chunk))
            if not chunk:
                break
    except ConnectionError:
        queue.put_nowait((0.0, b""))
    await sender


async def serve(host: str, port: int, target: tuple[str, int], delay: float) -> None:
    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(*target)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(pipe(client_r, server_w, delay), pipe(server_r, client_w, delay),
                             return_exceptions=True)

    server = await asyncio.start_server(handle, host, port)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


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
