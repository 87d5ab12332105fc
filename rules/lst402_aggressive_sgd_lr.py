from collections.abc import Iterator

from lstmlint.analysis.training import AGGRESSIVE_LR, aggressive_rates
from lstmlint.diagnostics import Severity
from lstmlint.rule import Invalid, Report, Rule, Valid

from ._programs import LSTM_PREPENDED

TRAIN = """
def update(params, grads, lr=1e-3):
    for p, g in zip(params, grads):
        np.clip(g, -5, 5, out=g)
        p -= lr * g


def train(params, data):
    for inputs, targets in data:
        h, c = np.zeros((4, 1)), np.zeros((4, 1))
        zs, fs, is_, gs, cs, os_, hs, ys = forward(inputs, h, c, params)
        loss, grads = backward(zs, fs, is_, gs, cs, os_, hs, ys, targets, params)
        update(params, grads, lr=1e-2)
"""


OPTIMISER = """

class SGD:
    def step(self, params, grads, lr=1e-2):
        for p, g in zip(params, grads):
            p -= lr * g


def train(params, data):
    optimiser = SGD()
    for inputs, targets in data:
        h, c = np.zeros((4, 1)), np.zeros((4, 1))
        zs, fs, is_, gs, cs, os_, hs, ys = forward(inputs, h, c, params)
        loss, grads = backward(zs, fs, is_, gs, cs, os_, hs, ys, targets, params)
"""


class AggressiveSgdLr(Rule):
    code = "LST402"
    name = "aggressive-sgd-lr"
    summary = f"Plain SGD with a learning rate of {AGGRESSIVE_LR} or more on an RNN (advice)."
    severity = Severity.INFO
    doc = """
What it finds
    A learning rate of 0.1 or more used in a plain SGD step (``p -= lr * g``), written in the
    update, in an assignment, as the default of an update function or at its call site (also
    a method's, ``optimiser.step(params, grads, lr=0.5)``, when one class defines it).
    Adagrad, RMSprop and Adam steps (which divide by a square root) are not reported.

Why it matters
    Recurrent gradients are spiky; raw SGD at 0.1 often overshoots and the loss oscillates or
    explodes. Advice only: start at 1e-2 or use Adam, and keep gradient clipping.

Example
    params = update_parameters(params, grads, lr=1e-1)

Fix
    params = update_parameters(params, grads, lr=1e-2)

Autofix
    None: it is advice; the learning rate to use (or another optimiser) is a choice.
"""
    valid = [
        Valid(LSTM_PREPENDED + TRAIN),
        Valid(LSTM_PREPENDED + OPTIMISER + "    optimiser.step(params, grads)\n"),
    ]
    invalid = [
        Invalid(
            LSTM_PREPENDED
            + TRAIN.replace(
                "update(params, grads, lr=1e-2)", "update(params, grads, lr=1e-1)  # bug"
            )
        ),
        # the update is a method, called on an instance
        Invalid(LSTM_PREPENDED + OPTIMISER + "    optimiser.step(params, grads, lr=0.5)  # bug\n"),
    ]

    def check(self, model) -> Iterator[Report]:
        if not model.is_rnn:
            return
        for node in aggressive_rates(model):
            yield Report(
                node,
                f"plain SGD with a learning rate of {AGGRESSIVE_LR} or more is aggressive for an RNN",
                "start at 1e-2, or use Adam; keep gradient clipping",
            )
