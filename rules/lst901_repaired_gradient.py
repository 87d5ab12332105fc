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
    statements that compute gradients, each undoing one kind of bug:

    - a time index moved to the neighbouring step (``hs[t]`` <-> ``hs[t - 1]``);
    - a transpose added to or taken from one operand of a product (or the whole product
      transposed);
    - a gradient assigned at every step made to add up (``=`` -> ``+=``);
    - a gradient the loop carries from the next step (bound before the loop and again in it,
      like ``dh_next``) added where a gradient of this step does not read it;
    - a square: ``1 - h`` -> ``1 - h ** 2``, ``tanh(c ** 2)`` -> ``tanh(c) ** 2``,
      ``(1 - h) ** 2`` -> ``1 - h ** 2``, ``a ** b`` -> ``a * b``;
    - a derivative's point: a one-argument call at an activation's output moved to its
      argument or back (``dtanh(hs[t])`` <-> ``dtanh(zs[t])`` where the forward has
      ``hs[t] = tanh(zs[t])``), an activation of an activated value undone or made its
      derivative there (``sigmoid(z)`` -> ``z * (1 - z)``), an activation the forward applies
      put back (``dh * c`` -> ``dh * np.tanh(c)``);
    - a factor of a product left out, or the derivative of the gate a gradient belongs to
      added (``di = dc * g`` -> ``di = (dc * g) * i * (1 - i)`` where ``i`` is a sigmoid's),
      or a factor the forward multiplies a value by added to that value's gradient or where
      a gradient reads the value (a GRU's ``(r * h_prev) @ U``: ``dh_prev += drh`` ->
      ``drh * r``, ``h_prev.T @ dhh`` -> ``(r * h_prev).T @ dhh``);
    - a gate where the forward's complement of it belongs, or the reverse (``z`` <->
      ``1 - z``: which of the two weighs a GRU's old state is each program's own choice);
    - a difference the wrong way round (``hh - h_prev`` -> ``h_prev - hh``);
    - a division left out, a mean made a sum;
    - a neighbouring name: ``prev`` <-> ``next``, a name one letter apart that the function
      binds (``df_raw`` -> ``do_raw``), or a gradient and its next stage (``dh`` <->
      ``dhraw``, ``dc`` <-> ``dc_next``).

    Candidates on lines that name a wrong parameter are tried first, then by the order above.
    Each goes through the same gradient check (after a quick test that turns away those whose
    wrong gradients stay far from the loss's differences); an edit that makes the wrong
    gradients exact without making an exact one wrong, and without changing the loss, is
    reported here, at the edited code; on the line of another rule's finding that has no
    automatic fix, the edit becomes that finding's fix, confirmed the same way, and nothing is
    reported here. With several bugs the search goes on from the repaired code (up to three
    repairs). A repair found for one entry point (a step function) is tried first on every
    other that reaches the same code (the time loop calling it), and is reported once.
    Where no single edit makes any wrong gradient exact (two transposes missing in
    one sum, say), an edit that brings the wrong gradients clearly nearer (their errors
    shrink by half a decade or more together, none grows) is kept while the search goes on
    from it, up to three such edits; if they lead to exact gradients, they are reported as
    one finding with all their edits, after each one has been shown needed (taken away, the
    gradients are no longer exact). Edits that lead nowhere are dropped. What no edit
    repairs stays LST900.

Why it breaks training
    See LST900: the listed gradients were wrong, so every update moved the weights in a wrong
    direction. The finding's evidence shows each gradient's error before and after the edit.

Example
    ``dWhh += hs[t - 1] @ dhraw.T`` is the transpose of the gradient of a square matrix;
    ``(hs[t - 1] @ dhraw.T).T`` makes the check pass.

Fix
    The edit itself (``--fix`` applies it); writing it more plainly (``dhraw @ hs[t - 1].T``)
    is the same fix. The search runs for at most 2 s a backward by default, inside the file's
    time limit, and never on code whose gradients are exact or that ``--confirm=auto`` refused to
    run; ``--repair-timeout SECONDS`` (``repair-timeout`` in the configuration) gives
    it more or less time, and ``--no-repair`` (or ``--ignore LST901``) turns it off.
"""
    invalid = [Invalid(PROGRAM.replace("HS_PREV_TIMES_DHRAW", "hs[t - 1] @ dhraw.T  # bug"))]
    valid = [Valid(PROGRAM.replace("HS_PREV_TIMES_DHRAW", "dhraw @ hs[t - 1].T"))]

    def check(self, model) -> Iterator[Report]:
        return iter(())
