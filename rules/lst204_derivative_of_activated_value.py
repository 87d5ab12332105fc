from collections.abc import Iterator

from lstmlint.analysis.derivatives import derivative_problems
from lstmlint.rule import Invalid, Report, Rule, Valid, reports_for

from ._programs import BATCHED_STACKED, CLASS_LSTM, LSTM_PREPENDED, swap

# the class's derivative method expects the pre-activation; the cell's own call gives it one
PRE_METHOD = swap(
    swap(
        CLASS_LSTM,
        "    def dtanh(self, y):\n        return 1 - y ** 2\n",
        "    def dtanh(self, x):\n        return 1 - np.tanh(x) ** 2\n",
    ),
    "dc = dc_next + dh_next * o * self.dtanh(tc)",
    "dc = dc_next + dh_next * o * self.dtanh(self.cs[t + 1])",
)

OUTPUT_HELPER = LSTM_PREPENDED.replace(
    "    s = 1 / (1 + np.exp(-x))\n    return s * (1 - s) if derivative else s\n",
    "    if derivative:\n        return x * (1 - x)\n    return 1 / (1 + np.exp(-x))\n",
)


class DerivativeOfActivatedValue(Rule):
    code = "LST204"
    name = "derivative-of-activated-value"
    summary = "A derivative helper that expects the pre-activation is given a stored output, or the reverse."
    doc = """
What it finds
    A call of an activation helper in derivative mode (``sigmoid(x, derivative=True)``,
    ``sigmoid(x, True)``, ``dsigmoid(y)``, ``sigmoid_prime(x)``, ...) whose argument is at the
    wrong point. lstmlint reads the helper's body to learn what it expects:
    ``s = sigmoid(x); return s * (1 - s)`` expects the pre-activation, ``return x * (1 - x)``
    expects the stored output. Passing ``i[t]`` (already sigmoid's output) to the first kind,
    or a pre-activation or the cell state to the second kind, is reported. The same call with
    a helper of the matching kind is correct and is not reported.

Why it breaks training
    The derivative is evaluated at sigmoid(sigmoid(a)) (or at the raw pre-activation): the
    gate gradients are wrong by a smooth factor, so the loss still moves, just not down.

Example
    di = sigmoid(i[t], True) * di     # helper: s = sigmoid(x); return s * (1 - s)

Fix
    di = i[t] * (1 - i[t]) * di

Autofix
    Yes: the helper call is replaced by the derivative written out at the value it was given
    (``sigmoid(i[t], True)`` -> ``i[t] * (1 - i[t])``), in parentheses where precedence needs
    them. At a pre-activation it needs the activation by a name the file has (NumPy's tanh, a
    one-argument sigmoid call); without one there is no autofix.
"""
    valid = [
        Valid(BATCHED_STACKED),
        Valid(LSTM_PREPENDED),
        # methods of the class: one expecting the output given outputs, one the pre-activation
        Valid(CLASS_LSTM),
        Valid(PRE_METHOD.replace("self.dtanh(g)", "(1 - g ** 2)")),
        Valid(
            swap(
                OUTPUT_HELPER,
                "di = di * i[t] * (1 - i[t])",
                "di = di * sigmoid(i[t], derivative=True)",
            )
        ),
    ]
    invalid = [
        # the gates' stretch of stacked pre-activations, given the output form
        Invalid(
            swap(
                swap(BATCHED_STACKED, "s = A[t, :, : 3 * H]", "s = Z[t, :, : 3 * H]"),
                "s * (1 - s) * dA[t, :, : 3 * H]",
                "s * (1 - s) * dA[t, :, : 3 * H]  # bug",
            ),
        ),
        Invalid(
            swap(PRE_METHOD, "dg = dc * i * self.dtanh(g)", "dg = dc * i * self.dtanh(g)  # bug"),
            fixed=swap(
                PRE_METHOD, "dg = dc * i * self.dtanh(g)", "dg = dc * i * (1 - g**2)  # bug"
            ),
        ),
        Invalid(
            swap(
                LSTM_PREPENDED,
                "di = di * i[t] * (1 - i[t])",
                "di = sigmoid(i[t], True) * di  # bug",
            ),
            fixed=swap(
                LSTM_PREPENDED,
                "di = di * i[t] * (1 - i[t])",
                "di = i[t] * (1 - i[t]) * di  # bug",
            ),
        ),
        Invalid(
            swap(
                LSTM_PREPENDED,
                "df = df * f[t] * (1 - f[t])",
                "df = df * sigmoid(f[t], derivative=True)  # bug",
            ),
            fixed=swap(
                LSTM_PREPENDED,
                "df = df * f[t] * (1 - f[t])",
                "df = df * f[t] * (1 - f[t])  # bug",
            ),
        ),
    ]

    def check(self, model) -> Iterator[Report]:
        return reports_for(self.code, derivative_problems(model))
