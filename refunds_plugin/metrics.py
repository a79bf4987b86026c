"""Prometheus metrics through ``prometheus-client``, right across gunicorn workers.

``refunds serve`` turns on prometheus-client's multiprocess mode (``enable_multiprocess``) before
gunicorn forks: each worker writes its counters and histograms to files in one directory and a
scrape of any worker adds them all up (``MultiProcessCollector``). A single process (``refunds
worker --metrics-port``, tests) keeps them in memory. The counts that must be right across
hosts (events, decisions, attempts) are still read from the database at scrape time by
``webhooks.metrics``. The text is rendered here, so names, labels and number formats are the
ones the service always had (counters without ``_created`` samples).
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Iterable, Sequence
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.types import StartResponse, WSGIEnvironment

import prometheus_client
from prometheus_client import multiprocess, values

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus-client's own setting

Labels = tuple[str, ...]


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def label_text(names: Sequence[str], values_: Sequence[str], extra: str = "") -> str:
    parts = [f'{n}="{escape(v)}"' for n, v in zip(names, values_, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def enable_multiprocess(path: str, registry: Registry | None = None) -> None:
    """From now on this process keeps every metric in files under ``path`` (shared by the
    processes that call this with it), summed at scrape time. ``refunds serve`` calls it in each
    gunicorn worker as it starts; what the process observed before is dropped."""
    os.environ[MULTIPROC_ENV] = path
    values.ValueClass = values.get_value_class()
    for metric in (registry or REGISTRY).metrics():
        metric.reset()


def disable_multiprocess() -> None:
    """Back to values kept in this process: ``refunds serve`` stopping in a process that goes
    on (a test invoking it), once the directory it made is gone."""
    os.environ.pop(MULTIPROC_ENV, None)
    values.ValueClass = values.get_value_class()


class _Metric:
    """One metric family under the name it has always had; its prometheus-client metric is made
    on first use, so ``enable_multiprocess`` before that still applies."""

    kind = ""

    def __init__(self, name: str, help_: str, labelnames: Sequence[str] = ()) -> None:
        self.name, self.help, self.labelnames = name, help_, tuple(labelnames)
        self._made: Any = None
        self._lock = threading.Lock()

    def _make(self) -> Any:
        raise NotImplementedError

    def reset(self) -> None:
        with self._lock:
            self._made = None

    def _child(self, labels: Labels) -> Any:
        with self._lock:
            if self._made is None:
                self._made = self._make()
        return self._made.labels(*labels) if self.labelnames else self._made

    def _samples(self, families: Iterable[Any]) -> dict[Labels, dict[str, float]]:
        """``{labels: {suffix (or le=bound): value}}`` for this metric from ``families``."""
        out: dict[Labels, dict[str, float]] = {}
        base = self.name.removesuffix("_total") if self.kind == "counter" else self.name
        for family in families:
            if family.name != base:
                continue
            for sample in family.samples:
                suffix = sample.name[len(base):]
                if suffix.endswith("_created"):
                    continue
                labels = tuple(sample.labels.get(n, "") for n in self.labelnames)
                key = f"le={float(sample.labels['le'])!r}" if suffix == "_bucket" else suffix
                slot = out.setdefault(labels, {})
                slot[key] = slot.get(key, 0.0) + sample.value
        return out

    def _own(self) -> dict[Labels, dict[str, float]]:
        with self._lock:
            made = self._made
        return {} if made is None else self._samples(made.collect())


class Counter(_Metric):
    kind = "counter"

    def _make(self) -> Any:
        return prometheus_client.Counter(self.name, self.help, self.labelnames, registry=None)

    def inc(self, *labels: str, amount: float = 1.0) -> None:
        if amount < 0:
            raise ValueError("a counter only goes up")
        self._child(labels).inc(amount)

    def value(self, *labels: str) -> float:
        """This process's count."""
        return self._own().get(labels, {}).get("_total", 0.0)

    def lines(self, samples: dict[Labels, dict[str, float]]) -> Iterable[str]:
        for labels, got in sorted(samples.items()):
            yield f"{self.name}{label_text(self.labelnames, labels)} {number(got['_total'])}"


class Histogram(_Metric):
    kind = "histogram"

    def __init__(
        self,
        name: str,
        help_: str,
        labelnames: Sequence[str] = (),
        buckets: Sequence[float] = LATENCY_BUCKETS,
    ) -> None:
        super().__init__(name, help_, labelnames)
        self.buckets = tuple(sorted(buckets)) + (math.inf,)

    def _make(self) -> Any:
        return prometheus_client.Histogram(self.name, self.help, self.labelnames, registry=None,
                                           buckets=self.buckets)

    def observe(self, value: float, *labels: str) -> None:
        self._child(labels).observe(value)

    def count(self, *labels: str) -> int:
        """This process's observations."""
        return int(self._own().get(labels, {}).get("_count", 0))

    def lines(self, samples: dict[Labels, dict[str, float]]) -> Iterable[str]:
        for labels, got in sorted(samples.items()):
            for bound in self.buckets:
                le = f'le="{number(bound)}"'
                running = got.get(f"le={float(bound)!r}", 0.0)
                yield (f"{self.name}_bucket{label_text(self.labelnames, labels, le)} "
                       f"{number(running)}")
            yield f"{self.name}_sum{label_text(self.labelnames, labels)} {number(got['_sum'])}"
            yield (f"{self.name}_count{label_text(self.labelnames, labels)} "
                   f"{number(got['_count'])}")


class Registry:
    def __init__(self) -> None:
        self._metrics: dict[str, Counter | Histogram] = {}
        self._lock = threading.Lock()

    def register(self, metric: Counter | Histogram) -> Counter | Histogram:
        with self._lock:
            return self._metrics.setdefault(metric.name, metric)

    def metrics(self) -> list[Counter | Histogram]:
        with self._lock:
            return list(self._metrics.values())

    def render(self) -> str:
        """Every registered metric: summed over all processes in multiprocess mode."""
        with self._lock:
            metrics = list(self._metrics.values())
        path = multiprocess_dir()
        families = None
        if path is not None and os.path.isdir(path):
            families = list(multiprocess.MultiProcessCollector(None, path).collect())
        lines: list[str] = []
        for m in metrics:
            samples = m._own() if families is None else m._samples(families)
            lines += [f"# HELP {m.name} {m.help}", f"# TYPE {m.name} {m.kind}",
                      *m.lines(samples)]
        return "\n".join(lines) + "\n" if lines else ""


REGISTRY = Registry()
WEBHOOK_SECONDS = Histogram(
    "refunds_webhook_seconds",
    "Time to answer an incoming webhook, by endpoint and HTTP status (every worker).",
    ("endpoint", "status"),
)
PROVIDER_SECONDS = Histogram(
    "refunds_provider_call_seconds",
    "Time spent in one provider call, by provider and outcome (every worker).",
    ("provider", "outcome"),
)
SALEOR_POLLS = Counter(
    "refunds_saleor_polls_total",
    "Saleor refund attempts still sent or unknown whose order was re-queried, by what the "
    "re-query found: settled, unchanged (looked at again, never given up on) or error "
    "(every worker).",
    ("outcome",),
)
SEAL_LAG = Histogram(
    "refunds_journal_seal_lag_seconds",
    "Time from a write's commit until its journal entries were sealed into the hash chain "
    "(PostgreSQL; every worker).",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
REGISTRY.register(WEBHOOK_SECONDS)
REGISTRY.register(PROVIDER_SECONDS)
REGISTRY.register(SALEOR_POLLS)
REGISTRY.register(SEAL_LAG)


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
