from collections.abc import Iterator

from lstmlint.analysis.derivatives import derivative_problems
from lstmlint.rule import Invalid, Report, Rule, Valid, reports_for

from ._programs import CS231N_STEP, LSTM_PREPENDED, swap

_SIGMOID_DEF = """def sigmoid(x, derivative=False):
    s = 1 / (1 + np.exp(-x))
    return s * (1 - s) if derivative else s
"""


class ActivationInsteadOfDerivative(Rule):
    code = "LST202"
    name = "activation-instead-of-derivative"
    summary = (
        "A gradient is multiplied by the activation (sigmoid(f) * df) instead of its derivative."
    )
    doc = """
What it finds
    A gate gradient multiplied by the activation of the gate instead of the activation's
    derivative: ``df = sigmoid(f[t]) * df`` where ``f[t]`` already holds sigmoid's output,
    ``da_i = di * sigmoid(i)``, or the cell path written ``dc = dh * o * np.tanh(c)``
    (it needs tanh'(c)). ``do = dh * np.tanh(c)`` is correct (tanh(c) is the output gate's
    partner in h = o * tanh(c)) and is not reported.

Why it breaks training
    sigmoid(f) is between 0.5 and 0.73 for a gate output f in (0, 1), so the factor looks
    plausible and nothing diverges, but the gradient of the gate's weights is wrong.

Example
    df = dC * C_prev
    df = sigmoid(f[t]) * df

Fix
    df = dC * C_prev * f[t] * (1 - f[t])

Autofix
    Yes: the activation is replaced by its derivative at the same value (``sigmoid(f[t])`` ->
    ``f[t] * (1 - f[t])``; on the cell path ``np.tanh(c)`` -> ``(1 - np.tanh(c)**2)``), in the
    file's own spelling. None when the file has no name for the activation it needs.
"""
    valid = [Valid(LSTM_PREPENDED), Valid(CS231N_STEP)]
    invalid = [
        Invalid(
            swap(LSTM_PREPENDED, "df = df * f[t] * (1 - f[t])", "df = sigmoid(f[t]) * df  # bug"),
            fixed=swap(
                LSTM_PREPENDED, "df = df * f[t] * (1 - f[t])", "df = f[t] * (1 - f[t]) * df  # bug"
            ),
        ),
        # the activation helper written as a lambda
        Invalid(
            swap(
                swap(LSTM_PREPENDED, _SIGMOID_DEF, "sigmoid = lambda x: 1 / (1 + np.exp(-x))\n"),
                "df = df * f[t] * (1 - f[t])",
                "df = sigmoid(f[t]) * df  # bug",
            ),
            fixed=swap(
                swap(LSTM_PREPENDED, _SIGMOID_DEF, "sigmoid = lambda x: 1 / (1 + np.exp(-x))\n"),
                "df = df * f[t] * (1 - f[t])",
                "df = f[t] * (1 - f[t]) * df  # bug",
            ),
        ),
    ]

    def check(self, model) -> Iterator[Report]:
        return reports_for(self.code, derivative_problems(model))
