"""A cheap look at a file's bytes: can it hold recurrent-network code at all?

Every rule needs a recognised recurrent cell, a backward time loop or an activation helper, and
those cannot be written without one of these words. Files without any of them are not parsed:
on a large tree most files are skipped after one scan of their bytes.
"""

from __future__ import annotations

import re

_MARKERS = re.compile(
    rb"tanh|sigm|expit|lstm|gru|rnn|reversed|import \*|-1, -1\)|\[::-1\]", re.IGNORECASE
)


def may_hold_rnn_code(data: bytes) -> bool:
    return _MARKERS.search(data) is not None
