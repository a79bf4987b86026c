"""The refund attempt that gives a return label fee back (``shipping/label_fee.py``): its seq,
and the one check the readers make (finance, the customer's mail), kept apart so they need not
import the shipping desk's side.

``LABEL_FEE_SEQ`` is a seq no decision's resolutions reach (they count from 0), past the
exchange attempts' ``REFUND_SEQ`` (900) and ``DIFFERENCE_SEQ`` (950) and the bands their retries
take after them, so the attempt's id, derived from the decision and the seq, is one per
decision; its own retries take the seqs after it (``exchange_dues.retry_seq``: each kind of
refund keeps its retries in its own band, ``LABEL_FEE``).
"""

LABEL_FEE_SEQ = 970


def is_label_fee(seq: int) -> bool:
    """Whether a decision's attempt at ``seq`` gives a label fee back, retries included."""
    return seq >= LABEL_FEE_SEQ
