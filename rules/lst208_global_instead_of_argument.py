from collections.abc import Iterator

from lstmlint.analysis.global_reads import global_reads
from lstmlint.rule import Invalid, Report, Rule, Valid, experiment_facts

from ._programs import CLASS_PARAMS, NOTEBOOK_CELLS, swap

MINCHAR_GLOBALS = """
import numpy as np

H, V = 8, 5
Wxh = np.random.randn(H, V) * 0.01
Whh = np.random.randn(H, H) * 0.01
Why = np.random.randn(V, H) * 0.01


def lossFun(inputs, targets, hprev):
    xs, hs, ps = {}, {}, {}
    hs[-1] = np.copy(hprev)
    loss = 0
    for t in range(len(inputs)):
        xs[t] = np.zeros((V, 1))
        xs[t][inputs[t]] = 1
        hs[t] = np.tanh(Wxh @ xs[t] + Whh @ hs[t - 1])
        y = Why @ hs[t]
        ps[t] = np.exp(y) / np.sum(np.exp(y))
        loss += -np.log(ps[t][targets[t], 0])
    dWxh, dWhh, dWhy = np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros_like(Why)
    dhnext = np.zeros_like(hs[0])
    for t in reversed(range(len(inputs))):
        dy = np.copy(ps[t])
        dy[targets[t]] -= 1
        dWhy += dy @ hs[t].T
        dh = Why.T @ dy + dhnext
        dhraw = (1 - hs[t] * hs[t]) * dh
        dWxh += dhraw @ xs[t].T
        dWhh += dhraw @ hs[t - 1].T
        dhnext = Whh.T @ dhraw
    return loss, dWxh, dWhh, dWhy, hs[len(inputs) - 1]
"""


class GlobalInsteadOfArgument(Rule):
    code = "LST208"
    name = "global-instead-of-argument"
    summary = "A function reads a top-level variable where its own argument holds the value (`Wf` for `parameters['Wf']`)."
    doc = """
What it finds
    A function that reads a variable of the module (a notebook's top-level test value, such as
    ``Wf = np.random.randn(5, 8)``) while a dict of its own, an argument or something unpacked
    from one, holds a value under that very name: ``parameters["Wf"]`` is read elsewhere in the
    file, or the top level builds ``parameters = {"Wf": Wf, ...}``. Only variables assigned a
    computed value are considered (an array, not ``lr = 0.1``), and only when exactly one dict
    of the function holds the name. A function that reads module-level weights because that is
    its design (min-char-rnn's ``lossFun`` reads ``Wxh``) has no such dict and is not reported.

Why it breaks training
    The function computes with whatever the top level last assigned to the name: in a notebook,
    the test cell's random matrix. Its output and gradients are right only while that value
    happens to equal the parameters the function was given; in training, in a gradient check,
    or after another cell assigns the name, they are silently wrong.

Example
    def lstm_cell_backward(da_next, dc_next, cache):
        (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters) = cache
        ...
        da_prev = np.dot(Wf[:, :n_a].T, dft) + ...     # the notebook's test Wf

Fix
    da_prev = np.dot(parameters["Wf"][:, :n_a].T, dft) + ...

Autofix
    Yes: the name is replaced by the dict's entry, ``Wf`` -> ``parameters["Wf"]``. It changes
    what the function computes whenever the two differ, so it is applied only where the
    user's own gradient check verifies it (else with ``--unsafe-fixes``).
"""
    valid = [
        Valid(NOTEBOOK_CELLS),
        Valid(MINCHAR_GLOBALS),
        Valid(CLASS_PARAMS),
        # a hyperparameter read from the module is not a value the dict was meant to hold
        Valid(
            swap(
                NOTEBOOK_CELLS,
                "    dba = np.sum(dtanh, axis=1, keepdims=True)\n",
                "    dba = np.sum(dtanh, axis=1, keepdims=True) * scale\n",
            ).replace("np.random.seed(1)\n", "np.random.seed(1)\nscale = 1.0\n")
        ),
    ]
    invalid = [
        Invalid(
            swap(
                NOTEBOOK_CELLS,
                'da_prev = parameters["Waa"].T @ dtanh',
                "da_prev = Waa.T @ dtanh  # bug",
            ),
            fixed=swap(
                NOTEBOOK_CELLS,
                'da_prev = parameters["Waa"].T @ dtanh',
                'da_prev = parameters["Waa"].T @ dtanh  # bug',
            ),
        ),
        Invalid(
            swap(CLASS_PARAMS, 'dh_prev = self.params["Wh"].T @ dz', "dh_prev = Wh.T @ dz  # bug"),
            fixed=swap(
                CLASS_PARAMS,
                'dh_prev = self.params["Wh"].T @ dz',
                'dh_prev = self.params["Wh"].T @ dz  # bug',
            ),
        ),
        # the forward reads the test value too: a name left out of the unpacking
        Invalid(
            swap(
                swap(
                    NOTEBOOK_CELLS,
                    'Wax, Waa, ba = parameters["Wax"], parameters["Waa"], parameters["ba"]',
                    'Wax, ba = parameters["Wax"], parameters["ba"]',
                ),
                "a_next = np.tanh(Wax @ xt + Waa @ a_prev + ba)",
                "a_next = np.tanh(Wax @ xt + Waa @ a_prev + ba)  # bug",
            ),
            fixed=swap(
                swap(
                    NOTEBOOK_CELLS,
                    'Wax, Waa, ba = parameters["Wax"], parameters["Waa"], parameters["ba"]',
                    'Wax, ba = parameters["Wax"], parameters["ba"]',
                ),
                "a_next = np.tanh(Wax @ xt + Waa @ a_prev + ba)",
                'a_next = np.tanh(Wax @ xt + parameters["Waa"] @ a_prev + ba)  # bug',
            ),
        ),
    ]

    def check(self, model) -> Iterator[Report]:
        if not model.is_rnn:
            return
        by_statement: dict[int, list] = {}
        for read in global_reads(model.module):
            by_statement.setdefault(id(read.statement), []).append(read)
        for reads in by_statement.values():
            entries = {read.name: _entry(read) for read in reads}
            names = ", ".join(f"`{name}`" for name in entries)
            holders = ", ".join(f"`{entry}`" for entry in entries.values())
            yield Report(
                reads[0].node,
                f"{names} here {'is' if len(entries) == 1 else 'are'} read from the module's "
                f"top level, not from the function's own {holders}: the result is right only "
                "while the two happen to be equal",
                f"read {holders}",
                experiment_facts(
                    None,
                    "which value a name reads is settled by Python's scoping, not by a "
                    "gradient check of a reference model",
                ),
                [(read.node, _entry(read)) for read in reads],
            )


def _entry(read) -> str:
    return f"{read.holder}[{read.quote}{read.name}{read.quote}]"
