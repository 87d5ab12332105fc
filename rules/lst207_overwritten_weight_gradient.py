import re
from collections.abc import Iterator

import libcst as cst

from lstmlint.analysis.experiments import overwrite_spec
from lstmlint.analysis.gradients import carries, read_after_loop
from lstmlint.analysis.names import code_of, walk
from lstmlint.parse import BLANK
from lstmlint.rule import Invalid, Report, Rule, Valid, experiment_facts

from ._programs import CS231N_STEP, LSTM_PREPENDED, MINCHAR_RNN, swap

# dWf, dW_hh, dbf, db, dUz, dwx: `d` and the name of a weight matrix or a bias
WEIGHT_GRADIENT = re.compile(r"^d_?((?:[WUV]|w(?=[a-z_]*$)|b(?=[a-z_0-9]*$))\w*)$")


# the start of a CS231n-style lstm_backward over per-step caches, before its loop
LOOP_HEAD = """

def lstm_backward(dh, cache):
    N, T, H = dh.shape
    Wx, Wh = cache[0][3], cache[0][4]
    dx = np.zeros((N, T, Wx.shape[0]))
    dprev_h = np.zeros((N, H))
    dprev_c = np.zeros((N, H))
    dWx = np.zeros_like(Wx)
    dWh = np.zeros_like(Wh)
    db = np.zeros(4 * H)
"""

CS231N_LOOP = (
    LOOP_HEAD
    + """\
    for t in reversed(range(T)):
        dx[:, t, :], dprev_h, dprev_c, dWx_t, dWh_t, db_t = lstm_step_backward(
            dh[:, t, :] + dprev_h, dprev_c, cache[t]
        )
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    return dx, dprev_h, dWx, dWh, db
"""
)


DICT_LOOP = (
    LOOP_HEAD
    + """\
    names = ("dx", "dh", "dc", "dWx", "dWh", "db")
    for t in reversed(range(T)):
        step = lstm_step_backward(dh[:, t, :] + dprev_h, dprev_c, cache[t])
        grads = dict(zip(names, step))
        dx[:, t, :] = grads["dx"]
        dprev_h = grads["dh"]
        dprev_c = grads["dc"]
        dWx += grads["dWx"]
        dWh += grads["dWh"]
        db += grads["db"]
    return {"dx": dx, "dh0": dprev_h, "dWx": dWx, "dWh": dWh, "db": db}
"""
)


