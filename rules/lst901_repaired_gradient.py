from collections.abc import Iterator

from lstmlint.diagnostics import Severity
from lstmlint.rule import Invalid, Report, Rule, Valid

from .lst900_unexplained_gradient_error import PROGRAM


class RepairedGradient(Rule):
    code = "LST901"
    name = "repaired-gradient"
    summary = "Running your backward shows an edit at this line that makes its gradients exact."
    severity = Severity.ERROR
    dynamic = True  # found by running the user's code, not by reading it
    doc = """
What it finds
    Where lstmlint runs your own backward (see "Running your own code" in the README) and some
    gradient is still wrong after every fix it knows, it searches single edits of the
    statements that compute gradients, each undoing one kind of bug: a transpose added to or
    taken from one operand of a product (or the whole product transposed), a time index moved
    to the neighbouring step (``hs[t]`` <-> ``hs[t - 1]``), a gradient assigned at every step
    made to add up (``=`` -> ``+=``). Each candidate goes through the same gradient check; an
    edit that makes the wrong gradients exact without making an exact one wrong, and without
    changing the loss, is reported here, at the edited code. With several bugs the search goes
    on from the repaired code (up to three edits). What no edit repairs stays LST900.

Why it breaks training
    See LST900: the listed gradients were wrong, so every update moved the weights in a wrong
    direction. The finding's evidence shows each gradient's error before and after the edit.

Example
    ``dWhh += hs[t - 1] @ dhraw.T`` is the transpose of the gradient of a square matrix;
    ``(hs[t - 1] @ dhraw.T).T`` makes the check pass.

Fix
    The edit itself (``--fix`` applies it); writing it more plainly (``dhraw @ hs[t - 1].T``)
    is the same fix. The search runs for at most a few seconds a file, inside the file's time
    limit, and never on code whose gradients are exact or that ``--confirm=auto`` refused to
    run; ``--ignore LST901`` turns it off.
"""
    invalid = [Invalid(PROGRAM.replace("HS_PREV_TIMES_DHRAW", "hs[t - 1] @ dhraw.T  # bug"))]
    valid = [Valid(PROGRAM.replace("HS_PREV_TIMES_DHRAW", "dhraw @ hs[t - 1].T"))]

    def check(self, model) -> Iterator[Report]:
        return iter(())
