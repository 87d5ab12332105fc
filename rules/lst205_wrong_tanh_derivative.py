from collections.abc import Iterator

from lstmlint.analysis.derivatives import derivative_problems
from lstmlint.rule import Invalid, Report, Rule, Valid, reports_for

from ._programs import (
    BATCHED_STACKED,
    CS231N_STEP,
    GRU_STEP_CACHE,
    LSTM_PREPENDED,
    MINCHAR_RNN,
    swap,
)


class WrongTanhDerivative(Rule):
    code = "LST205"
    name = "wrong-tanh-derivative"
    summary = (
        "A tanh derivative written wrongly: 1 - c**2 on the cell state, 1 - g without the square,"
        " (1 - g)**2."
    )
    doc = """
What it finds
    A factor meant as tanh's derivative that is something else: ``1 - c**2`` where ``c`` is the
    cell state (a pre-activation: the derivative there is ``1 - np.tanh(c)**2``),
    ``1 - g`` or ``1 - np.tanh(c)`` without the square, ``(1 - g)**2`` with the square taken of
    the difference, or the square taken inside tanh,
    ``1 - np.tanh(c**2)`` (on the candidate's output, ``1 - np.tanh(cct**2)``, it is LST201's:
    tanh applied twice). ``1 - g**2`` where ``g`` holds tanh's
    output, and ``1 - h**2`` for a vanilla RNN's h = tanh(...), are right and not reported.

Why it breaks training
    The factor has the right sign and range, so training runs, but every gradient through the
    candidate or the cell path is wrong.

Example
    dg = dC * i[t] * (1 - g[t])

Fix
    dg = dC * i[t] * (1 - g[t] ** 2)

Autofix
    Yes: the factor is replaced by the right derivative (``1 - g[t]**2``, or
    ``1 - np.tanh(C[t + 1])**2`` on the cell state, with the module's NumPy alias). None when
    the file has no name for tanh.
"""
    valid = [
        Valid(GRU_STEP_CACHE),
        # gates stacked in one array per step, activated slice by slice
        Valid(BATCHED_STACKED),
        Valid(LSTM_PREPENDED),
        Valid(MINCHAR_RNN),
        Valid(CS231N_STEP),
        # a first draft replaced before anything reads it computes nothing that is used
        Valid(
            swap(
                CS231N_STEP,
                "    dc = dnext_c + dnext_h * o * (1 - np.tanh(next_c) ** 2)\n",
                "    dc = dnext_c + dnext_h * o * (1 - np.tanh(next_c ** 2))\n"
                "    dc = dnext_c + dnext_h * o * (1 - np.tanh(next_c) ** 2)\n",
            )
        ),
    ]
    invalid = [
        # a GRU's candidate read back from a per-step cache tuple
        Invalid(
            swap(
                GRU_STEP_CACHE,
                "dhh = dnext_h * (1 - z) * (1 - hh ** 2)",
                "dhh = dnext_h * (1 - z) * (1 - hh)  # bug",
            ),
            fixed=swap(
                GRU_STEP_CACHE,
                "dhh = dnext_h * (1 - z) * (1 - hh ** 2)",
                "dhh = dnext_h * (1 - z) * (1 - hh**2)  # bug",
            ),
        ),
        # the candidate's stretch of stacked pre-activations, given the output form
        Invalid(
            swap(
                BATCHED_STACKED,
                "dZ[t, :, 3 * H :] = (1 - A[t, :, 3 * H :] ** 2) * dA[t, :, 3 * H :]",
                "dZ[t, :, 3 * H :] = (1 - Z[t, :, 3 * H :] ** 2) * dA[t, :, 3 * H :]  # bug",
            ),
            fixed=swap(
                BATCHED_STACKED,
                "dZ[t, :, 3 * H :] = (1 - A[t, :, 3 * H :] ** 2) * dA[t, :, 3 * H :]",
                "dZ[t, :, 3 * H :] = (1 - np.tanh(Z[t, :, 3 * H :])**2) * dA[t, :, 3 * H :]  # bug",
            ),
        ),
        Invalid(
            swap(
                BATCHED_STACKED,
                "dc = dc + (1 - TC[t] ** 2) * A[t, :, 2 * H : 3 * H] * dh_t",
                "dc = dc + (1 - TC[t]) * A[t, :, 2 * H : 3 * H] * dh_t  # bug",
            ),
            fixed=swap(
                BATCHED_STACKED,
                "dc = dc + (1 - TC[t] ** 2) * A[t, :, 2 * H : 3 * H] * dh_t",
                "dc = dc + (1 - TC[t]**2) * A[t, :, 2 * H : 3 * H] * dh_t  # bug",
            ),
        ),
        # the square taken inside tanh (of the candidate's output, it is LST201's)
        Invalid(
            swap(
                CS231N_STEP,
                "dc = dnext_c + dnext_h * o * (1 - np.tanh(next_c) ** 2)",
                "dc = dnext_c + dnext_h * o * (1 - np.tanh(next_c ** 2))  # bug",
            ),
            fixed=swap(
                CS231N_STEP,
                "dc = dnext_c + dnext_h * o * (1 - np.tanh(next_c) ** 2)",
                "dc = dnext_c + dnext_h * o * (1 - np.tanh(next_c) ** 2)  # bug",
            ),
        ),
        Invalid(
            swap(LSTM_PREPENDED, "dg = dg * (1 - g[t] ** 2)", "dg = dg * (1 - g[t])  # bug"),
            fixed=swap(
                LSTM_PREPENDED, "dg = dg * (1 - g[t] ** 2)", "dg = dg * (1 - g[t]**2)  # bug"
            ),
        ),
        Invalid(
            swap(
                LSTM_PREPENDED,
                "dC = dC_next + dh * o[t] * (1 - np.tanh(C[t + 1]) ** 2)",
                "dC = dC_next + dh * o[t] * (1 - C[t + 1] ** 2)  # bug",
            ),
            fixed=swap(
                LSTM_PREPENDED,
                "dC = dC_next + dh * o[t] * (1 - np.tanh(C[t + 1]) ** 2)",
                "dC = dC_next + dh * o[t] * (1 - np.tanh(C[t + 1])**2)  # bug",
            ),
        ),
        # the square taken of the difference, in three styles
        Invalid(
            swap(LSTM_PREPENDED, "dg = dg * (1 - g[t] ** 2)", "dg = dg * (1 - g[t]) ** 2  # bug"),
            fixed=swap(
                LSTM_PREPENDED, "dg = dg * (1 - g[t] ** 2)", "dg = dg * (1 - g[t]**2)  # bug"
            ),
        ),
        Invalid(
            swap(
                CS231N_STEP,
                "dc = dnext_c + dnext_h * o * (1 - np.tanh(next_c) ** 2)",
                "dc = dnext_c + dnext_h * o * (1 - np.tanh(next_c)) ** 2  # bug",
            ),
            fixed=swap(
                CS231N_STEP,
                "dc = dnext_c + dnext_h * o * (1 - np.tanh(next_c) ** 2)",
                "dc = dnext_c + dnext_h * o * (1 - np.tanh(next_c)**2)  # bug",
            ),
        ),
        Invalid(
            swap(
                MINCHAR_RNN,
                "dhraw = (1 - hs[t] * hs[t]) * dh",
                "dhraw = (1 - hs[t]) ** 2 * dh  # bug",
            ),
            fixed=swap(
                MINCHAR_RNN,
                "dhraw = (1 - hs[t] * hs[t]) * dh",
                "dhraw = (1 - hs[t]**2) * dh  # bug",
            ),
        ),
    ]

    def check(self, model) -> Iterator[Report]:
        return reports_for(self.code, derivative_problems(model))
