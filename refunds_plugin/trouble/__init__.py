"""Looking for trouble: duplicate charges and overpayments found before the customer does.

``detectors`` finds them (read-only); ``corrections`` decides them inside the event that woke
them; ``follow_ups`` opens, clears and lists failed payments a person should chase.
"""
