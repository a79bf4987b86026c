"""Reading the ledger for people: reports, summary, verify, reconcile, tokens, simulation."""
