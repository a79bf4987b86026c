"""``GET /metrics`` in the Prometheus text format.

Counts that must agree across gunicorn workers and hosts (events received, decisions, attempts)
are read from the ledger at scrape time; latency histograms are this process's own (see
``refunds_plugin.metrics``).
"""

from __future__ import annotations

import time

from flask import Flask, Response, current_app, g, request

from refunds_plugin.domain.kinds import DRY_RUN, TEST_MODE, AttemptStatus
from refunds_plugin.finance import outbox as outbox_read
from refunds_plugin.finance.reports import ledger_counts
from refunds_plugin.finance.verify import unsealed_entries
from refunds_plugin.metrics import CONTENT_TYPE, REGISTRY, WEBHOOK_SECONDS, label_text, number

# every status an attempt can be shown with (README: the words /api/attempts, `refunds ledger
# list` and /metrics use), shown even at zero: a dashboard's series exist before the first such
# attempt; a status not listed (a row edited by hand) shows once some attempt has it
ATTEMPT_STATUSES = (*(str(s) for s in AttemptStatus), DRY_RUN, TEST_MODE)


def _family(name: str, kind: str, help_: str, rows: list[tuple[tuple[str, ...], float]],
            labelnames: tuple[str, ...]) -> list[str]:
    lines = [f"# HELP {name} {help_}", f"# TYPE {name} {kind}"]
    for labels, value in rows:
        lines.append(f"{name}{label_text(labelnames, labels)} {number(value)}")
    return lines


def ledger_metrics() -> str:
    """Events, decisions and attempts as the database holds them (right across processes)."""
    engine = current_app.extensions["refunds"].engine
    counts = ledger_counts(engine)
    att = counts.attempts
    statuses = sorted(set(ATTEMPT_STATUSES) | set(att))
    lines = _family(
        "refunds_events_received_total", "counter", "Events recorded in the inbox.",
        sorted(((s, t), n) for s, t, n in counts.events), ("source", "type"),
    )
    lines += _family(
        "refunds_decisions_total", "counter", "Decisions recorded, by outcome.",
        sorted(((o,), n) for o, n in counts.decisions), ("outcome",),
    )
    lines += _family(
        "refunds_attempts", "gauge", "Refund attempts by current status.",
        [((s,), att.get(s, 0)) for s in statuses], ("status",),
    )
    gone = outbox_read.gone(engine)
    lines += _family(
        "refunds_outbound_endpoint_gone", "gauge",
        "1 while the merchant's endpoint answered 410 Gone and no event is sent to it.",
        [((), 1 if gone else 0)], (),
    )
    lines += _family(
        "refunds_outbound_events_waiting", "gauge",
        "Events held back because the merchant's endpoint answered 410 Gone.",
        [((), gone["waiting"] if gone else 0)], (),
    )
    lines += _family(
        "refunds_journal_unsealed_entries", "gauge",
        "Journal entries committed but not sealed into the hash chain yet (PostgreSQL).",
        [((), unsealed_entries(engine))], (),
    )
    return "\n".join(lines) + "\n"


def _start() -> None:
    g.refunds_started = time.perf_counter()


def _finish(response: Response) -> Response:
    started = g.pop("refunds_started", None)
    if started is not None and request.path.startswith("/webhooks/"):
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        WEBHOOK_SECONDS.observe(
            time.perf_counter() - started, endpoint, str(response.status_code)
        )
    return response


def metrics() -> Response:
    try:
        body = ledger_metrics()
        up = 1
    except Exception:  # the database is down: still answer with what this process knows
        body, up = "", 0
    body += "# HELP refunds_database_up Whether the ledger database answered this scrape.\n"
    body += f"# TYPE refunds_database_up gauge\nrefunds_database_up {up}\n"
    return Response(body + REGISTRY.render(), mimetype=None, content_type=CONTENT_TYPE)


def init_app(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)
    app.add_url_rule("/metrics", "metrics", metrics, methods=["GET"])
