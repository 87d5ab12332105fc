from collections.abc import Iterator

from lstmlint.analysis.training import first_update, has_clipping
from lstmlint.diagnostics import Severity
from lstmlint.rule import Invalid, Report, Rule, Valid

from ._programs import LSTM_PREPENDED

TRAIN = """
def train(params, data, lr=1e-2):
    for inputs, targets in data:
        h, c = np.zeros((4, 1)), np.zeros((4, 1))
        zs, fs, is_, gs, cs, os_, hs, ys = forward(inputs, h, c, params)
        loss, grads = backward(zs, fs, is_, gs, cs, os_, hs, ys, targets, params)
        for p, g in zip(params, grads):
            np.clip(g, -5, 5, out=g)
            p -= lr * g
"""


class NoGradientClipping(Rule):
    code = "LST404"
    name = "no-gradient-clipping"
    summary = "An RNN training loop updates parameters without any gradient clipping (advice)."
    severity = Severity.INFO
    doc = """
What it finds
    A file with recurrent code whose parameter updates (``p -= lr * g``, Adagrad, or a call of
    an update function) are not accompanied by any gradient clipping: no ``np.clip``, no
    ``clip_*`` function, no norm computation anywhere in the file.

Why it matters
    BPTT gradients can explode over long sequences; one huge step throws the parameters far
    away and training never recovers. Advice only: clip by value or by global norm.

Example
    p -= lr * g

Fix
    np.clip(g, -5, 5, out=g)
    p -= lr * g

Autofix
    None: it is advice; where to clip and by how much (by value, by norm) is a choice.
"""
    valid = [Valid(LSTM_PREPENDED + TRAIN)]
    invalid = [
        Invalid(
            LSTM_PREPENDED
            + TRAIN.replace("            np.clip(g, -5, 5, out=g)\n", "").replace(
                "p -= lr * g", "p -= lr * g  # bug"
            )
        )
    ]

    def check(self, model) -> Iterator[Report]:
        if not model.is_rnn or has_clipping(model):
            return
        node = first_update(model)
        if node is not None:
            yield Report(
                node,
                "parameters are updated without any gradient clipping",
                "clip the gradients first, e.g. `np.clip(g, -5, 5, out=g)`",
            )
