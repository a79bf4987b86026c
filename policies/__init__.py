"""The satisfaction-guarantee policy language: policy files in, explained decisions out.

Public surface (kept stable for the service):

- ``load_policy(spec)`` where spec is a file path or ``preset:NAME``; raises ``PolicyError``.
- ``load_policy_text(text, name_hint)`` for policy YAML held in memory.
- ``evaluate(policy, facts, request, now)`` -> ``refunds_plugin.domain.decision.Decision`` (pure).
- ``evaluate_correction(policy, facts, kind, amount, payment_reference, now, detail)``.
- ``list_presets()`` -> names usable as ``preset:NAME``.
"""

from policies.corrections import evaluate_correction
from policies.engine import evaluate
from policies.errors import PolicyError
from policies.loader import list_presets, load_policy, load_policy_text
from policies.policy import Policy

__all__ = [
    "Policy",
    "PolicyError",
    "evaluate",
    "evaluate_correction",
    "list_presets",
    "load_policy",
    "load_policy_text",
]
