from collections.abc import Iterator

from lstmlint.analysis.experiments import constant_spec, model_kind
from lstmlint.analysis.names import code_of
from lstmlint.analysis.transposes import transposed_code, untransposed_weights
from lstmlint.rule import Invalid, Report, Rule, Valid, experiment_facts

from ._programs import CLASS_PARAMS, CS231N_STEP, MINCHAR_RNN, NOTEBOOK_CELLS, swap

# the forward keeps the weight transposed (`Whh.T @ h`): the backward's `Whh @ dhraw` is right
TRANSPOSED_STORAGE = swap(
    swap(
        swap(
            MINCHAR_RNN,
            "hs[t] = np.tanh(Wxh @ xs[t] + Whh @ hs[t - 1] + bh)",
            "hs[t] = np.tanh(Wxh @ xs[t] + Whh.T @ hs[t - 1] + bh)",
        ),
        "dWhh += dhraw @ hs[t - 1].T",
        "dWhh += hs[t - 1] @ dhraw.T",
    ),
    "dhnext = Whh.T @ dhraw",
    "dhnext = Whh @ dhraw",
)


class UntransposedWeight(Rule):
    code = "LST209"
    name = "untransposed-weight"
    summary = "The backward multiplies a weight as the forward does (`W @ dz` for `W @ h`): its transpose is missing."
    doc = """
What it finds
    A product in backward code whose weight stands where, and as, every forward product of
    that weight has it, while its other operand is a gradient: the forward computes
    ``Waa @ a_prev`` and the backward ``da_prev = Waa @ dtanh``. The weight is matched by its
    name however it is held (``Waa``, ``self.Whh``, ``parameters["Waa"]``, a slice
    ``Wf[:, :n_a]``). Row-major code (``h @ W`` forward, ``dz @ W.T`` backward), a weight the
    forward already uses transposed (``W.T @ h`` forward, ``W @ dz`` backward) and products
    of two forward values are not reported.

Why it breaks training
    The gradient of ``h`` in ``a = W @ h`` is ``W.T @ da``. Without the transpose the code still
    runs whenever ``W`` is square, and a recurrent weight always is, so the gradient handed to
    the previous step has the right shape and the wrong value: every gradient before the last
    step is wrong.

Example
    a_next = np.tanh(np.dot(Wax, xt) + np.dot(Waa, a_prev) + ba)    # forward
    da_prev = np.dot(Waa, dtanh)                                     # backward

Fix
    da_prev = np.dot(Waa.T, dtanh)

Autofix
    Yes: the weight gets its transpose (``Waa`` -> ``Waa.T``). It changes the gradients, so it
    is applied only where the user's own gradient check verifies it (else with
    ``--unsafe-fixes``).
"""
    valid = [
        Valid(MINCHAR_RNN),
        Valid(CS231N_STEP),
        Valid(NOTEBOOK_CELLS),
        Valid(CLASS_PARAMS),
        Valid(TRANSPOSED_STORAGE),
        # the backward recomputes a forward product of two values: no gradient in it
        Valid(
            swap(
                MINCHAR_RNN,
                "dhraw = (1 - hs[t] * hs[t]) * dh",
                "dhraw = (1 - np.tanh(Wxh @ xs[t] + Whh @ hs[t - 1] + bh) ** 2) * dh",
            )
        ),
    ]
    invalid = [
        Invalid(
            swap(MINCHAR_RNN, "dhnext = Whh.T @ dhraw", "dhnext = Whh @ dhraw  # bug"),
            fixed=swap(MINCHAR_RNN, "dhnext = Whh.T @ dhraw", "dhnext = Whh.T @ dhraw  # bug"),
        ),
        Invalid(
            swap(
                NOTEBOOK_CELLS,
                'da_prev = parameters["Waa"].T @ dtanh',
                'da_prev = parameters["Waa"] @ dtanh  # bug',
            ),
            fixed=swap(
                NOTEBOOK_CELLS,
                'da_prev = parameters["Waa"].T @ dtanh',
                'da_prev = parameters["Waa"].T @ dtanh  # bug',
            ),
        ),
        Invalid(
            swap(
                CLASS_PARAMS,
                'dh_prev = self.params["Wh"].T @ dz',
                'dh_prev = self.params["Wh"] @ dz  # bug',
            ),
            fixed=swap(
                CLASS_PARAMS,
                'dh_prev = self.params["Wh"].T @ dz',
                'dh_prev = self.params["Wh"].T @ dz  # bug',
            ),
        ),
        # rows: the forward's `prev_h @ Wh` wants `da @ Wh.T`
        Invalid(
            swap(CS231N_STEP, "dprev_h = da @ Wh.T", "dprev_h = da @ Wh  # bug"),
            fixed=swap(CS231N_STEP, "dprev_h = da @ Wh.T", "dprev_h = da @ Wh.T  # bug"),
        ),
    ]

    def check(self, model) -> Iterator[Report]:
        if not model.region_points:
            return
        for found in untransposed_weights(model):
            fixed = transposed_code(found.weight)
            experiment = (
                constant_spec(model, "carry_h", "untransposed", read_only=True)
                if found.recurrent and model_kind(model) in ("rnn", "lstm")
                else None
            )
            yield Report(
                found.node,
                f"`{code_of(found.weight)}` is multiplied here as the forward multiplies it, but "
                f"this is a gradient: the gradient of the forward's other operand needs the "
                f"weight's transpose, `{fixed}`",
                f"use `{fixed}`",
                experiment_facts(
                    experiment,
                    "the reference models replay a recurrent weight's product only",
                ),
                [(found.weight, fixed)],
            )
