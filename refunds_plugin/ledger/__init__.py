"""The ledger: storage and the journal. Every write to the money tables goes through here.

``tables`` is the schema (``migrations/`` its Alembic history, ``migrate`` the runner); ``db``
opens engines and write transactions (``group_commit`` batches them on SQLite); ``chain`` hashes
the journal; ``journal`` is the inbox and the append-only entries; ``decisions`` records a
decision once per request; ``attempts`` writes its attempts and moves them through their states;
``claims`` leases attempts to an executor; ``reviews`` opens a decision's review; ``orders`` and
``facts`` are what we know about orders and payments; ``instance`` keeps the instance's own key.
"""
