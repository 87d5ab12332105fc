from collections.abc import Iterator

from lstmlint.analysis.names import code_of
from lstmlint.analysis.training import (
    divided_losses,
    loss_spec,
    mean_losses,
    sum_edits,
    undivided_edits,
)
from lstmlint.diagnostics import Severity
from lstmlint.rule import Invalid, Report, Rule, Valid, experiment_facts

from ._programs import LSTM_PREPENDED, MINCHAR_RNN, STATES_AS_ARGUMENTS, swap

DIVIDED_TERM = "loss += -np.log(ps[t][targets[t], 0] + 1e-12)"

# The loss is computed in the backward from the forward's outputs, handed in as an argument:
# only the pairing of the log of `outputs[t]` with the seed made from `outputs[t]` says they
# are probabilities.
ARGUMENT_TERM = "loss += -np.sum(np.log(outputs[t] + 1e-9) * targets[t])"


class LossGradientScaleMismatch(Rule):
    code = "LST301"
    name = "loss-gradient-scale-mismatch"
    summary = "The loss is scaled differently from what the backward differentiates (-mean(log(y) * onehot) vs y - onehot)."
    severity = Severity.WARNING
    doc = """
What it finds
    A cross-entropy written as ``-np.mean(np.log(y) * onehot)``: the mean runs over the
    vocabulary, so the loss is the true cross-entropy divided by the vocabulary size, while the
    backward seeds the gradient with ``dy = y - onehot`` (the gradient of the SUM), unscaled.

Why it breaks training
    The reported loss and the gradient disagree by a constant factor: a gradient check fails
    on every parameter, and loss curves and learning-rate choices are off by that factor.

Example
    loss += -np.mean(np.log(outputs[t]) * targets[t])
    dv = np.copy(outputs[t]); dv[np.argmax(targets[t])] -= 1

Fix
    loss += -np.sum(targets[t] * np.log(outputs[t] + 1e-12))

It also finds a cross-entropy term divided by a size (``-np.sum(onehot * np.log(y)) / N``,
    the vocabulary, the steps or the batch) in a function whose backward seeds the undivided
    ``y - onehot`` and divides nothing else by that size. ``y`` is known as probabilities from
    the softmax that made it, or, for outputs handed in as an argument, because the same
    function takes the log of ``y`` and seeds its gradient as ``y - onehot`` (also
    ``d = y.copy(); d -= onehot``): that pairing is the softmax cross-entropy's.

Autofix
    Yes: only ``mean`` becomes ``sum`` (``np.mean`` -> ``np.sum``, ``x.mean()`` -> ``x.sum()``),
    so the epsilon fix of LST302 in the same expression applies alongside. None for a mean
    with an axis or other arguments (it may average over a batch on purpose). A divided term loses its division.
"""
    valid = [
        Valid(LSTM_PREPENDED),
        # the loss and its seed divided alike; the log of something the seed is not made from
        Valid(
            swap(
                swap(STATES_AS_ARGUMENTS, ARGUMENT_TERM, ARGUMENT_TERM + " / len(targets[t])"),
                "        d_o[np.argmax(targets[t])] -= 1\n",
                "        d_o[np.argmax(targets[t])] -= 1\n        d_o /= len(targets[t])\n",
            )
        ),
        Valid(
            swap(
                STATES_AS_ARGUMENTS,
                ARGUMENT_TERM,
                "loss += -np.sum(np.log(np.exp(-outputs[t]) + 1e-9) * targets[t]) / len(targets[t])",
            )
        ),
        Valid(MINCHAR_RNN),
        # the loss and every gradient divided by the same size
        Valid(
            swap(
                swap(MINCHAR_RNN, DIVIDED_TERM, DIVIDED_TERM + " / len(inputs)"),
                "        np.clip(dparam, -5, 5, out=dparam)",
                "        dparam /= len(inputs)\n        np.clip(dparam, -5, 5, out=dparam)",
            )
        ),
    ]
    invalid = [
        Invalid(
            swap(STATES_AS_ARGUMENTS, ARGUMENT_TERM, ARGUMENT_TERM + " / len(targets[t])  # bug"),
            fixed=swap(STATES_AS_ARGUMENTS, ARGUMENT_TERM, ARGUMENT_TERM + "  # bug"),
        ),
        # a cross-entropy term divided by the steps, the gradient seeded as y - onehot
        Invalid(
            swap(MINCHAR_RNN, DIVIDED_TERM, DIVIDED_TERM + " / len(inputs)  # bug"),
            fixed=swap(MINCHAR_RNN, DIVIDED_TERM, DIVIDED_TERM + "  # bug"),
        ),
        Invalid(
            swap(
                LSTM_PREPENDED,
                "loss += -np.sum(targets[t] * np.log(ys[t] + 1e-12))",
                "loss += -np.mean(np.log(ys[t] + 1e-12) * targets[t])  # bug",
            ),
            fixed=swap(
                LSTM_PREPENDED,
                "loss += -np.sum(targets[t] * np.log(ys[t] + 1e-12))",
                "loss += -np.sum(np.log(ys[t] + 1e-12) * targets[t])  # bug",
            ),
        ),
    ]

    def check(self, model) -> Iterator[Report]:
        if not model.is_rnn:
            return
        for call, point, parts in mean_losses(model):
            yield Report(
                call,
                "the loss averages over the vocabulary (-mean(log(y) * onehot)) but the backward uses the "
                "unscaled gradient y - onehot: loss and gradient differ by the vocabulary size",
                "sum instead: `-np.sum(onehot * np.log(y + 1e-12))`",
                experiment_facts(loss_spec(model, call, point, parts)),
                sum_edits(call),
            )
        for division, _ in divided_losses(model):
            divisor = code_of(division.right)
            yield Report(
                division,
                f"the loss is divided by `{divisor}` but the backward's gradient y - onehot is "
                f"not: loss and gradient differ by that factor",
                f"drop the division (`{code_of(division.left)}`), or divide the gradient by "
                f"`{divisor}` too",
                experiment_facts(None),
                undivided_edits(division),
            )
