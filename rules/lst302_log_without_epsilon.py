from collections.abc import Iterator

from lstmlint.analysis.experiments import probe_spec
from lstmlint.analysis.names import code_of
from lstmlint.analysis.training import epsilon_edits, unsafe_logs
from lstmlint.diagnostics import Severity
from lstmlint.rule import Invalid, Report, Rule, Valid, experiment_facts

from ._programs import LSTM_PREPENDED, MINCHAR_RNN, swap

IN_PLACE_SOFTMAX = swap(
    MINCHAR_RNN,
    "        ps[t] = np.exp(ys[t] - np.max(ys[t])) / np.sum(np.exp(ys[t] - np.max(ys[t])))\n",
    "        probs = np.exp(ys[t] - np.max(ys[t]))\n"
    "        probs /= np.sum(probs, axis=0, keepdims=True)\n"
    "        ps[t] = probs\n",
)


class LogWithoutEpsilon(Rule):
    code = "LST302"
    name = "log-without-epsilon"
    summary = "The log of softmax probabilities is taken with no epsilon or clipping."
    severity = Severity.WARNING
    doc = """
What it finds
    ``np.log(p)`` where ``p`` comes from a softmax (a helper recognised by its behaviour, or
    ``exp(v) / sum(exp(v))`` written inline, also as ``p = np.exp(v); p /= p.sum()``), with no ``+ eps``, ``np.clip`` or
    ``np.maximum`` on the way, and a softmax that does not clamp its output itself.

Why it breaks training
    Once a probability underflows to exactly 0 the loss becomes inf and the next update NaN;
    every later step is NaN too. It happens with confident wrong predictions, i.e. exactly
    when the model most needs the gradient.

Example
    loss += -np.log(ps[t][targets[t], 0])

Fix
    loss += -np.log(ps[t][targets[t], 0] + 1e-12)

Autofix
    Yes: only the log's argument changes (``p`` -> ``p + 1e-12``, in parentheses when it is a
    conditional or a comparison).
"""
    valid = [Valid(LSTM_PREPENDED), Valid(MINCHAR_RNN), Valid(IN_PLACE_SOFTMAX)]
    invalid = [
        # normalised in place, as CS231n's temporal softmax loss does
        Invalid(
            swap(
                IN_PLACE_SOFTMAX,
                "loss += -np.log(ps[t][targets[t], 0] + 1e-12)",
                "loss += -np.log(ps[t][targets[t], 0])  # bug",
            ),
            fixed=swap(
                IN_PLACE_SOFTMAX,
                "loss += -np.log(ps[t][targets[t], 0] + 1e-12)",
                "loss += -np.log(ps[t][targets[t], 0] + 1e-12)  # bug",
            ),
        ),
        Invalid(
            swap(
                MINCHAR_RNN,
                "loss += -np.log(ps[t][targets[t], 0] + 1e-12)",
                "loss += -np.log(ps[t][targets[t], 0])  # bug",
            ),
            fixed=swap(
                MINCHAR_RNN,
                "loss += -np.log(ps[t][targets[t], 0] + 1e-12)",
                "loss += -np.log(ps[t][targets[t], 0] + 1e-12)  # bug",
            ),
        ),
        Invalid(
            swap(LSTM_PREPENDED, "np.log(ys[t] + 1e-12))", "np.log(ys[t]))  # bug"),
            fixed=swap(LSTM_PREPENDED, "np.log(ys[t] + 1e-12))", "np.log(ys[t] + 1e-12))  # bug"),
        ),
    ]

    def check(self, model) -> Iterator[Report]:
        if not model.is_rnn:
            return
        for call, point in unsafe_logs(model):
            fix = f"{code_of(call.func)}({code_of(call.args[0].value)} + 1e-12)"
            yield Report(
                call,
                "log of softmax probabilities without an epsilon: a probability of exactly 0 gives inf, then NaN",
                "add a small epsilon (`np.log(p + 1e-12)`) or clip the probabilities",
                experiment_facts(probe_spec(model, point, "log-probe", call, fix)),
                epsilon_edits(call),
            )
