from collections.abc import Iterator

from lstmlint.analysis.aliases import shared_histories
from lstmlint.rule import Invalid, Report, Rule, Valid, experiment_facts

from ._programs import CLASS_LSTM, DLAI_CELL, LSTM_PREPENDED, swap

# the deeplearning.ai forward over a whole sequence, histories as (n_a, m, T_x) arrays
DLAI_SEQUENCE = (
    DLAI_CELL
    + """

def lstm_forward(x, a0, parameters):
    n_x, m, T_x = x.shape
    n_a = a0.shape[0]
    a = np.zeros((n_a, m, T_x))
    c = np.zeros((n_a, m, T_x))
    caches = []
    a_next, c_next = a0, np.zeros_like(a0)
    for t in range(T_x):
        a_next, c_next, cache = lstm_cell_forward(x[:, :, t], a_next, c_next, parameters)
        a[:, :, t] = a_next
        c[:, :, t] = c_next
        caches.append(cache)
    return a, c, caches
"""
)
_C_MADE = "    c = np.zeros((n_a, m, T_x))\n"
_LISTS = "    hs, cs, zs, fs, is_, gs, os_, ys = [h], [c], [], [], [], [], [], []\n"
_CLASS_LISTS = "        self.zs, self.fs, self.is_, self.gs, self.os_ = [], [], [], [], []\n"


class SharedHistory(Rule):
    code = "LST103"
    name = "shared-history"
    summary = "Two histories are one object (`c = a` after `a = np.zeros(...)`, `zs = fs = []`), so each overwrites the other."
    doc = """
What it finds
    Two names bound to one new array or list, each then written as a history of its own:
    ``c = a`` after ``a = np.zeros((n_a, m, T_x))``, then ``a[:, :, t] = a_next`` and
    ``c[:, :, t] = c_next``; or ``zs = fs = []``, then ``zs.append(z)`` and ``fs.append(f)``.
    Assignment in Python names an object, it does not copy one. Only names written element by
    element after they were joined, in the same function, with neither bound to anything else
    in between, are reported; ``c = a.copy()`` is a copy and is never reported.

Why it breaks training
    Each write to one history lands in the other: the hidden states a forward returns are
    overwritten by the cell states (or a list holds every gate, interleaved), so the caches
    the backward reads are not the network's, and every gradient computed from them is the
    gradient of another function. The loss still falls a little, which hides it.

Example
    a = np.zeros((n_a, m, T_x))
    c = a

Fix
    c = np.zeros_like(a)

Autofix
    Yes for ``c = a`` where ``a`` was made by ``np.zeros``, ``np.ones`` or ``np.empty`` (or
    their ``_like`` forms): ``c`` gets a new array of ``a``'s shape. None for lists and dicts
    or for ``x = y = ...``: what the second history starts with is the author's choice.
"""
    valid = [
        Valid(DLAI_SEQUENCE),
        Valid(LSTM_PREPENDED),
        # a copy is a new array
        Valid(swap(DLAI_SEQUENCE, _C_MADE, "    c = a.copy()\n")),
        # joined, but bound to a new array before either is written
        Valid(swap(DLAI_SEQUENCE, _C_MADE, "    c = a\n    c = np.zeros_like(a)\n")),
        # a second name for what the caller handed in, written through both on purpose
        Valid(
            LSTM_PREPENDED + "\n\ndef sgd_step(p, grads, rate):\n    current = p\n"
            "    weights = current\n"
            "    weights[0] -= rate * grads[0]\n    current[1] -= rate * grads[1]\n"
        ),
        # joined, and only one of the names is written
        Valid(
            swap(swap(DLAI_SEQUENCE, _C_MADE, "    c = a\n"), "        c[:, :, t] = c_next\n", "")
        ),
    ]
    invalid = [
        Invalid(
            swap(DLAI_SEQUENCE, _C_MADE, "    c = a  # bug\n"),
            fixed=swap(DLAI_SEQUENCE, _C_MADE, "    c = np.zeros_like(a)  # bug\n"),
        ),
        Invalid(
            swap(
                LSTM_PREPENDED,
                _LISTS,
                "    hs, cs, is_, gs, os_, ys = [h], [c], [], [], [], []\n"
                "    zs = fs = []  # bug\n",
            )
        ),
        Invalid(
            swap(
                CLASS_LSTM,
                _CLASS_LISTS,
                "        self.zs = self.fs = []  # bug\n        self.is_, self.gs, self.os_ = [], [], []\n",
            )
        ),
    ]

    def check(self, model) -> Iterator[Report]:
        if not model.is_rnn:
            return
        for shared in shared_histories(model):
            first, *others = shared.names
            joined = ", ".join(f"`{n}`" for n in others)
            yield Report(
                shared.node,
                f"{joined} and `{first}` are one object, and both are written as histories: "
                "each write to one overwrites the other",
                f"give {joined} a new object: `{shared.fix}`"
                if shared.fix
                else f"give {joined} a new object of its own",
                experiment_facts(
                    None,
                    "which names are meant to be separate histories is read from the code; the "
                    "check of your own code shows what sharing them costs",
                ),
                [(shared.node, shared.fix)] if shared.fix else [],
            )
