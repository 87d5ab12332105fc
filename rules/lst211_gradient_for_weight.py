from collections.abc import Iterator

from lstmlint.analysis.names import code_of
from lstmlint.analysis.transposes import gradients_for_weights
from lstmlint.rule import Invalid, Report, Rule, Valid, experiment_facts

from ._programs import CLASS_PARAMS, CS231N_STEP, MINCHAR_RNN, swap


class GradientForWeight(Rule):
    code = "LST211"
    name = "gradient-for-weight"
    summary = "A weight's gradient multiplies a gradient where the weight itself belongs (`dWf.T @ dft` for `Wf.T @ dft`)."
    doc = """
What it finds
    A product in backward code that passes a gradient back through a weight, but reads the
    weight's own gradient in its place: ``da_prev = np.dot(dWf[:, :n_a].T, dft)`` where the
    forward multiplied by ``Wf``. The weight is any array the forward multiplies (``Wf``,
    ``self.Whh``, ``parameters["Wf"]``); its gradient is ``d`` + its name. Products that compute
    a weight's gradient (assigned to ``dW...``) are not reported.

Why it breaks training
    The gradient handed to the previous step (or the input) is scaled by the weight's gradient,
    a matrix of the right shape and unrelated values: every earlier step is trained on noise.

Example
    da_prev = np.dot(dWf[:, :n_a].T, dft) + np.dot(dWi[:, :n_a].T, dit) + ...

Fix
    da_prev = np.dot(parameters["Wf"][:, :n_a].T, dft) + np.dot(parameters["Wi"][:, :n_a].T, dit) + ...

Autofix
    Yes, where the function can read the weight: by its name when it binds it, else from the
    dict the module reads it from (``parameters["Wf"]``) when the function binds that dict. It
    changes the gradients, so it is applied only where the user's own gradient check verifies it
    (else with ``--unsafe-fixes``).
"""
    valid = [Valid(MINCHAR_RNN), Valid(CS231N_STEP), Valid(CLASS_PARAMS)]
    invalid = [
        Invalid(
            swap(MINCHAR_RNN, "dhnext = Whh.T @ dhraw", "dhnext = dWhh.T @ dhraw  # bug"),
            fixed=swap(MINCHAR_RNN, "dhnext = Whh.T @ dhraw", "dhnext = Whh.T @ dhraw  # bug"),
        ),
        Invalid(
            swap(CS231N_STEP, "dprev_h = da @ Wh.T", "dprev_h = da @ dWh.T  # bug"),
            fixed=swap(CS231N_STEP, "dprev_h = da @ Wh.T", "dprev_h = da @ Wh.T  # bug"),
        ),
        Invalid(
            swap(CLASS_PARAMS, 'dh_prev = self.params["Wh"].T @ dz', "dh_prev = dWh.T @ dz  # bug"),
            fixed=swap(
                CLASS_PARAMS,
                'dh_prev = self.params["Wh"].T @ dz',
                'dh_prev = self.params["Wh"].T @ dz  # bug',
            ),
        ),
    ]

    def check(self, model) -> Iterator[Report]:
        if not model.region_points:
            return
        for found in gradients_for_weights(model):
            read = found.replacement or f"`{found.weight}`"
            yield Report(
                found.node,
                f"`{code_of(found.node)}` is the gradient of `{found.weight}`, but here a gradient "
                f"is passed back through the weight itself: `{found.replacement or found.weight}`",
                f"use {read if found.replacement is None else f'`{read}`'}",
                experiment_facts(
                    None,
                    "which array was meant is read from the names; the check of your own code "
                    "shows what it costs",
                ),
                [(found.node, found.replacement)] if found.replacement else [],
            )
