"""The vocabulary the policy and the service speak, in three modules: ``kinds`` (outcomes,
reasons, attempt statuses), ``facts`` (order facts, return requests) and ``decision`` (what
the policy answered). Everything is a frozen dataclass or an enum with no I/O, so a decision
can be replayed from stored facts. Import from the module that defines a name."""
