"""A WSGI app served on 127.0.0.1 by a threaded werkzeug server, for the fakes a client must
reach over real HTTP (the Stripe and EasyPost SDKs) and for the pages a browser test opens."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server


class Loopback:
    """One server in a daemon thread; ``port`` 0 takes a free port."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0,
                 name: str = "loopback") -> None:
        self.host = host
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name=name)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self._server.server_port}"

    def start(self) -> Loopback:
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread (a fake run as a program)."""
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@contextmanager
def serving(app: Any, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``app`` for the ``with`` block; yields its base URL."""
    server = Loopback(app, host).start()
    try:
        yield server.url
    finally:
        server.stop()
