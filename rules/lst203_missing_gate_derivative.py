from collections.abc import Iterator

from lstmlint.analysis.derivatives import GATES
from lstmlint.analysis.experiments import constant_spec
from lstmlint.analysis.gradients import branch_edits, branch_uses
from lstmlint.rule import Invalid, Report, Rule, Valid, experiment_facts

from ._programs import (
    CS231N_STEP,
    GATE_LOOP,
    GRU_DICT,
    GRU_PREALLOC,
    LSTM_PREPENDED,
    MINCHAR_RNN,
    STATES_AS_ARGUMENTS,
    swap,
)

DERIVATIVES = {
    "f": "f * (1 - f)",
    "i": "i * (1 - i)",
    "o": "o * (1 - o)",
    "g": "1 - g**2",
    "h": "1 - h**2",
    "z": "z * (1 - z)",
    "r": "r * (1 - r)",
    "n": "1 - n**2",
}


HOISTED_CELL_TANH = swap(
    swap(
        swap(
            CS231N_STEP,
            "    next_h = o * np.tanh(next_c)\n    cache = (x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c)",
            "    tanh_c = np.tanh(next_c)\n    next_h = o * tanh_c\n"
            "    cache = (x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c)",
        ),
        "x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache",
        "x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c = cache",
    ),
    "    do = dnext_h * np.tanh(next_c)\n    dc = dnext_c + dnext_h * o * (1 - np.tanh(next_c) ** 2)",
    "    do = dnext_h * tanh_c\n    dc = dnext_c + dnext_h * o * (1 - tanh_c ** 2)",
)


