from collections.abc import Iterator

from lstmlint.analysis.accumulators import random_starts
from lstmlint.rule import Invalid, Report, Rule, Valid, experiment_facts

from ._programs import CLASS_ACCUMULATORS, MINCHAR_RNN, swap


class RandomGradientStart(Rule):
    code = "LST210"
    name = "random-gradient-start"
    summary = "A gradient accumulator starts from random values (`dW = 0.1 * np.random.randn(...)`), not zeros."
    doc = """
What it finds
    A gradient that a backward loop sums into (``dWf += ...``, ``self.dWf += ...``) whose every
    assignment in the file is a random draw: ``self.dWf = 0.1 * np.random.randn(n, n)``, most
    often the weight's initialisation copied for its gradient. An accumulator set to zeros
    anywhere (``dW = np.zeros_like(W)`` before the loop) is not reported, nor is noise added
    on purpose (``dW += noise``).

Why it breaks training
    The sum starts from the draw, so the gradient handed to the update is the true gradient
    plus a random matrix: the weights take a random step every update, and a gradient check
    fails by the size of the draw.

Example
    self.dWf = 0.1 * np.random.randn(n_neurons, n_neurons)
    ...
    for t in reversed(range(T)):
        self.dWf += np.dot(dsigmf, H[t].T)

Fix
    self.dWf = np.zeros((n_neurons, n_neurons))

Autofix
    Yes, where the draw gives its shape plainly (``randn``/``rand`` with sizes): the value
    becomes zeros of that shape, with the module's NumPy alias.
"""
    valid = [
        Valid(MINCHAR_RNN),
        Valid(CLASS_ACCUMULATORS),
        # drawn at first, but set to zeros before each backward sums into it
        Valid(
            swap(
                swap(
                    CLASS_ACCUMULATORS,
                    "self.dWh = np.zeros((n_hidden, n_hidden))",
                    "self.dWh = 0.1 * np.random.randn(n_hidden, n_hidden)",
                ),
                "    def backward(self, dh):\n",
                "    def backward(self, dh):\n        self.dWh = np.zeros_like(self.Wh)\n",
            )
        ),
    ]
    invalid = [
        Invalid(
            swap(
                MINCHAR_RNN,
                "dbh, dby = np.zeros_like(bh), np.zeros_like(by)",
                "dbh, dby = np.random.randn(*bh.shape), np.zeros_like(by)  # bug",
            ),
            fixed=swap(
                MINCHAR_RNN,
                "dbh, dby = np.zeros_like(bh), np.zeros_like(by)",
                "dbh, dby = np.zeros(bh.shape), np.zeros_like(by)  # bug",
            ),
        ),
        Invalid(
            swap(
                CLASS_ACCUMULATORS,
                "self.dWh = np.zeros((n_hidden, n_hidden))",
                "self.dWh = 0.1 * np.random.randn(n_hidden, n_hidden)  # bug",
            ),
            fixed=swap(
                CLASS_ACCUMULATORS,
                "self.dWh = np.zeros((n_hidden, n_hidden))",
                "self.dWh = np.zeros((n_hidden, n_hidden))  # bug",
            ),
        ),
    ]

    def check(self, model) -> Iterator[Report]:
        if not model.region_points:
            return
        for start in random_starts(model):
            fix = start.zeros
            yield Report(
                start.value,
                f"`{start.key}` starts from a random draw, and the backward adds each step's "
                "gradient to it: the gradient it hands on is the true one plus that draw",
                f"start it from zeros: `{fix}`" if fix else "start it from zeros",
                experiment_facts(
                    None,
                    "an accumulator's starting value is read from the code; the check of your "
                    "own code shows what it costs",
                ),
                [(start.value, fix)] if fix else [],
            )
