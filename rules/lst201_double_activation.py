from collections.abc import Iterator

from lstmlint.analysis.derivatives import derivative_problems
from lstmlint.rule import Invalid, Report, Rule, Valid, reports_for

from ._programs import (
    CS231N_STEP,
    DLAI_CELL,
    GRU_STEP_CACHE,
    LSTM_PREPENDED,
    swap,
)


class DoubleActivation(Rule):
    code = "LST201"
    name = "double-activation"
    summary = (
        "A nonlinearity is applied twice in a derivative, e.g. tanh(tanh(C), derivative=True)."
    )
    doc = """
What it finds
    Backward code that applies an activation to a value that already went through it:
    ``tanh(tanh(C[t]), derivative=True)`` with a helper whose derivative mode expects the
    pre-activation, ``1 - np.tanh(g)**2`` where ``g`` already holds tanh's output,
    ``np.tanh(gs[t])`` used as a derivative factor, ``np.tanh(np.tanh(C[t]))`` where the
    backward means tanh of the cell once. What a helper expects is learnt by
    interpreting its body, so ``tanh(tanh(c), True)`` with a helper that expects the OUTPUT
    (``return 1 - y**2``) is correct and not reported.

Why it breaks training
    The derivative is evaluated at tanh(tanh(x)) instead of at x: every gradient through that
    path is scaled wrongly, silently.

Example
    dC += dh * o[t] * tanh(tanh(C[t + 1]), derivative=True)

Fix
    dC += dh * o[t] * (1 - np.tanh(C[t + 1]) ** 2)

Autofix
    Yes. An activation written twice around a value becomes the inner call. Otherwise the
    factor is replaced by the right derivative, ``1 - g**2`` or ``g * (1 - g)`` at a stored
    output and ``1 - tanh(x)**2`` at a pre-activation, spelled with the file's own
    activation (the call already in the factor, NumPy under the module's alias, or a sigmoid
    helper the file calls), in parentheses where precedence needs them. None when the file has
    no name for the activation, or when the factor is spread over several factors of a product.
"""
    valid = [Valid(LSTM_PREPENDED), Valid(CS231N_STEP), Valid(DLAI_CELL)]
    invalid = [
        # a GRU's reset gate read back from a per-step cache tuple, activated again
        Invalid(
            swap(
                GRU_STEP_CACHE,
                "dr = drh * prev_h * r * (1 - r)",
                "dr = drh * prev_h * sigmoid(r) * (1 - sigmoid(r))  # bug",
            )
        ),
        # tanh applied to the candidate's output, and the square taken inside it
        Invalid(
            swap(
                LSTM_PREPENDED,
                "dg = dg * (1 - g[t] ** 2)",
                "dg = dg * (1 - np.tanh(g[t] ** 2))  # bug",
            ),
            fixed=swap(
                LSTM_PREPENDED, "dg = dg * (1 - g[t] ** 2)", "dg = dg * (1 - g[t] ** 2)  # bug"
            ),
        ),
        Invalid(
            swap(
                LSTM_PREPENDED,
                "dg = dg * (1 - g[t] ** 2)",
                "dg = dg * (1 - np.tanh(g[t]) ** 2)  # bug",
            ),
            fixed=swap(
                LSTM_PREPENDED, "dg = dg * (1 - g[t] ** 2)", "dg = dg * (1 - g[t]**2)  # bug"
            ),
        ),
        Invalid(
            swap(
                LSTM_PREPENDED,
                "dC = dC_next + dh * o[t] * (1 - np.tanh(C[t + 1]) ** 2)",
                "dC = dC_next + dh * o[t] * (1 - np.tanh(np.tanh(C[t + 1])) ** 2)  # bug",
            ),
            fixed=swap(
                LSTM_PREPENDED,
                "dC = dC_next + dh * o[t] * (1 - np.tanh(C[t + 1]) ** 2)",
                "dC = dC_next + dh * o[t] * (1 - np.tanh(C[t + 1])**2)  # bug",
            ),
        ),
        # the activation written twice around a value, in three styles
        Invalid(
            swap(
                LSTM_PREPENDED,
                "do = dh * np.tanh(C[t + 1]) * o[t] * (1 - o[t])",
                "do = dh * np.tanh(np.tanh(C[t + 1])) * o[t] * (1 - o[t])  # bug",
            ),
            fixed=swap(
                LSTM_PREPENDED,
                "do = dh * np.tanh(C[t + 1]) * o[t] * (1 - o[t])",
                "do = dh * np.tanh(C[t + 1]) * o[t] * (1 - o[t])  # bug",
            ),
        ),
        Invalid(
            swap(
                CS231N_STEP,
                "do = dnext_h * np.tanh(next_c)",
                "do = dnext_h * np.tanh(np.tanh(next_c))  # bug",
            ),
            fixed=swap(
                CS231N_STEP,
                "do = dnext_h * np.tanh(next_c)",
                "do = dnext_h * np.tanh(next_c)  # bug",
            ),
        ),
        Invalid(
            swap(
                DLAI_CELL,
                "dot = da_next * np.tanh(c_next) * ot * (1 - ot)",
                "dot = da_next * np.tanh(np.tanh(c_next)) * ot * (1 - ot)  # bug",
            ),
            fixed=swap(
                DLAI_CELL,
                "dot = da_next * np.tanh(c_next) * ot * (1 - ot)",
                "dot = da_next * np.tanh(c_next) * ot * (1 - ot)  # bug",
            ),
        ),
    ]

    def check(self, model) -> Iterator[Report]:
        return reports_for(self.code, derivative_problems(model))
