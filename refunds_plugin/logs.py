"""Structured logs: one JSON object per line, with the ids that tie a line to the ledger.

Only whitelisted ``extra=`` fields are written (event, decision, attempt, order ids and a few
facts), never whole payloads; anything that looks like a Stripe key, a webhook secret or a card
number is masked before it leaves the process.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

FIELDS = (
    "event_id",
    "decision_id",
    "attempt_id",
    "order_id",
    "outcome",
    "status",
    "worker_id",
    "provider",
    "client",
)
SECRET = re.compile(
    r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]+|\bwhsec_[A-Za-z0-9]+|\brfd_[A-Za-z0-9_-]+|\bBearer\s+[A-Za-z0-9._-]+"
)
# A card number stands alone: a run of digits inside a UUID or another id (a dash or a letter
# next to it) is an id, not a card.
CARD = re.compile(r"(?<![\w-])(?:\d[ -]?){12,18}\d(?![\w-])")


def redact(text: str) -> str:
    """Mask API keys, webhook secrets, bearer tokens and card-number-like digit runs."""
    return CARD.sub("[card?]", SECRET.sub("[secret]", text))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for name in FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                out[name] = redact(str(value))
        if record.exc_info:
            out["error"] = redact(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False, sort_keys=False)


def setup_logging(level: str = "INFO", stream: Any = None) -> logging.Handler:
    """Route the root logger to one JSON-lines handler (idempotent: replaces ours)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.set_name("refunds-json")
    root = logging.getLogger()
    for old in list(root.handlers):
        if old.get_name() == "refunds-json":
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler
