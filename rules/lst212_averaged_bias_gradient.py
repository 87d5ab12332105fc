from collections.abc import Iterator

from lstmlint.analysis.bias_scale import averaged_biases
from lstmlint.analysis.names import code_of
from lstmlint.rule import Invalid, Report, Rule, Valid, experiment_facts

from ._programs import CS231N_STEP, NOTEBOOK_CELLS, swap

# every gradient of the step averaged over the batch: consistent with a loss averaged over it
AVERAGED_STEP = swap(
    swap(
        swap(
            NOTEBOOK_CELLS,
            "    dWax = dtanh @ xt.T\n",
            "    m = xt.shape[1]\n    dWax = dtanh @ xt.T / m\n",
        ),
        "dWaa = dtanh @ a_prev.T",
        "dWaa = dtanh @ a_prev.T / m",
    ),
    "dba = np.sum(dtanh, axis=1, keepdims=True)",
    "dba = np.mean(dtanh, axis=1, keepdims=True)",
)


class AveragedBiasGradient(Rule):
    code = "LST212"
    name = "averaged-bias-gradient"
    summary = (
        "A bias gradient averaged over the batch while the weight gradients beside it are summed."
    )
    doc = """
What it finds
    In backward code, a bias gradient taken as the mean over the batch
    (``dba = np.mean(dtanh, axis=1, keepdims=True)``, ``db = da.mean(axis=0)``) of a gradient
    that a weight gradient of the same function sums over the batch with a matrix product
    (``dWaa = np.dot(dtanh, a_prev.T)``). Code that divides those weight gradients by the
    batch size as well averages consistently and is not reported.

Why it breaks training
    A matrix product sums each example's share; the mean divides it by the batch size. One of
    the two gradients is off by that factor: with a loss summed over the batch the biases learn
    m times too slowly, and a gradient check fails on them.

Example
    dWaa = np.dot(dtanh, a_prev.T)
    dba = np.mean(dtanh, axis=1, keepdims=True)

Fix
    dba = np.sum(dtanh, axis=1, keepdims=True)

Autofix
    Yes: ``mean`` becomes ``sum``, its arguments kept. It changes the gradients, so it is
    applied only where the user's own gradient check verifies it (else with
    ``--unsafe-fixes``).
"""
    valid = [Valid(NOTEBOOK_CELLS), Valid(CS231N_STEP), Valid(AVERAGED_STEP)]
    invalid = [
        Invalid(
            swap(
                NOTEBOOK_CELLS,
                "dba = np.sum(dtanh, axis=1, keepdims=True)",
                "dba = np.mean(dtanh, axis=1, keepdims=True)  # bug",
            ),
            fixed=swap(
                NOTEBOOK_CELLS,
                "dba = np.sum(dtanh, axis=1, keepdims=True)",
                "dba = np.sum(dtanh, axis=1, keepdims=True)  # bug",
            ),
        ),
        Invalid(
            swap(CS231N_STEP, "db = da.sum(axis=0)", "db = da.mean(axis=0)  # bug"),
            fixed=swap(CS231N_STEP, "db = da.sum(axis=0)", "db = da.sum(axis=0)  # bug"),
        ),
    ]

    def check(self, model) -> Iterator[Report]:
        for found in averaged_biases(model):
            yield Report(
                found.node,
                f"`{found.name}` is averaged over the batch (`{code_of(found.node)}`), while "
                f"`{found.weight}` sums the same gradient over it: one of the two is off by the "
                "batch size",
                "sum it, as the weight gradients do",
                experiment_facts(
                    None,
                    "the reference models have no batch to average over; the check of your own "
                    "code shows what it costs",
                ),
                [found.edit] if found.edit else [],
            )
