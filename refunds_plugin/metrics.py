"""A small, thread-safe Prometheus registry: counters and histograms in the text format.

Values live in the process that observed them. Under gunicorn with several workers each worker
keeps its own histograms (a scrape sees the worker that answered); the counts that must be right
across processes (events, decisions, attempts) are read from the database at scrape time by
``webhooks.metrics``. ``refunds worker --metrics-port`` serves a worker's own registry.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Sequence
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.types import StartResponse, WSGIEnvironment

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

Labels = tuple[str, ...]


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def label_text(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    parts = [f'{n}="{escape(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class Counter:
    kind = "counter"

    def __init__(self, name: str, help_: str, labelnames: Sequence[str] = ()) -> None:
        self.name, self.help, self.labelnames = name, help_, tuple(labelnames)
        self._values: dict[Labels, float] = {}
        self._lock = threading.Lock()

    def inc(self, *labels: str, amount: float = 1.0) -> None:
        if amount < 0:
            raise ValueError("a counter only goes up")
        with self._lock:
            self._values[labels] = self._values.get(labels, 0.0) + amount

    def value(self, *labels: str) -> float:
        with self._lock:
            return self._values.get(labels, 0.0)

    def samples(self) -> Iterable[str]:
        with self._lock:
            items = sorted(self._values.items())
        for labels, value in items:
            yield f"{self.name}{label_text(self.labelnames, labels)} {number(value)}"


class Histogram:
    kind = "histogram"

    def __init__(
        self,
        name: str,
        help_: str,
        labelnames: Sequence[str] = (),
        buckets: Sequence[float] = LATENCY_BUCKETS,
    ) -> None:
        self.name, self.help, self.labelnames = name, help_, tuple(labelnames)
        self.buckets = tuple(sorted(buckets)) + (math.inf,)
        self._counts: dict[Labels, list[int]] = {}
        self._sums: dict[Labels, float] = {}
        self._lock = threading.Lock()

    def observe(self, value: float, *labels: str) -> None:
        with self._lock:
            counts = self._counts.setdefault(labels, [0] * len(self.buckets))
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    counts[i] += 1
                    break
            self._sums[labels] = self._sums.get(labels, 0.0) + value

    def count(self, *labels: str) -> int:
        with self._lock:
            return sum(self._counts.get(labels, ()))

    def samples(self) -> Iterable[str]:
        with self._lock:
            items = sorted((k, list(v), self._sums[k]) for k, v in self._counts.items())
        for labels, counts, total in items:
            running = 0
            for bound, n in zip(self.buckets, counts, strict=True):
                running += n
                le = f'le="{number(bound)}"'
                yield f"{self.name}_bucket{label_text(self.labelnames, labels, le)} {running}"
            yield f"{self.name}_sum{label_text(self.labelnames, labels)} {number(total)}"
            yield f"{self.name}_count{label_text(self.labelnames, labels)} {running}"


class Registry:
    def __init__(self) -> None:
        self._metrics: dict[str, Counter | Histogram] = {}
        self._lock = threading.Lock()

    def register(self, metric: Counter | Histogram) -> Counter | Histogram:
        with self._lock:
            return self._metrics.setdefault(metric.name, metric)

    def render(self) -> str:
        with self._lock:
            metrics = list(self._metrics.values())
        lines: list[str] = []
        for m in metrics:
            lines += [f"# HELP {m.name} {m.help}", f"# TYPE {m.name} {m.kind}", *m.samples()]
        return "\n".join(lines) + "\n" if lines else ""


REGISTRY = Registry()
WEBHOOK_SECONDS = Histogram(
    "refunds_webhook_seconds",
    "Time to answer an incoming webhook, by endpoint and HTTP status (this process).",
    ("endpoint", "status"),
)
PROVIDER_SECONDS = Histogram(
    "refunds_provider_call_seconds",
    "Time spent in one provider call, by provider and outcome (this process).",
    ("provider", "outcome"),
)
SALEOR_POLLS = Counter(
    "refunds_saleor_polls_total",
    "Saleor refund attempts still sent or unknown whose order was re-queried, by what the "
    "re-query found: settled, unchanged (looked at again, never given up on) or error "
    "(this process).",
    ("outcome",),
)
REGISTRY.register(WEBHOOK_SECONDS)
REGISTRY.register(PROVIDER_SECONDS)
REGISTRY.register(SALEOR_POLLS)


def observe_provider(provider: str, outcome: str, seconds: float) -> None:
    """The executor's ``observe`` hook."""
    PROVIDER_SECONDS.observe(seconds, provider, outcome)


def observe_saleor_poll(outcome: str) -> None:
    """The Saleor poller's ``observe`` hook."""
    SALEOR_POLLS.inc(outcome)


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        return


def serve_metrics(host: str, port: int, registry: Registry = REGISTRY) -> WSGIServer:
    """Serve ``GET /metrics`` from a daemon thread (for ``refunds worker``)."""

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        ok = environ.get("PATH_INFO") == "/metrics"
        status = "200 OK" if ok else "404 Not Found"
        body = registry.render().encode() if ok else b"not found\n"
        start_response(status, [("Content-Type", CONTENT_TYPE)])
        return [body]

    server = make_server(host, port, app, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, name="refunds-metrics", daemon=True).start()
    return server
