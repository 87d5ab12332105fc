from collections.abc import Iterator

from lstmlint.analysis.training import softmax_spec, stable_softmax_edits, unstable_softmaxes
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

Autofix
    Yes for a softmax in this file: every ``exp`` of the same logits in it (numerator and
    denominator) gets the maximum subtracted (``np.exp(v)`` -> ``np.exp(v - np.max(v))``), with
    the module's NumPy alias; none when the module has no name for ``numpy.max``. None for a
    helper from another module: the fix belongs in that module (or in a stable helper this
    file does not import yet), and the call is reported until the helper is stable.
"""
    valid = [Valid(LSTM_PREPENDED), Valid(MINCHAR_RNN)]
    invalid = [
        Invalid(
            swap(
                MINCHAR_RNN,
                "ps[t] = np.exp(ys[t] - np.max(ys[t])) / np.sum(np.exp(ys[t] - np.max(ys[t])))",
                "ps[t] = np.exp(ys[t]) / np.sum(np.exp(ys[t]))  # bug",
            ),
            fixed=swap(
                MINCHAR_RNN,
                "ps[t] = np.exp(ys[t] - np.max(ys[t])) / np.sum(np.exp(ys[t] - np.max(ys[t])))",
                "ps[t] = np.exp(ys[t] - np.max(ys[t])) / np.sum(np.exp(ys[t] - np.max(ys[t])))  # bug",
            ),
        ),
        Invalid(
            swap(LSTM_PREPENDED, "    e = np.exp(v - np.max(v))\n", "    e = np.exp(v)  # bug\n"),
            fixed=swap(
                LSTM_PREPENDED,
                "    e = np.exp(v - np.max(v))\n",
                "    e = np.exp(v - np.max(v))  # bug\n",
            ),
        ),
    ]

    def check(self, model) -> Iterator[Report]:
        if not model.is_rnn:
            return
        edits = stable_softmax_edits(model)
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
                edits.get(id(node), []),
            )
