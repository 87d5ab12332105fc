from collections.abc import Iterator

from lstmlint.analysis.gradients import initial_sized, initial_sized_edits
from lstmlint.diagnostics import Severity
from lstmlint.rule import Invalid, Report, Rule, Valid

from ._programs import LSTM_PREPENDED, MINCHAR_RNN, swap


class GradStateSizedFromInitial(Rule):
    code = "LST403"
    name = "grad-state-sized-from-initial"
    summary = (
        "dh_next = zeros_like(h[0]) sizes the carried gradient from the initial state (advice)."
    )
    severity = Severity.INFO
    doc = """
What it finds
    A carried gradient (``dh_next``, ``dC_next``) allocated as ``np.zeros_like(h[0])`` where the
    history starts with the initial state, so ``h[0]`` is the initial state and not a step's
    state. With dicts keyed from -1 (``hs[0]`` is step 0) nothing is reported.

Why it matters
    Harmless while the shapes agree, but it states the wrong intent and breaks as soon as the
    initial state is given another shape (a batch of one, a flattened vector).

Example
    dh_next = np.zeros_like(h[0])

Fix
    dh_next = np.zeros_like(h[-1])

Autofix
    Yes (the only advice rule with one): the index ``0`` becomes ``-1``. It is not verified
    by a gradient check (advice has no gradient meaning), so only ``--fix --unsafe-fixes``
    applies it.
"""
    valid = [Valid(LSTM_PREPENDED), Valid(MINCHAR_RNN)]
    invalid = [
        Invalid(
            swap(
                LSTM_PREPENDED,
                "dh_next = np.zeros_like(h[-1])",
                "dh_next = np.zeros_like(h[0])  # bug",
            ),
            fixed=swap(
                LSTM_PREPENDED,
                "dh_next = np.zeros_like(h[-1])",
                "dh_next = np.zeros_like(h[-1])  # bug",
            ),
        )
    ]

    def check(self, model) -> Iterator[Report]:
        for node, text in initial_sized(model):
            yield Report(
                node,
                f"`{text}` is the initial state (this history starts with it), not a step's state",
                f"size it from the last state: `{text[: text.rfind('[')]}[-1]`",
                edits=initial_sized_edits(node),
            )
