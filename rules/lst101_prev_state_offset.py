from collections.abc import Iterator

from lstmlint.analysis.offsets import offset_problems
from lstmlint.rule import Invalid, Report, Rule, Valid, reports_for

from ._programs import LSTM_PREPENDED, MINCHAR_RNN, swap


class PrevStateOffset(Rule):
    code = "LST101"
    name = "prev-state-offset"
    summary = "The previous cell or hidden state is read with the wrong index in the backward loop."
    doc = """
What it finds
    In a backward (BPTT) loop, a read of the previous step's cell or hidden state at the wrong
    index. The right index depends on how the forward pass stored its history:
    - initial state prepended (``h_s = [h0]`` then one append per step): step t is at t + 1,
      so the previous state is ``C[t]``; ``C[t - 1]`` is two steps back;
    - dict keyed from -1 (``hs[-1] = hprev``): the previous state is ``hs[t - 1]``;
    - list or array without the initial state: ``hs[t - 1]`` is right for t > 0 but wraps
      around to the LAST element at t == 0.
    The convention is inferred from the forward pass, followed through calls, returns,
    attributes and dict keys; where it cannot be inferred the rule stays silent.

Why it breaks training
    The forget-gate gradient ``dC * C_prev`` (and the recurrent weight gradient
    ``dh_raw @ h_prev.T``) is then computed against the wrong state. Nothing crashes; the
    gradients of every gate weight are simply wrong and the loss stalls.

Example
    C_prev = C[t - 1]          # C = [C0, C_0, C_1, ...]: this is C_{t-2}
    df = dC * C_prev

Fix
    C_prev = C[t]              # the previous cell state under this convention

Autofix
    Yes: the time index is moved to the step the context needs (``t - 1`` -> ``t``), or a
    variable that holds the wrong step is replaced by the one variable that holds the right
    one. None for a read that wraps around at t == 0 (the fix needs the initial state, which
    has no name there) or when several variables hold the wanted state.
"""
    valid = [
        Valid(LSTM_PREPENDED),
        Valid(MINCHAR_RNN),
        # a readout's weight gradient written as a broadcast product needs the current h
        Valid(swap(LSTM_PREPENDED, "dWy += dy @ h[t + 1].T", "dWy += dy * h[t + 1].T")),
    ]
    invalid = [
        Invalid(
            swap(LSTM_PREPENDED, "        C_prev = C[t]\n", "        C_prev = C[t - 1]  # bug\n"),
            fixed=swap(LSTM_PREPENDED, "        C_prev = C[t]\n", "        C_prev = C[t]  # bug\n"),
        ),
        Invalid(
            swap(MINCHAR_RNN, "dWhh += dhraw @ hs[t - 1].T", "dWhh += dhraw @ hs[t - 2].T  # bug"),
            fixed=swap(
                MINCHAR_RNN, "dWhh += dhraw @ hs[t - 1].T", "dWhh += dhraw @ hs[t - 1].T  # bug"
            ),
        ),
    ]

    def check(self, model) -> Iterator[Report]:
        return reports_for(self.code, offset_problems(model))
