from collections.abc import Iterator

from lstmlint.analysis.training import softmax_spec, unstable_softmaxes
from lstmlint.diagnostics import Severity
from lstmlint.rule import Invalid, Report, Rule, Valid, experiment_facts

from ._programs import LSTM_PREPENDED, MINCHAR_RNN, swap


class UnstableSoftmax(Rule):
    code = "LST303"
    name = "unstable-softmax"
    summary = "A softmax computed without subtracting the maximum logit."
    severity = Severity.WARNING
    doc = """
What it finds
    A softmax written as ``np.exp(v) / np.sum(np.exp(v))`` without subtracting ``np.max(v)``
    first, inline or in a helper. A helper defined in another module (``from utils import
    softmax``) is judged by interpreting its body, and reported where this file calls it.

Why it breaks training
    exp overflows to inf for logits above about 709 (float64), and inf / inf is NaN. Logits
    that large appear as soon as the output weights grow, and the NaN then spreads to every
    parameter.

Example
    ps[t] = np.exp(ys[t]) / np.sum(np.exp(ys[t]))

Fix
    e = np.exp(ys[t] - np.max(ys[t]))
    ps[t] = e / np.sum(e)
"""
    valid = [Valid(LSTM_PREPENDED), Valid(MINCHAR_RNN)]
    invalid = [
        Invalid(
            swap(
                MINCHAR_RNN,
                "ps[t] = np.exp(ys[t] - np.max(ys[t])) / np.sum(np.exp(ys[t] - np.max(ys[t])))",
                "ps[t] = np.exp(ys[t]) / np.sum(np.exp(ys[t]))  # bug",
            )
        ),
        Invalid(
            swap(LSTM_PREPENDED, "    e = np.exp(v - np.max(v))\n", "    e = np.exp(v)  # bug\n")
        ),
    ]

    def check(self, model) -> Iterator[Report]:
        if not model.is_rnn:
            return
        for node, helper in unstable_softmaxes(model):
            if helper == "inline":
                message = "softmax without subtracting the maximum: exp overflows to inf for large logits, giving NaN"
            else:
                message = f"`{helper}` (defined in another module) does not subtract the maximum logit: it overflows to NaN for large logits"
            yield Report(
                node,
                message,
                "subtract the maximum first: `e = np.exp(v - np.max(v)); e / e.sum()`",
                experiment_facts(softmax_spec(model, node, helper)),
            )
