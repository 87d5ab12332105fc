from collections.abc import Iterator

from lstmlint.analysis.unaccumulated import bias_edits, unaccumulated
from lstmlint.rule import Invalid, Report, Rule, Valid, experiment_facts

from ._programs import CLASS_ACCUMULATORS, MINCHAR_FROM_END, MINCHAR_RNN, swap

# the class's own update reads both gradients
CLASS_UPDATES = CLASS_ACCUMULATORS + (
    "\n    def step(self, lr):\n"
    "        self.Wx -= lr * self.dWx\n"
    "        self.Wh -= lr * self.dWh\n"
)


_MINCHAR_NO_DBH = swap(
    swap(
        MINCHAR_RNN,
        "    dbh, dby = np.zeros_like(bh), np.zeros_like(by)\n",
        "    dbh, dby = np.zeros_like(bh), np.zeros_like(by)  # bug\n",
    ),
    "        dbh += dhraw\n",
    "",
)
_FROM_END_NO_DBY = swap(
    swap(
        MINCHAR_FROM_END,
        "    dbh, dby = np.zeros_like(bh), np.zeros_like(by)\n",
        "    dbh, dby = np.zeros_like(bh), np.zeros_like(by)  # bug\n",
    ),
    "        dby += dy\n",
    "",
)

# rows: the forward's `x @ Wx + h @ Wh + b` sums the bias's share over the batch's rows
ROWS_NO_DB = """
import numpy as np


def rnn_backward(xs, hs, h0, dhs, Wx, Wh, b):
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)  # bug
    dh_next = np.zeros_like(h0)
    for t in reversed(range(len(xs))):
        h_prev = hs[t - 1] if t > 0 else h0
        da = (dhs[t] + dh_next) * (1 - hs[t] ** 2)
        dWx += xs[t].T @ da
        dWh += h_prev.T @ da
        dh_next = da @ Wh.T
    return dWx, dWh, db


def rnn_forward(xs, h0, Wx, Wh, b):
    hs = []
    h = h0
    for x in xs:
        h = np.tanh(x @ Wx + h @ Wh + b)
        hs.append(h)
    return hs
"""


