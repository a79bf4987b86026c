"""The satisfaction-guarantee policy language: policy files in, explained decisions out.

Public surface (kept stable for the service):

- ``load_policy(spec)`` where spec is a file path or ``preset:NAME``; raises ``PolicyError``.
- ``evaluate(policy, facts, request, now)`` -> ``refunds_plugin.domain.Decision`` (pure).
"""
