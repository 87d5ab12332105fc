from collections.abc import Iterator

from lstmlint.analysis.training import zero_forget_inits
from lstmlint.diagnostics import Severity
from lstmlint.rule import Invalid, Report, Rule, Valid

from ._programs import LSTM_PREPENDED

INIT = """
def init(hidden, vocab):
    z = hidden + vocab
    Wf, Wi, Wg, Wo = (np.random.randn(hidden, z) * 0.1 for _ in range(4))
    Wy = np.random.randn(vocab, hidden) * 0.1
    bf = np.ones((hidden, 1))
    bi, bg, bo = np.zeros((hidden, 1)), np.zeros((hidden, 1)), np.zeros((hidden, 1))
    by = np.zeros((vocab, 1))
    return Wf, Wi, Wg, Wo, Wy, bf, bi, bg, bo, by
"""


class ForgetBiasZero(Rule):
    code = "LST401"
    name = "forget-bias-zero"
    summary = "The forget-gate bias is initialised to zero (advice: start it near 1)."
    severity = Severity.INFO
    doc = """
What it finds
    The initialisation of the bias that feeds the forget gate (found from the forward pass:
    the bias inside ``f = sigmoid(W_f z + b_f)``, or the forget slice of a stacked 4H bias) set
    to zeros, with no later assignment of a positive value to the forget slice.

Why it matters
    With b_f = 0 the forget gate starts at 0.5, halving the cell state at every step, so early
    in training gradients vanish over long sequences. Starting b_f at 1.0 keeps memory
    (Gers et al. 2000; Jozefowicz et al. 2015). Advice only: it is not a gradient bug.

Example
    b_f = np.zeros((hidden_size, 1))

Fix
    b_f = np.ones((hidden_size, 1))

Autofix
    None: it is advice, and the value to start at (1.0, or more) is a choice.
"""
    valid = [Valid(LSTM_PREPENDED + INIT)]
    invalid = [
        Invalid(
            LSTM_PREPENDED
            + INIT.replace(
                "    bf = np.ones((hidden, 1))\n", "    bf = np.zeros((hidden, 1))  # bug\n"
            )
        )
    ]

    def check(self, model) -> Iterator[Report]:
        if not model.is_rnn:
            return
        for node in zero_forget_inits(model):
            yield Report(
                node,
                "the forget-gate bias starts at zero, so the gate starts half closed and memory fades early in training",
                "initialise it to ones (about 1.0)",
            )