class UnaccumulatedGradient(Rule):
    code = "LST213"
    name = "unaccumulated-gradient"
    summary = "A parameter's gradient is set to zero and nothing ever adds to it, while the others are summed."
    doc = """
What it finds
    A gradient set to zero (``dbh = np.zeros_like(bh)``, ``self.dby = np.zeros_like(self.by)``)
    in backward code that sums the other gradients step by step (``dWxh += ...``), which is
    then only read (returned, clipped, handed to the update) and never written again, for a
    parameter the forward pass uses. A gradient handed nowhere (a backward not finished yet)
    is not reported. For a local name the function is searched, for an
    attribute of ``self`` the whole class. Anything that may write into the array keeps the
    rule silent: an augmented assignment, a store into a slice, a call of one of the file's
    functions or an array method with it, NumPy's ``out=`` (except clipping), a list or dict
    that holds it under another name.

Why it breaks training
    The update receives a gradient of zero for that parameter at every step: it never moves
    from its initial value, though the loss depends on it. Nothing fails and the loss still
    falls a little through the other parameters, so the bias (most often) is simply never
    learned.

Example
    dbh, dby = np.zeros_like(bh), np.zeros_like(by)
    for t in reversed(range(len(inputs))):
        ...
        dby += dy
        dWxh += np.dot(dhraw, xs[t].T)    # dbh += dhraw is missing
    return loss, dWxh, dWhh, dWhy, dbh, dby

Fix
    Add the parameter's share of each step where the other gradients are summed, e.g.
    ``dbh += dhraw`` beside ``dWxh += np.dot(dhraw, xs[t].T)``.

Autofix
    For a bias the forward adds beside a weight's product (``W @ h + b``): its sum goes after
    that weight's, with the weight's delta summed over the batch (``dWhy += dy @ h.T`` gets
    ``dby += np.sum(dy, axis=1, keepdims=True)``; rows, ``h.T @ dz``, get
    ``np.sum(dz, axis=0)``; ``np.outer(d, h)`` gets ``d``). It changes the gradients, so it is
    applied only where the user's own gradient check verifies it (else with
    ``--unsafe-fixes``). Otherwise none: what another parameter's share of a step is depends
    on where the forward uses it.
"""
    valid = [
        Valid(MINCHAR_RNN),
        Valid(CLASS_UPDATES),
        # an initial state's gradient is handed back, not a parameter's
        Valid(
            swap(
                swap(
                    MINCHAR_RNN,
                    "    dhnext = np.zeros_like(hs[0])\n",
                    "    dhnext = np.zeros_like(hs[0])\n    dhprev = np.zeros_like(hprev)\n",
                ),
                "hs[len(inputs) - 1]\n",
                "hs[len(inputs) - 1], dhprev\n",
            )
        ),
        # summed through a loop over the gradients, or by NumPy into it
        Valid(
            swap(
                MINCHAR_RNN,
                "        dbh += dhraw\n",
                "        for total in [dbh]:\n            total += dhraw\n",
            )
        ),
        Valid(swap(MINCHAR_RNN, "        dbh += dhraw\n", "        np.add(dbh, dhraw, out=dbh)\n")),
        # a function that only hands out zeroed gradients, summed by its caller
        Valid(
            swap(
                MINCHAR_RNN,
                "def loss_fun(",
                "def zero_grads(Wxh, Whh, Why, bh, by):\n"
                "    dbh, dby = np.zeros_like(bh), np.zeros_like(by)\n"
                "    return np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros_like(Why), dbh, dby\n"
                "\n\n"
                "def loss_fun(",
            )
        ),
        # a backward not finished yet: the gradient is handed nowhere
        Valid(
            swap(
                swap(
                    swap(MINCHAR_RNN, "        dbh += dhraw\n", ""),
                    "    for dparam in [dWxh, dWhh, dWhy, dbh, dby]:",
                    "    for dparam in [dWxh, dWhh, dWhy, dby]:",
                ),
                "return loss, dWxh, dWhh, dWhy, dbh, dby,",
                "return loss, dWxh, dWhh, dWhy, dby,",
            )
        ),
        # a bias the forward pass never reads
        Valid(
            swap(
                swap(
                    CLASS_UPDATES,
                    "        self.dWh = np.zeros((n_hidden, n_hidden))\n",
                    "        self.dWh = np.zeros((n_hidden, n_hidden))\n"
                    "        self.b = np.zeros((n_hidden, 1))\n"
                    "        self.db = np.zeros((n_hidden, 1))\n",
                ),
                "        self.Wh -= lr * self.dWh\n",
                "        self.Wh -= lr * self.dWh\n        self.b -= lr * self.db\n",
            )
        ),
        # filled in place by a function of the file's
        Valid(
            swap(
                swap(MINCHAR_RNN, "        dbh += dhraw\n", "        add_into(dbh, dhraw)\n"),
                "def loss_fun(",
                "def add_into(total, part):\n    total += part\n\n\ndef loss_fun(",
            )
        ),
        # summed under another name that holds the same array
        Valid(
            swap(
                swap(
                    MINCHAR_RNN,
                    "    dhnext = np.zeros_like(hs[0])\n",
                    "    dhnext = np.zeros_like(hs[0])\n    sums = [dbh]\n",
                ),
                "        dbh += dhraw\n",
                "        sums[0] += dhraw\n",
            )
        ),
    ]
    invalid = [
        # a bias: its sum is added after its weight's, with the weight's delta
        Invalid(
            _MINCHAR_NO_DBH,
            fixed=swap(
                _MINCHAR_NO_DBH,
                "        dWxh += dhraw @ xs[t].T\n",
                "        dWxh += dhraw @ xs[t].T\n"
                "        dbh += np.sum(dhraw, axis=1, keepdims=True)\n",
            ),
        ),
        Invalid(
            swap(
                swap(
                    CLASS_UPDATES,
                    "        self.dWh = np.zeros((n_hidden, n_hidden))\n",
                    "        self.dWh = np.zeros((n_hidden, n_hidden))  # bug\n",
                ),
                "            self.dWh += dz @ self.hs[t].T\n",
                "",
            )
        ),
        Invalid(
            ROWS_NO_DB,
            fixed=swap(
                ROWS_NO_DB,
                "        dWx += xs[t].T @ da\n",
                "        dWx += xs[t].T @ da\n        db += np.sum(da, axis=0)\n",
            ),
        ),
        # a loop that counts up and indexes from the end
        Invalid(
            _FROM_END_NO_DBY,
            fixed=swap(
                _FROM_END_NO_DBY,
                "        dWhy += dy @ hs[T - i - 1].T\n",
                "        dWhy += dy @ hs[T - i - 1].T\n"
                "        dby += np.sum(dy, axis=1, keepdims=True)\n",
            ),
        ),
    ]

    def check(self, model) -> Iterator[Report]:
        for found in unaccumulated(model):
            yield Report(
                found.node,
                f"`{found.gradient}` is set to zero here and nothing ever adds to it, while the "
                f"other gradients are summed: the gradient of `{found.parameter}` is always "
                "zero, though the forward pass uses it",
                f"add `{found.parameter}`'s share of each step where the other gradients are summed",
                experiment_facts(
                    None,
                    "that nothing writes into the gradient is read from the code; the check of "
                    "your own code shows what it costs",
                ),
                bias_edits(model, found),
            )
