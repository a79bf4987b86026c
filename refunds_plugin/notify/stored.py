"""Reading back what a message is written from, as stored: a decision's body and its
explanation's message ids. A row edited by hand or cut short by a partial restore raises one of
``UNREADABLE``; ``why`` says how in words that never quote the stored JSON (it holds customer
data), so a warning or an outbox row may carry them."""

from __future__ import annotations

import json
from typing import Any

from refunds_plugin.domain.decision import Decision
from refunds_plugin.language.said import rebuild

UNREADABLE = (ValueError, TypeError, LookupError, AttributeError)


def why(exc: BaseException) -> str:
    """How a stored value could not be read: the parser's position, or the error's kind."""
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON: {exc}"
    return f"JSON of the wrong shape: {type(exc).__name__}"


def decision(body: str) -> Decision:
    """``decisions.body`` read back; raises one of ``UNREADABLE``."""
    return Decision.from_dict(json.loads(body))


def said(stored: str) -> Any:
    """``decisions.said`` read back (as JSON), once it is known to rebuild; raises one of
    ``UNREADABLE``."""
    value = json.loads(stored)
    rebuild(value)
    return value
