from collections.abc import Iterator

from lstmlint.analysis.names import code_of
from lstmlint.analysis.transposes import transposed_gradients
from lstmlint.rule import Invalid, Report, Rule, Valid, experiment_facts

from ._programs import (
    CS231N_STEP,
    LAYER_OBJECTS,
    LSTM_PREPENDED,
    MINCHAR_RNN,
    NOTEBOOK_CELLS,
    STATES_AS_ARGUMENTS,
    swap,
)
from .lst209_untransposed_weight import TRANSPOSED_STORAGE

_MINCHAR_RECURRENT = "dWhh += dhraw @ hs[t - 1].T"


class TransposedWeightGradient(Rule):
    code = "LST215"
    name = "transposed-weight-gradient"
    summary = "A weight's gradient is computed transposed (`h @ dz.T` for a forward `W @ h`)."
    doc = """
What it finds
    A weight's gradient (``dWh``, ``d_V``, ``self.dWf``) computed as a product of a gradient
    and a value the forward multiplies the weight by (or a history the forward keeps that value
    in), with the two on the wrong sides: the forward computes ``Wh @ h`` and the backward
    ``dWh += h_prev @ dz.T``. The side is read from the forward: for ``W @ h`` the gradient
    comes first (``dz @ h.T``); for rows (``h @ W``) and for a weight used transposed
    (``W.T @ h``) the value comes first (``h.T @ dz``, ``h @ dz.T``). A product transposed as
    a whole (``(h @ dz.T).T``) counts as the other side, and a gradient read transposed
    anywhere in the file (``W -= lr * dW.T``, ``self.dW.T``) is taken as kept transposed on
    purpose and not reported.

Why it breaks training
    The gradient of ``W`` in ``a = W @ h`` is ``da @ h.T``; ``h @ da.T`` is its transpose.
    For a recurrent weight, which is square, it has the right shape, so nothing fails: every
    update moves the weight along the transpose of its gradient, and the loss stalls or
    climbs.

Example
    out = np.dot(self.Wh, h_prev) + np.dot(self.Wx, x)     # forward
    dWh += np.dot(h_prev, dtanh.T)                        # backward

Fix
    dWh += np.dot(dtanh, h_prev.T)

Autofix
    Yes: the operands change places, each with its transpose (``np.dot(h, dz.T)`` ->
    ``np.dot(dz, h.T)``; ``np.outer(h, dz)`` -> ``np.outer(dz, h)``). It changes the
    gradients, so it is applied only where the user's own gradient check verifies it (else
    with ``--unsafe-fixes``).
"""
    valid = [
        Valid(MINCHAR_RNN),
        Valid(CS231N_STEP),
        Valid(NOTEBOOK_CELLS),
        Valid(LAYER_OBJECTS),
        # the forward uses the weight transposed: the value comes first
        Valid(TRANSPOSED_STORAGE),
        # the product transposed as a whole
        Valid(swap(MINCHAR_RNN, _MINCHAR_RECURRENT, "dWhh += (hs[t - 1] @ dhraw.T).T")),
        # a class's gradient kept transposed, and transposed back where the class applies it
        Valid(
            swap(
                swap(
                    LAYER_OBJECTS,
                    "dWf += self.forget[t].dinputs @ z.T",
                    "dWf += z @ self.forget[t].dinputs.T",
                ),
                "        return dWf, dWi, dWo, dWg, dbf, dbi, dbo, dbg\n",
                "        self.dWf = dWf\n        return dWf, dWi, dWo, dWg, dbf, dbi, dbo, dbg\n\n"
                "    def step(self, lr):\n        self.Wf -= lr * self.dWf.T\n",
            )
        ),
        # a gradient mapped through a matrix that is not what the forward multiplies by
        Valid(
            swap(
                MINCHAR_RNN,
                _MINCHAR_RECURRENT,
                "keep = np.eye(Whh.shape[0])\n        dstep = dhraw @ hs[t - 1].T\n"
                "        dWhh += keep @ dstep",
            )
        ),
        # kept transposed, and transposed back where it is handed on
        Valid(
            swap(
                swap(MINCHAR_RNN, _MINCHAR_RECURRENT, "dWhh += hs[t - 1] @ dhraw.T"),
                "return loss, dWxh, dWhh, dWhy",
                "return loss, dWxh, dWhh.T, dWhy",
            )
        ),
    ]
    invalid = [
        Invalid(
            swap(MINCHAR_RNN, _MINCHAR_RECURRENT, "dWhh += hs[t - 1] @ dhraw.T  # bug"),
            fixed=swap(MINCHAR_RNN, _MINCHAR_RECURRENT, "dWhh += dhraw @ hs[t - 1].T  # bug"),
        ),
        # rows: the forward's `prev_h @ Wh` wants `prev_h.T @ da`
        Invalid(
            swap(CS231N_STEP, "dWh = prev_h.T @ da", "dWh = da.T @ prev_h  # bug"),
            fixed=swap(CS231N_STEP, "dWh = prev_h.T @ da", "dWh = prev_h.T @ da  # bug"),
        ),
        Invalid(
            swap(NOTEBOOK_CELLS, "dWaa = dtanh @ a_prev.T", "dWaa = a_prev @ dtanh.T  # bug"),
            fixed=swap(NOTEBOOK_CELLS, "dWaa = dtanh @ a_prev.T", "dWaa = dtanh @ a_prev.T  # bug"),
        ),
        # an input weight, in a program that hands its states in as arguments
        Invalid(
            swap(
                STATES_AS_ARGUMENTS,
                "d_U += d_f @ inputs[t].T",
                "d_U += np.outer(inputs[t], d_f)  # bug",
            ),
            fixed=swap(
                STATES_AS_ARGUMENTS,
                "d_U += d_f @ inputs[t].T",
                "d_U += np.outer(d_f, inputs[t])  # bug",
            ),
        ),
        # the value from a history the forward appends its operand to
        Invalid(
            swap(LSTM_PREPENDED, "dWf += df @ zs[t].T", "dWf += zs[t] @ df.T  # bug"),
            fixed=swap(LSTM_PREPENDED, "dWf += df @ zs[t].T", "dWf += df @ zs[t].T  # bug"),
        ),
        # the previous state under a name the forward never uses
        Invalid(
            swap(
                MINCHAR_RNN,
                _MINCHAR_RECURRENT,
                "h_before = hs[t - 1]\n        dWhh += h_before @ dhraw.T  # bug",
            ),
            fixed=swap(
                MINCHAR_RNN,
                _MINCHAR_RECURRENT,
                "h_before = hs[t - 1]\n        dWhh += dhraw @ h_before.T  # bug",
            ),
        ),
        # activation layer objects: the gate's delta is the layer's `dinputs`
        Invalid(
            swap(
                LAYER_OBJECTS,
                "dWf += self.forget[t].dinputs @ z.T",
                "dWf += z @ self.forget[t].dinputs.T  # bug",
            ),
            fixed=swap(
                LAYER_OBJECTS,
                "dWf += self.forget[t].dinputs @ z.T",
                "dWf += self.forget[t].dinputs @ z.T  # bug",
            ),
        ),
    ]

    def check(self, model) -> Iterator[Report]:
        if not model.region_points:
            return
        for found in transposed_gradients(model):
            (_, new_left), (_, new_right) = found.edits
            yield Report(
                found.product,
                f"`{code_of(found.product)}` is the transpose of `d{found.weight}`: for the "
                f"forward's product of `{found.weight}`, its gradient is "
                f"`{new_left}` times `{new_right}` in that order",
                "swap the operands, each with its transpose",
                experiment_facts(
                    None,
                    "the side each operand belongs on is read from the forward's products; "
                    "the check of your own code shows what the transpose costs",
                ),
                found.edits,
            )
