from collections.abc import Iterator

from lstmlint.analysis.derivatives import GATES, derivative_problems
from lstmlint.analysis.experiments import constant_spec
from lstmlint.analysis.gradients import branch_uses, derivative_factor
from lstmlint.analysis.names import code_of
from lstmlint.rule import Invalid, Report, Rule, Valid, experiment_facts, reports_for

from ._programs import (
    CS231N_STEP,
    DLAI_CELL,
    GATE_LOOP,
    GRU_STEP_CACHE,
    LSTM_PREPENDED,
    swap,
)

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
    ``da_i = di * sigmoid(i)``, the gate's own value on its branch (``di = dc * g * i``,
    ``do = dh * np.tanh(c) * o``: the gradient's name says whose branch it is where the factors
    leave it open), or the cell path written ``dc = dh * o * np.tanh(c)`` (it needs tanh'(c)). ``do = dh * np.tanh(c)`` is correct (tanh(c) is the output gate's
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
    valid = [Valid(LSTM_PREPENDED), Valid(CS231N_STEP), Valid(DLAI_CELL), Valid(GATE_LOOP)]
    invalid = [
        # a GRU's update gate read back from a per-step cache tuple
        Invalid(
            swap(
                GRU_STEP_CACHE,
                "dz = dnext_h * (prev_h - hh) * z * (1 - z)",
                "dz = dnext_h * (prev_h - hh) * sigmoid(z)  # bug",
            ),
            fixed=swap(
                GRU_STEP_CACHE,
                "dz = dnext_h * (prev_h - hh) * z * (1 - z)",
                "dz = dnext_h * (prev_h - hh) * z * (1 - z)  # bug",
            ),
        ),
        # the gate's own value on its own branch, in three styles
        Invalid(
            swap(
                LSTM_PREPENDED,
                "do = dh * np.tanh(C[t + 1]) * o[t] * (1 - o[t])",
                "do = dh * np.tanh(C[t + 1]) * o[t]  # bug",
            ),
            fixed=swap(
                LSTM_PREPENDED,
                "do = dh * np.tanh(C[t + 1]) * o[t] * (1 - o[t])",
                "do = dh * np.tanh(C[t + 1]) * o[t] * (1 - o[t])  # bug",
            ),
        ),
        Invalid(
            swap(
                DLAI_CELL,
                "* cct * it * (1 - it)",
                "* cct * it  # bug",
            ),
            fixed=swap(DLAI_CELL, "* cct * it * (1 - it)", "* cct * it * (1 - it)  # bug"),
        ),
        Invalid(
            swap(
                GATE_LOOP,
                "di = dc * self.cand[t] * self.gate_i[t] * (1 - self.gate_i[t])",
                "di = dc * self.cand[t] * self.gate_i[t]  # bug",
            ),
            fixed=swap(
                GATE_LOOP,
                "di = dc * self.cand[t] * self.gate_i[t] * (1 - self.gate_i[t])",
                "di = dc * self.cand[t] * self.gate_i[t] * (1 - self.gate_i[t])  # bug",
            ),
        ),
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
        yield from reports_for(self.code, derivative_problems(model))
        for use in branch_uses(model):
            if use.own is None:
                continue
            own = code_of(use.own)
            factor = derivative_factor(model, use.point, use.gate)
            gate = GATES.get(use.gate, "gate")
            yield Report(
                use.own,
                f"`{use.name}` is multiplied by `{own}`, the {gate}'s value, where its "
                f"derivative belongs",
                f"use `{factor}` in place of `{own}`" if factor else "use the gate's derivative",
                experiment_facts(constant_spec(model, use.gate, "ones", read_only=True)),
                # a factor of a product: the derivative's own product needs no parentheses
                [(use.own, factor)] if factor else [],
            )
