"""Moving money: the executor claims attempts, calls a provider, and records the outcome.

``instructions`` turns an attempt row into what a provider needs; ``executor`` runs the loop
with leases, backoff and exactly-once idempotency keys.
"""
