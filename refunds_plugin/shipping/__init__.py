"""The physical return: instructions, prepaid labels, tracking, the deadline, receiving and
restock (issue 14).

``returns.py`` holds the return's state changes, each ONE function run inside the caller's
transaction (``open_return``, ``record_label``, ``mark_tracking``, ``expire``,
``mark_received``), so a later outbox row can join each of them; ``journey.py`` says who hears
of the parcel's new carrier status. ``labels.py`` buys labels
through the recorded, retried path; ``carriers/`` is what we call (the EasyPost SDK is imported
only in ``carriers/easypost.py``). This package writes its own tables, ``return_shipments``
and ``return_receipts``; attempts and the journal change only through ``ledger/``.
"""
