from collections.abc import Iterator

from lstmlint.diagnostics import Severity
from lstmlint.rule import Invalid, Report, Rule, Valid

PROGRAM = """
import numpy as np

rng = np.random.default_rng(0)
hidden_size, vocab_size = 6, 5
Wxh = rng.standard_normal((hidden_size, vocab_size)) * 0.1
Whh = rng.standard_normal((hidden_size, hidden_size)) * 0.1
Why = rng.standard_normal((vocab_size, hidden_size)) * 0.1
bh = np.zeros((hidden_size, 1))
by = np.zeros((vocab_size, 1))


def lossFun(inputs, targets, hprev):  # bug
    xs, hs, ps = {}, {}, {}
    hs[-1] = np.copy(hprev)
    loss = 0.0
    for t in range(len(inputs)):
        xs[t] = np.zeros((vocab_size, 1))
        xs[t][inputs[t]] = 1
        hs[t] = np.tanh(Wxh @ xs[t] + Whh @ hs[t - 1] + bh)
        y = Why @ hs[t] + by
        ps[t] = np.exp(y - y.max()) / np.sum(np.exp(y - y.max()))
        loss -= np.log(ps[t][targets[t], 0])
    dWxh, dWhh, dWhy = np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros_like(Why)
    dbh, dby = np.zeros_like(bh), np.zeros_like(by)
    dhnext = np.zeros_like(hprev)
    for t in reversed(range(len(inputs))):
        dy = np.copy(ps[t])
        dy[targets[t]] -= 1
        dWhy += dy @ hs[t].T
        dby += dy
        dh = Why.T @ dy + dhnext
        dhraw = (1 - hs[t] ** 2) * dh
        dbh += dhraw
        dWxh += dhraw @ xs[t].T
        dWhh += HS_PREV_TIMES_DHRAW
        dhnext = Whh.T @ dhraw
    return loss, dWxh, dWhh, dWhy, dbh, dby, hs[len(inputs) - 1]
"""


class UnexplainedGradientError(Rule):
    code = "LST900"
    name = "unexplained-gradient-error"
    summary = "Running your backward shows gradient errors that no rule explains."
    severity = Severity.ERROR
    dynamic = True  # found by running the user's code, not by reading it
    doc = """
What it finds
    Where lstmlint can run your own forward and backward (see "Running your code" in the
    README), it gradient-checks them on tiny random data: each gradient your backward returns
    is compared with central differences of your own loss. When some gradients are still
    wrong after every fix lstmlint knows has been applied, and no single edit the repair
    search tries (LST901) makes them exact, the backward gets this finding,
    with the parameters whose gradients are wrong and how wrong (the maximum relative error
    over the checked entries).

Why it breaks training
    A wrong gradient is a wrong direction of descent: training stalls, diverges or settles at a
    poor loss, and nothing crashes. Bugs no rule knows are caught this way too: a missing or
    extra transpose, a stale variable from the previous step, a term left out of a sum.

Example
    ``dWhh += dhraw @ hs[t - 1].T + 0.5 * Whh`` has the right shape but adds a weight decay
    term the loss does not have (far larger than any decay rate in use, so it is not read as
    one); the check reports ``dWhh``. (A bug one
    edit of a known kind repairs, such as a transpose or a factor of 2, is reported as LST901
    at its line instead.)

Fix
    Check the listed gradients against the forward equations, term by term;
    ``lstmlint.gradcheck.gradcheck`` on your own functions shows the worst entries. There is
    no automatic fix.
"""
    invalid = [Invalid(PROGRAM.replace("HS_PREV_TIMES_DHRAW", "dhraw @ hs[t - 1].T + 0.5 * Whh"))]
    valid = [Valid(PROGRAM.replace("HS_PREV_TIMES_DHRAW", "dhraw @ hs[t - 1].T"))]

    def check(self, model) -> Iterator[Report]:
        return iter(())
