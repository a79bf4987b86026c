"""Learning from returns (issue 17): why things come back, what returns cost, who comes back,
how customers feel, and a candidate policy side by side with the current one. Read models over
the ledger's insight rows (``ledger/line_index.py``); only ``feedback.py`` writes, its own table.
"""
