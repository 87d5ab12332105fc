from collections.abc import Iterator

from lstmlint.analysis.offsets import offset_problems
from lstmlint.rule import Invalid, Report, Rule, Valid, reports_for

from ._programs import (
    CS231N_STEP,
    LSTM_APPENDED_EQUATIONS,
    LSTM_PREPENDED,
    MINCHAR_FROM_END,
    MINCHAR_RNN,
    swap,
)

_CELL_DERIVATIVE = "dC = dC_next + dh * o[t] * (1 - np.tanh(C[t + 1]) ** 2)"


class CurrentStateOffset(Rule):
    code = "LST102"
    name = "current-state-offset"
    summary = "The current state is read as h[t]/C[t] where the history holds it at h[t+1]/C[t+1]."
    doc = """
What it finds
    In backward code, a read of a recurrent state where the CURRENT step's state is needed
    (inside ``tanh(C)`` or its derivative, in the readout gradient ``dy @ h.T``, in a vanilla
    RNN's ``1 - h**2``) but the index or variable gives another step. Typical: ``h[t]`` and
    ``C[t]`` when the forward pass prepended the initial state, so step t lives at t + 1;
    or ``np.tanh(prev_c)`` in a per-step backward where ``next_c`` is meant.

Why it breaks training
    The output gate, the cell path and the readout weights are differentiated at the
    previous step's state. The gradient check fails on every parameter upstream.

Example
    do = dh * np.tanh(C[t])     # C = [C0, C_0, ...]: C[t] is C_{t-1}

Fix
    do = dh * np.tanh(C[t + 1])

Autofix
    Yes: the time index is moved (``t`` -> ``t + 1``; both reads in ``1 - h[t - 1] * h[t - 1]``),
    or a variable that holds the wrong step (``prev_c``) is replaced by the one variable that
    holds the current step (``next_c``). None when several variables hold it.
"""
    valid = [
        Valid(LSTM_PREPENDED),
        Valid(MINCHAR_RNN),
        Valid(CS231N_STEP),
        Valid(MINCHAR_FROM_END),
    ]
    invalid = [
        # a loop that counts up and indexes from the end: hs[T - i - 1] is its step
        Invalid(
            swap(
                MINCHAR_FROM_END,
                "dhraw = (1 - hs[T - i - 1] * hs[T - i - 1]) * dh",
                "dhraw = (1 - hs[T - i - 2] * hs[T - i - 2]) * dh  # bug",
            ),
            fixed=swap(
                MINCHAR_FROM_END,
                "dhraw = (1 - hs[T - i - 1] * hs[T - i - 1]) * dh",
                "dhraw = (1 - hs[T - i - 1] * hs[T - i - 1]) * dh  # bug",
            ),
        ),
        Invalid(
            swap(LSTM_PREPENDED, "dWy += dy @ h[t + 1].T", "dWy += dy @ h[t].T  # bug"),
            fixed=swap(LSTM_PREPENDED, "dWy += dy @ h[t + 1].T", "dWy += dy @ h[t + 1].T  # bug"),
        ),
        Invalid(
            swap(
                LSTM_APPENDED_EQUATIONS,
                _CELL_DERIVATIVE,
                _CELL_DERIVATIVE.replace("C[t + 1]", "C[t]") + "  # bug",
            ),
            fixed=swap(LSTM_APPENDED_EQUATIONS, _CELL_DERIVATIVE, _CELL_DERIVATIVE + "  # bug"),
        ),
        Invalid(
            swap(
                MINCHAR_RNN,
                "dhraw = (1 - hs[t] * hs[t]) * dh",
                "dhraw = (1 - hs[t - 1] * hs[t - 1]) * dh  # bug",
            ),
            fixed=swap(
                MINCHAR_RNN,
                "dhraw = (1 - hs[t] * hs[t]) * dh",
                "dhraw = (1 - hs[t] * hs[t]) * dh  # bug",
            ),
        ),
        Invalid(
            swap(
                CS231N_STEP,
                "do = dnext_h * np.tanh(next_c)",
                "do = dnext_h * np.tanh(prev_c)  # bug",
            ),
            fixed=swap(
                CS231N_STEP,
                "do = dnext_h * np.tanh(next_c)",
                "do = dnext_h * np.tanh(next_c)  # bug",
            ),
        ),
    ]

    def check(self, model) -> Iterator[Report]:
        return reports_for(self.code, offset_problems(model))