class OverwrittenWeightGradient(Rule):
    code = "LST207"
    name = "overwritten-weight-gradient"
    summary = "A weight gradient is assigned at every step of the backward loop instead of summed."
    doc = """
What it finds
    In a backward loop over time, a weight or bias gradient (``dWf``, ``dbf``, ``dWhh``: a
    name made of ``d`` and the name of a weight the file uses) that is zero before the loop,
    assigned with ``=`` inside it, never read inside it, and read after it (returned, or
    stored in a dictionary of gradients).

Why it breaks training
    A weight is used at every step, so its gradient is the sum of every step's share. Assigned
    instead of added to, it keeps only the share of the last step the loop visits (the first
    time step, for a loop that runs backwards): the weights learn from one step of the
    sequence, and a gradient check fails with a relative error near 1.

Example
    dWf = np.zeros_like(Wf)
    for t in reversed(range(T)):
        grads = lstm_cell_backward(dh[t] + dh_prev, dc_prev, caches[t])
        dWf = grads["dWf"]

Fix
    dWf += grads["dWf"]

Autofix
    Yes: ``=`` becomes ``+=``.

Not flagged
    The gradient of the initial state (``dh0 = dh_prev`` inside the loop: the last step's value
    is the right one), a value the loop reads again (a carried gradient, ``dW = dW + g``), a
    write under a condition (``if t == 0:``), an exercise's placeholder (``dWf = None``) and
    names that are not a weight's gradient.

Confirmation
    The reference replay keeps only the last step's share of every weight gradient, which
    shows what overwriting costs; whether this name is a weight gradient is read from its name,
    so that replay leaves the finding ``unconfirmed``. With ``--confirm=auto`` the file's own
    code is run with and without ``+=``, and that confirms or refutes it.
"""
    valid = [
        Valid(LSTM_PREPENDED),
        Valid(MINCHAR_RNN),
        Valid(CS231N_STEP + CS231N_LOOP),
        Valid(CS231N_STEP + DICT_LOOP),
        # the initial state's gradient: the last value the loop gives it is the right one
        Valid(
            swap(
                swap(MINCHAR_RNN, "    return loss,", "    return dh0, loss,"),
                "    dhnext = np.zeros_like(hs[0])\n",
                "    dhnext = np.zeros_like(hs[0])\n    dh0 = np.zeros_like(hs[0])\n",
            ).replace(
                "        dhnext = Whh.T @ dhraw\n",
                "        dhnext = Whh.T @ dhraw\n        dh0 = dhnext\n",
            )
        ),
        # an exercise not done yet: the placeholder is a blank, not a step's share
        Valid(swap(MINCHAR_RNN, "dWxh += dhraw @ xs[t].T", "dWxh = None")),
        # summed by a plain assignment that reads the gradient itself
        Valid(swap(MINCHAR_RNN, "dWxh += dhraw @ xs[t].T", "dWxh = dWxh + dhraw @ xs[t].T")),
    ]
    invalid = [
        # per-step caches: the step's weight gradients unpacked over the running sums
        Invalid(
            CS231N_STEP
            + CS231N_LOOP.replace(
                "dWx_t, dWh_t, db_t = lstm_step_backward(",
                "dWx, dWh, db = lstm_step_backward(",
            )
            .replace("        dWx += dWx_t\n        dWh += dWh_t\n        db += db_t\n", "")
            .replace("lstm_step_backward(\n", "lstm_step_backward(  # bug\n")
        ),
        Invalid(
            swap(MINCHAR_RNN, "dWxh += dhraw @ xs[t].T", "dWxh = dhraw @ xs[t].T  # bug"),
            fixed=swap(MINCHAR_RNN, "dWxh += dhraw @ xs[t].T", "dWxh += dhraw @ xs[t].T  # bug"),
        ),
        # the step's gradients read from a dictionary
        Invalid(
            CS231N_STEP + DICT_LOOP.replace('dWx += grads["dWx"]', 'dWx = grads["dWx"]  # bug'),
            fixed=CS231N_STEP
            + DICT_LOOP.replace('dWx += grads["dWx"]', 'dWx += grads["dWx"]  # bug'),
        ),
    ]

    def check(self, model) -> Iterator[Report]:
        weights = _names_used(model.module)
        for carry in carries(model):
            found = WEIGHT_GRADIENT.match(carry.name)
            if (
                not found
                or found.group(1) not in weights
                or carry.reads
                or not carry.writes
                or all(point.guarded for _, point in carry.writes)
                or any(_reads_itself(statement, carry.name) for statement, _ in carry.writes)
                or any(_placeholder(statement) for statement, _ in carry.writes)
                or not read_after_loop(carry)
            ):
                continue
            statement, _ = carry.writes[-1]
            yield Report(
                statement,
                f"`{carry.name}` is assigned at every step of the backward loop, so it keeps only "
                "the last step's share of the gradient instead of the sum over steps",
                f"add to it: `{carry.name} += ...`",
                experiment_facts(overwrite_spec(model)),
                _plus_equals(statement, carry.name),
            )


def _names_used(module: cst.Module) -> set[str]:
    """Every name, attribute and string key of the file: where its weights may be spelled."""
    found: set[str] = set()
    for node in walk(module):
        if isinstance(node, cst.Name):
            found.add(node.value)
        elif isinstance(node, cst.SimpleString):
            found.add(node.evaluated_value if isinstance(node.evaluated_value, str) else "")
    return found


def _reads_itself(statement: cst.CSTNode, name: str) -> bool:
    value = getattr(statement, "value", None)
    return value is not None and any(
        isinstance(n, cst.Name) and n.value == name for n in walk(value, attribute_names=False)
    )


def _placeholder(statement: cst.CSTNode) -> bool:
    """``dWf = None`` in an exercise not yet done: a blank to fill in, not a step's share."""
    value = getattr(statement, "value", None)
    return isinstance(value, cst.Name) and value.value in ("None", BLANK)


def _plus_equals(statement: cst.CSTNode, name: str) -> list[tuple[cst.CSTNode, str]]:
    """``dW = g`` -> ``dW += g``; none for a write inside an unpacking."""
    if (
        isinstance(statement, cst.Assign)
        and len(statement.targets) == 1
        and isinstance(statement.targets[0].target, cst.Name)
        and statement.targets[0].target.value == name
    ):
        return [(statement, f"{name} += {code_of(statement.value)}")]
    return []
