"""Telling people what happened: customer emails and events for the merchant's systems.

A state change that someone should hear about (a decision recorded, a review closed, a refund
settled, store credit issued) calls ``enqueue`` inside its own transaction, so the message is
recorded exactly when the change is and never without it. The courier (``courier.py``), run by
the executor's loop, claims queued messages with leases, renders and sends them, and records the
outcome with retries and backoff; finance sees what gave up (``/finance/outbox``).

``outbox``: the table's only writer (enqueue, claims, outcomes, resend). ``kinds``: every kind
of message and what its context must hold. ``causes``: which state change enqueues what.
``render``: Jinja templates (overridable), shop look, gettext markers. ``mail``: SMTP or the
console. ``outbound``: Standard Webhooks. ``links``: the customer's status link.
"""