class MissingGateDerivative(Rule):
    code = "LST203"
    name = "missing-gate-derivative"
    summary = "A gate's gradient reaches its weight gradient without the gate's derivative factor."
    doc = """
What it finds
    A gate gradient that is used for a weight or bias gradient (or propagated through a weight
    matrix) without ever being multiplied by the gate's derivative. A gate's branch is
    recognised from the forward product it came from: ``dC * C_prev`` is the forget gate's,
    ``dC * g`` the input gate's, ``dC * i`` the candidate's, ``dh * tanh(C)`` the output
    gate's; for a GRU, ``dn * (Uh @ h_prev + bh)`` or, where the candidate reads
    ``Uh @ (r * h_prev)``, ``(Uh.T @ dn) * h_prev`` is the reset gate's; for a vanilla RNN,
    ``Why.T @ dy + dh_next`` still needs ``1 - h**2``. A loop over
    the gates' gradients written out (``for name, d in (("f", df), ..., ("o", do))``) uses
    each of them where it uses ``d``.

Why it breaks training
    The weights are updated with the gradient of the gate's OUTPUT, not of its pre-activation.
    Gradient checks on those weights fail with a relative error near 1.

Example
    df = dC * C_prev
    dW_f += df @ z.T

Fix
    df = dC * C_prev * f * (1 - f)
    dW_f += df @ z.T

Autofix
    Yes: the last assignment of the gradient before its use is multiplied by the derivative
    (``df = dC * C_prev`` -> ``df = dC * C_prev * f[t] * (1 - f[t])``), with the gate (or, for
    a vanilla RNN, the current hidden state) spelled as the loop already reads it; in stacked
    gate gradients (``np.hstack((di, df, ...))``) only the part on that gate's branch gets it.
    None when
    the loop reads that value in several spellings or not at all, or when the gradient is
    built by ``+=``.

Not flagged
    A derivative written on the activation recomputed from its argument
    (``1 - np.tanh(a) * np.tanh(a)``, ``sigmoid(a) * (1 - sigmoid(a))``) counts, whatever
    ``a`` holds.

Confirmation
    The reference replay runs the model with this factor left out, which shows what a missing
    factor costs but runs none of the file's code, so by itself it leaves the finding
    ``unconfirmed``. With ``--confirm=auto`` the file's own code is run with and without the
    fix, and that confirms or refutes it.
"""
    valid = [
        Valid(GATE_LOOP),
        # the gate's own value where its derivative belongs is LST202's
        Valid(
            swap(
                GATE_LOOP,
                "di = dc * self.cand[t] * self.gate_i[t] * (1 - self.gate_i[t])",
                "di = dc * self.cand[t] * self.gate_i[t]",
            )
        ),
        Valid(GRU_DICT),
        # the update gate's partner spread over two terms, and the reset hidden state recomputed
        # for the candidate's weight gradient: neither is the reset gate's branch
        Valid(
            swap(
                swap(GRU_DICT, "dz = dh * (h[t - 1] - hh[t])", "dz = dh * h[t - 1] - dh * hh[t]"),
                'grads["Uh"] += dhh_raw @ (r[t] * h[t - 1]).T',
                'rh = r[t] * h[t - 1]\n        grads["Uh"] += dhh_raw @ rh.T',
            )
        ),
        Valid(GRU_PREALLOC),
        Valid(HOISTED_CELL_TANH),
        # a derivative written on a stored value the analysis knows nothing about
        Valid(STATES_AS_ARGUMENTS),
        Valid(LSTM_PREPENDED),
        Valid(MINCHAR_RNN),
        Valid(CS231N_STEP),
        # the derivative multiplied in place, as a lone factor
        Valid(swap(LSTM_PREPENDED, "dg = dg * (1 - g[t] ** 2)", "dg *= (1 - g[t] ** 2)")),
        # a derivative computed by a method the analysis cannot read, named as one
        Valid(
            swap(
                swap(
                    MINCHAR_RNN,
                    "dhraw = (1 - hs[t] * hs[t]) * dh",
                    "dhraw = cell.dtanh(hs[t]) * dh",
                ),
                "Why, bh, by):",
                "Why, bh, by, cell):",
            )
        ),
        # derivatives written on the activation recomputed from the weights, whatever the
        # analysis knows of its argument
        Valid(
            swap(
                MINCHAR_RNN,
                "dhraw = (1 - hs[t] * hs[t]) * dh",
                "a = Wxh @ xs[t] + Whh @ hs[t - 1] + bh\n"
                "        dhraw = dh * (1 - np.tanh(a) * np.tanh(a))",
            )
        ),
        Valid(
            swap(
                LSTM_PREPENDED,
                "df = df * f[t] * (1 - f[t])",
                "df = df * sigmoid(Wf @ zs[t] + bf) * (1 - sigmoid(Wf @ zs[t] + bf))",
            )
        ),
        Valid(
            swap(
                LSTM_PREPENDED,
                "dg = dg * (1 - g[t] ** 2)",
                "dg = dg * (1 - np.tanh(Wg @ zs[t] + bg) ** 2)",
            )
        ),
    ]
    invalid = [
        # a GRU's reset gate, its derivative left out, in two styles
        Invalid(
            swap(
                swap(GRU_DICT, "dr_raw = dr * r[t] * (1 - r[t])", "dr_raw = dr"),
                'grads["Wr"] += dr_raw @ x[t].T',
                'grads["Wr"] += dr_raw @ x[t].T  # bug',
            ),
            fixed=swap(
                GRU_DICT, 'grads["Wr"] += dr_raw @ x[t].T', 'grads["Wr"] += dr_raw @ x[t].T  # bug'
            ),
        ),
        Invalid(
            swap(
                swap(GRU_PREALLOC, "dr = back * h[t] * r[t] * (1 - r[t])", "dr = back * h[t]"),
                'dW["r"] += np.outer(dr, xs[t])',
                'dW["r"] += np.outer(dr, xs[t])  # bug',
            ),
            fixed=swap(
                GRU_PREALLOC,
                'dW["r"] += np.outer(dr, xs[t])',
                'dW["r"] += np.outer(dr, xs[t])  # bug',
            ),
        ),
        # every gate's weights updated in one loop over (name, gradient) pairs: the loop's
        # variable stands for each gradient in turn
        Invalid(
            swap(
                swap(
                    GATE_LOOP,
                    "do = dh * tc * self.gate_o[t] * (1 - self.gate_o[t])",
                    "do = dh * tc",
                ),
                'grads["W" + name] += d @ self.stack[t].T',
                'grads["W" + name] += d @ self.stack[t].T  # bug',
            ),
            fixed=swap(
                GATE_LOOP,
                'grads["W" + name] += d @ self.stack[t].T',
                'grads["W" + name] += d @ self.stack[t].T  # bug',
            ),
        ),
        # the same over plain (gradient, name) pairs, the bias summed first
        Invalid(
            swap(
                swap(
                    swap(
                        swap(
                            GATE_LOOP,
                            "do = dh * tc * self.gate_o[t] * (1 - self.gate_o[t])",
                            "do = dh * tc",
                        ),
                        'for name, d in (("f", df), ("i", di), ("g", dg), ("o", do)):',
                        'for d, name in [(df, "f"), (di, "i"), (dg, "g"), (do, "o")]:',
                    ),
                    'grads["b" + name] += d\n',
                    'grads["b" + name] += d  # bug\n',
                ),
                '                grads["W" + name] += d @ self.stack[t].T\n',
                "",
            ),
            fixed=swap(
                swap(
                    swap(
                        GATE_LOOP,
                        'for name, d in (("f", df), ("i", di), ("g", dg), ("o", do)):',
                        'for d, name in [(df, "f"), (di, "i"), (dg, "g"), (do, "o")]:',
                    ),
                    'grads["b" + name] += d\n',
                    'grads["b" + name] += d  # bug\n',
                ),
                '                grads["W" + name] += d @ self.stack[t].T\n',
                "",
            ),
        ),
        # the cell's tanh computed once in the forward and cached: `dh * tanh_c` is the output
        # gate's partner as `dh * np.tanh(c)` is
        Invalid(
            swap(
                swap(HOISTED_CELL_TANH, "do * o * (1 - o), dg", "do, dg"),
                "dx = da @ Wx.T",
                "dx = da @ Wx.T  # bug",
            ),
            fixed=swap(HOISTED_CELL_TANH, "dx = da @ Wx.T", "dx = da @ Wx.T  # bug"),
        ),
        Invalid(
            swap(
                swap(LSTM_PREPENDED, "        df = df * f[t] * (1 - f[t])\n", ""),
                "dWf += df @ zs[t].T",
                "dWf += df @ zs[t].T  # bug",
            ),
            fixed=swap(
                swap(
                    LSTM_PREPENDED,
                    "        df = dC * C_prev\n        df = df * f[t] * (1 - f[t])\n",
                    "        df = dC * C_prev * f[t] * (1 - f[t])\n",
                ),
                "dWf += df @ zs[t].T",
                "dWf += df @ zs[t].T  # bug",
            ),
        ),
        Invalid(
            swap(
                swap(MINCHAR_RNN, "dhraw = (1 - hs[t] * hs[t]) * dh", "dhraw = dh"),
                "dbh += dhraw",
                "dbh += dhraw  # bug",
            ),
            fixed=swap(
                swap(
                    MINCHAR_RNN, "dhraw = (1 - hs[t] * hs[t]) * dh", "dhraw = dh * (1 - hs[t]**2)"
                ),
                "dbh += dhraw",
                "dbh += dhraw  # bug",
            ),
        ),
        # the output gate's branch: `dh * tanh(c)` is its partner, not a derivative
        Invalid(
            swap(
                swap(
                    LSTM_PREPENDED,
                    "do = dh * np.tanh(C[t + 1]) * o[t] * (1 - o[t])",
                    "do = dh * np.tanh(C[t + 1])",
                ),
                "dWo += do @ zs[t].T",
                "dWo += do @ zs[t].T  # bug",
            ),
            fixed=swap(LSTM_PREPENDED, "dWo += do @ zs[t].T", "dWo += do @ zs[t].T  # bug"),
        ),
        # stacked gate gradients: only the part on the gate's branch gets the factor
        Invalid(
            swap(
                swap(CS231N_STEP, "df * f * (1 - f), do", "df, do"),
                "dx = da @ Wx.T",
                "dx = da @ Wx.T  # bug",
            ),
            fixed=swap(CS231N_STEP, "dx = da @ Wx.T", "dx = da @ Wx.T  # bug"),
        ),
        # the factor is applied into another variable that this read forgot to use: the fix is
        # that variable, not a second factor on `df`, so no automatic fix is offered
        Invalid(
            swap(
                swap(
                    swap(
                        LSTM_PREPENDED,
                        "        df = df * f[t] * (1 - f[t])\n",
                        "        da_f = df * f[t] * (1 - f[t])\n",
                    ),
                    "dbf += df",
                    "dbf += da_f",
                ),
                "dWf += df @ zs[t].T",
                "dWf += df @ zs[t].T  # bug",
            ),
        ),
    ]

    def check(self, model) -> Iterator[Report]:
        for use in branch_uses(model):
            if use.own is not None:
                continue  # the gate's own value where its derivative belongs: LST202's
            gate = GATES.get(use.gate, "hidden state")
            yield Report(
                use.node,
                f"`{use.name}` is on the {gate}'s branch but was never multiplied by its derivative "
                f"before it is used here",
                f"multiply `{use.name}` by `{DERIVATIVES.get(use.gate, 'the derivative')}` first",
                experiment_facts(constant_spec(model, use.gate, "ones", read_only=True)),
                branch_edits(model, use),
            )
