"""``bench/delay_proxy.py``, which puts PostgreSQL "on another host" for
``bench/bench_scaleout.py``: every byte arrives, in order, at least the delay later each way,
and one side's end reaches the other as late, after its last bytes."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DELAY_MS = 20


@pytest.fixture
def echo() -> Iterator[int]:
    """A TCP echo server on loopback: its port."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                while data := conn.recv(65536):
                    conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()


@pytest.fixture
def proxy(echo: int) -> Iterator[int]:
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "delay_proxy.py"), "--target", f"127.0.0.1:{echo}",
         "--delay-ms", str(DELAY_MS)], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    with proc.stdout:
        yield int(proc.stdout.readline())
        proc.terminate()
        proc.wait(10)


def _receive(sock: socket.socket, size: int) -> bytes:
    got = b""
    while len(got) < size:
        chunk = sock.recv(65536)
        assert chunk, f"closed after {len(got)} of {size} bytes"
        got += chunk
    return got


def test_every_byte_comes_back_in_order_a_round_trip_of_delays_later(proxy: int) -> None:
    with socket.create_connection(("127.0.0.1", proxy), timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(b"ping")
        assert _receive(sock, 4) == b"ping"
        assert time.monotonic() - started >= 2 * DELAY_MS / 1000  # there and back again

        # many writes in a row, large and small: all of them, in the order sent
        sent = b"".join(bytes([n % 251]) * (1 + n * 997 % 70_000) for n in range(60))
        for n in range(60):
            sock.sendall(bytes([n % 251]) * (1 + n * 997 % 70_000))
        assert _receive(sock, len(sent)) == sent

        # our end after a last word: the word comes back, then the echo server's end, each a
        # round trip of delays later (not cut short when our end reaches the proxy)
        started = time.monotonic()
        sock.sendall(b"bye")
        sock.shutdown(socket.SHUT_WR)
        assert _receive(sock, 3) == b"bye"
        assert sock.recv(1) == b""
        assert time.monotonic() - started >= 2 * DELAY_MS / 1000
