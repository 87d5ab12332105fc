import re
from collections.abc import Iterator

import libcst as cst

from lstmlint.analysis.backward import statement_value
from lstmlint.analysis.cell_carry import uncarried_cells
from lstmlint.analysis.cellpath import (
    HiddenPathGap,
    carries_without_hidden_path,
    hidden_path_edits,
    loop_carry_without_hidden_path,
)
from lstmlint.analysis.experiments import carry_spec, constant_spec, unbound_name
from lstmlint.analysis.gradients import (
    added_carry_edits,
    carries,
    dead_store_edits,
    dict_carry_edits,
    forget_edits,
    gated_where_read,
    lacks_forget_gate,
    lacks_update_path,
    read_after_loop,
    reset_carry_edits,
    reset_writes,
    step_cell_carries,
    unused_carry_edits,
    unused_hidden_carries,
)
from lstmlint.analysis.loops import carried_names
from lstmlint.analysis.names import code_of
from lstmlint.rule import Invalid, Report, Rule, Valid, experiment_facts

from ._programs import (
    CLASS_LSTM,
    CS231N_STEP,
    DLAI_CELL,
    GRU_DICT,
    GRU_PREALLOC,
    LAYER_OBJECTS,
    LSTM_PREPENDED,
    MINCHAR_FROM_END,
    MINCHAR_RNN,
    NOTEBOOK_CELLS,
    swap,
)

DICT_STEP_LOOP = """

def step_backward(dnext_h, dnext_c, cache):
    dx, dh, dc, dWx, dWh, db = lstm_step_backward(dnext_h, dnext_c, cache)
    return {"dx": dx, "dh_prev": dh, "dc_prev": dc, "dWx": dWx, "dWh": dWh, "db": db}


def lstm_backward(dh, cache):
    N, T, H = dh.shape
    Wx, Wh = cache[0][3], cache[0][4]
    dx = np.zeros((N, T, Wx.shape[0]))
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(4 * H)
    dh_prevt = np.zeros((N, H))
    dc_prevt = np.zeros((N, H))
    for t in reversed(range(T)):
        grads = step_backward(dh[:, t, :] + dh_prevt, dc_prevt, cache[t])
        dx[:, t, :] = grads["dx"]
        dWx += grads["dWx"]
        dWh += grads["dWh"]
        db += grads["db"]
    return dx, grads["dh_prev"], dWx, dWh, db
"""


CLASS_CELL = """
import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


class LSTMCell:
    def __init__(self, W, b):
        self.W, self.b = W, b

    def forward(self, x, h_prev, c_prev):
        z = np.vstack((h_prev, x))
        H = h_prev.shape[0]
        a = self.W @ z + self.b
        f = sigmoid(a[:H])
        i = sigmoid(a[H:2 * H])
        o = sigmoid(a[2 * H:3 * H])
        g = np.tanh(a[3 * H:])
        c = f * c_prev + i * g
        tc = np.tanh(c)
        h = o * tc
        self.cache = (z, c_prev, f, i, o, g, tc)
        return h, c

    def backward(self, dh_next, dc_next):
        z, c_prev, f, i, o, g, tc = self.cache
        H = f.shape[0]
        dc_total = dc_next + dh_next * o * (1 - tc ** 2)
        dc_prev = f * dc_total
        da = np.vstack((
            dc_total * c_prev * f * (1 - f),
            dc_total * g * i * (1 - i),
            dh_next * tc * o * (1 - o),
            dc_total * i * (1 - g ** 2),
        ))
        dW = da @ z.T
        db = da
        dh_prev = (self.W.T @ da)[:H]
        return dh_prev, dc_prev, dW, db
"""


# a weight's gradient (`dWf`, `db`): overwritten rather than summed, it is LST207's finding
WEIGHT_GRADIENT = re.compile(r"^d_?([WUV]|b(_|$|[a-z]{0,3}$))")


# the course's rnn_backward: each step's gradient is the upstream one plus the one carried
# back from the later step, and what is carried out of the first step is da0
NOTEBOOK_LOOP = (
    NOTEBOOK_CELLS
    + """

def rnn_backward(da, caches):
    caches, x = caches
    n_a, m, T_x = da.shape
    dWaa = np.zeros((n_a, n_a))
    da_prevt = np.zeros((n_a, m))
    for t in reversed(range(T_x)):
        gradients = rnn_cell_backward(da[:, :, t] + da_prevt, caches[t])
        da_prevt = gradients["da_prev"]
        dWaa += gradients["dWaa"]
    da0 = da_prevt
    return {"da0": da0, "dWaa": dWaa}
"""
)

# CS231n's rnn_backward: the carry is first made by the last step, and `dh0` is only its output
FIRST_STEP_CARRY = """
import numpy as np


def rnn_backward(dh, cache, rnn_step_backward):
    N, T, H = dh.shape
    dh0 = np.zeros((N, H))
    dWh = np.zeros((H, H))
    for t in range(T - 1, -1, -1):
        if t == T - 1:
            dx_t, dprev_h, dWh_t = rnn_step_backward(dh[:, t, :], cache[t])
        else:
            dx_t, dprev_h, dWh_t = rnn_step_backward(dh[:, t, :] + dprev_h, cache[t])
        dWh += dWh_t
        dh0 = dprev_h
    return dh0, dWh
"""


class MissingRecurrentGradient(Rule):
    code = "LST206"
    name = "missing-recurrent-gradient"
    summary = "dh_next/dC_next are never carried to the previous step, or carried without the forget gate."
    doc = """
What it finds
    In a backward loop, a gradient carried from step t to step t - 1 (zero before the loop,
    read inside it, like ``dh_next`` and ``dC_next``) that
    - is never assigned in the loop: the new value went into another name (``dh_prev = ...``)
      and the carried one stays zero;
    - is only ever set back to zero in the loop (``da_prevt = np.zeros((n_a, m))`` after the
      step's call), or is set to zero at the top of the loop body before anything reads it,
      so no step receives it just the same (a reset under a condition, as truncated
      backpropagation does every few steps, is not reported);
    - in a GRU, carries the hidden gradient only through the weights: the update
      ``h = z * h_prev + (1 - z) * n`` also hands ``dh * z`` straight to ``h_prev`` (``dh * (1 -
      z)`` where the update is written the other way round), and no term of the carry, or of a
      name it adds, is a product with the update gate;
    - is assigned but never read: the step's gradient never receives it. A name read only
      after the loop (``da0 = da_prevt``) is the loop's output where something else is handed
      from step to step; where nothing is, it is the carry that was dropped
      (``rnn_cell_backward(da[:, :, t], caches[t])``). A weight's gradient overwritten at each
      step is LST207's finding;
    - is set to zero before the loop (``da_prevt``, ``dh_next``) and never mentioned in it,
      while nothing at all is handed from one step to the previous;
    - is the cell gradient carried without the forget gate: ``dC_next = dC`` instead of
      ``dC_next = dC * f[t]``. A factor that may be the forget gate without being recognised
      as one (a sigmoid computed on the spot, a value the backward did not compute and the
      analysis knows nothing about) counts as the gate, and so does a gate applied where the
      carry is read (``dC = dC_next * f_next + ...`` with ``f_next = f[t + 1]``).
    - In an LSTM loop that hands other gradients from step to step (``dh_next``) but carries
      no cell gradient at all: the cell gradient, the name the forget gate's gradient
      multiplies by the previous cell state (``df = dc * c_prev``, also inside a layer's
      ``backward(dc * c_prev)``), is computed afresh from the hidden state's gradient at every
      step and nothing computed from it elementwise is handed on (a product with a weight is
      the hidden state's path, not the cell's). Reported where it is computed; a cell carry
      kept in an attribute or a slot (``self.dc_next = dc * f``) is not reported.
    It also reports a per-step backward (``lstm_step_backward(dnext_h, dnext_c, cache)``)
    that returns the previous cell's gradient
    - without the forget gate (``dprev_c = dnext_c``);
    - from the carried-in cell gradient alone (``dprev_c = dnext_c * f``) although the
      function computes the cell's full gradient, the carried part plus the part through the
      hidden state (``dc = dnext_c + dnext_h * o * (1 - tanh(c)**2)``), for the gates. A
      carried gradient updated in place first (``dnext_c += ...``) is the full one.

Why it breaks training
    With nothing carried, no gradient flows back through time: each step is trained as if it
    had no past, and the network cannot learn dependencies longer than one step. A cell
    gradient carried without its hidden-state part loses, at every step, what that step's
    output contributed to the loss through the cell: the earlier steps learn from a
    fraction of the signal.

Example
    dh_prev = dz[:hidden_size, :]      # dh_next stays zero
    dC_prev = f[t] * dC

    # a per-step backward
    dc = dnext_c + dnext_h * o * (1 - np.tanh(next_c) ** 2)
    dprev_c = dnext_c * f              # the part through next_h is lost

Fix
    dh_next = dz[:hidden_size, :]
    dC_next = f[t] * dC
    dprev_c = dc * f

Autofix
    - A carried gradient that is never assigned: yes when the loop stores the previous step's
      gradient in a dead variable (assigned once, after the carried one is read, from this
      step's gradients, and read nowhere in the function): that store's target is renamed
      (``dh_prev = ...`` -> ``dh_next = ...``, also as one element of an unpacked step
      result). For the cell gradient it must be the one dead store with the forget gate, for
      the hidden one the one without; with none or several there is no autofix. When the
      loop's step backward returns a dict of gradients (``gradients = lstm_cell_backward(...)``)
      with one entry for the previous step that fits the carried name
      (``gradients["da_prev"]`` for ``da_prevt``), the carry is assigned from it right after
      that call (a second such carry before the body's last statement).
    - A carried gradient only ever set back to zero: yes when the loop's one step call
      returns a dict with an entry that fits the carry: the reset takes that entry
      (``da_prevt = np.zeros(...)`` -> ``da_prevt = gradients["da_prev"]``).
    - A hidden-state carry set to zero and never used: yes when exactly one call in the loop
      takes a step of the upstream gradient first and returns a dict with an entry that fits
      the carry (``gradients["da_prev"]``): the carry is added to that argument and assigned
      from the entry before the body's last statement.
    - A carried gradient taken from each step but never added back: yes when exactly one call
      in the loop takes a step of the upstream gradient first (``rnn_cell_backward(da[:, :, t],
      ...)``): the carry is added to it (``da[:, :, t] + da_prevt``).
    - A cell gradient carried without the forget gate: yes, the value is multiplied by the
      forget gate as the code reads it (``dC`` -> ``dC * f[t]``); none when it reads it in
      several spellings.
    - A previous cell's gradient without the hidden-state part: yes, the carried-in gradient
      is replaced by the full one as the function writes it (the name it is assigned to,
      ``dnext_c * f`` -> ``dc * f``, or the sum itself, ``(dc_next + da_next * ...) * ft``).
    - A carried gradient that is never read: no (where it belongs in the step's gradient is a
      choice).
"""
    valid = [
        # a GRU's direct path through the update gate, in the carry's sum, in a name of its own,
        # or added on a line of its own
        Valid(GRU_DICT),
        Valid(GRU_PREALLOC),
        Valid(
            swap(
                GRU_DICT,
                "dh_next = dh * z[t] + drh * r[t]",
                "direct = dh * z[t]\n        dh_next = direct + drh * r[t]",
            )
        ),
        Valid(
            swap(
                GRU_PREALLOC,
                'carry = dh * z[t] + back * r[t] + self.U["z"].T @ dz + self.U["r"].T @ dr',
                "carry = np.multiply(dh, z[t])\n"
                '            carry += back * r[t] + self.U["z"].T @ dz + self.U["r"].T @ dr',
            )
        ),
        # the update written the other way round: h_prev's gate is 1 - z
        Valid(
            swap(
                swap(
                    swap(
                        swap(
                            GRU_DICT,
                            "h[t] = z[t] * h[t - 1] + (1 - z[t]) * hh[t]",
                            "h[t] = (1 - z[t]) * h[t - 1] + z[t] * hh[t]",
                        ),
                        "dhh = dh * (1 - z[t])",
                        "dhh = dh * z[t]",
                    ),
                    "dz = dh * (h[t - 1] - hh[t])",
                    "dz = dh * (hh[t] - h[t - 1])",
                ),
                "dh_next = dh * z[t] + drh",
                "dh_next = dh * (1 - z[t]) + drh",
            )
        ),
        # the cell gradient carried through an attribute of the layer
        Valid(
            swap(
                swap(
                    swap(
                        LAYER_OBJECTS,
                        "dc = self.squash[t].dinputs + dc_next",
                        "dc = self.squash[t].dinputs + self.dc_next",
                    ),
                    "dc_next = dc * self.forget[t].output",
                    "self.dc_next = dc * self.forget[t].output",
                ),
                "dc_next = np.zeros((n, 1))",
                "self.dc_next = np.zeros((n, 1))",
            )
        ),
        # truncated to one step on purpose: nothing at all is handed back
        Valid(
            swap(
                swap(
                    swap(
                        swap(LSTM_PREPENDED, "dC = dC_next + dh * o[t]", "dC = dh * o[t]"),
                        "        dC_next = dC * f[t]\n",
                        "",
                    ),
                    "dh = Wy.T @ dy + dh_next",
                    "dh = Wy.T @ dy",
                ),
                "        dh_next = dz[: h[0].shape[0]]\n",
                "",
            )
            .replace("    dC_next = np.zeros_like(C[-1])\n", "")
            .replace("    dh_next = np.zeros_like(h[-1])\n", "")
        ),
        Valid(NOTEBOOK_LOOP),
        Valid(FIRST_STEP_CARRY),
        # a zero carry left unused beside the name that is handed from step to step
        Valid(
            swap(
                NOTEBOOK_LOOP,
                "    da_prevt = np.zeros((n_a, m))\n",
                "    da_prevt = np.zeros((n_a, m))\n    da_next = np.zeros((n_a, m))\n",
            )
        ),
        Valid(DLAI_CELL),
        Valid(CLASS_CELL),
        # the carried-in gradient made the full one in place, then carried
        Valid(
            swap(
                swap(
                    CS231N_STEP,
                    "dc = dnext_c + dnext_h * o * (1 - np.tanh(next_c) ** 2)",
                    "dnext_c += dnext_h * o * (1 - np.tanh(next_c) ** 2)\n    dc = dnext_c",
                ),
                "dprev_c = dc * f",
                "dprev_c = dnext_c * f",
            )
        ),
        Valid(
            swap(
                swap(
                    LSTM_PREPENDED,
                    "dC = dC_next + dh * o[t] * (1 - np.tanh(C[t + 1]) ** 2)",
                    "dC_next = dC_next + dh * o[t] * (1 - np.tanh(C[t + 1]) ** 2)\n"
                    "        dC = dC_next",
                ),
                "dC_next = dC * f[t]",
                "dC_next = dC_next * f[t]",
            )
        ),
        Valid(LSTM_PREPENDED),
        Valid(MINCHAR_RNN),
        Valid(CS231N_STEP),
        # the forget gate applied where the carry is read, with the later step's gate
        Valid(
            swap(
                swap(
                    LSTM_PREPENDED,
                    "        dC = dC_next + dh * o[t] * (1 - np.tanh(C[t + 1]) ** 2)\n",
                    "        if t == len(ys) - 1:\n"
                    "            f_next = np.zeros_like(f[t])\n"
                    "        else:\n"
                    "            f_next = f[t + 1]\n"
                    "        dC = dC_next * f_next + dh * o[t] * (1 - np.tanh(C[t + 1]) ** 2)\n",
                ),
                "        dC_next = dC * f[t]\n",
                "        dC_next = dC\n",
            )
        ),
        # a loop that counts up and indexes from the end
        Valid(MINCHAR_FROM_END),
        # read first, then set to zero and filled for the previous step
        Valid(
            swap(
                MINCHAR_RNN,
                "        dhnext = Whh.T @ dhraw\n",
                "        dhnext = np.zeros_like(hs[0])\n        dhnext[:] = Whh.T @ dhraw\n",
            )
        ),
        # truncated backpropagation: the carry is dropped every few steps only
        Valid(
            swap(
                MINCHAR_RNN,
                "        dy = np.copy(ps[t])\n",
                "        if t % 10 == 0:\n"
                "            dhnext = np.zeros_like(hs[0])\n"
                "        dy = np.copy(ps[t])\n",
            )
        ),
        # the carried gradient overwritten in place
        Valid(swap(MINCHAR_RNN, "dhnext = Whh.T @ dhraw", "dhnext[:] = Whh.T @ dhraw")),
        Valid(swap(MINCHAR_RNN, "dhnext = Whh.T @ dhraw", "np.dot(Whh.T, dhraw, out=dhnext)")),
        # the forget gate recomputed in the backward, or read from a value not recognised
        Valid(
            swap(LSTM_PREPENDED, "dC_next = dC * f[t]", "dC_next = dC * sigmoid(Wf @ zs[t] + bf)")
        ),
        Valid(
            swap(
                swap(LSTM_PREPENDED, "dC_next = dC * f[t]", "dC_next = dC * gates[t][0]"),
                "    loss = 0.0\n",
                "    loss = 0.0\n    gates = list(zip(f, i, g, o))\n",
            )
        ),
        # the loop's output, written at each step (or at the last one) and returned after it
        # (a CS231n sequence backward): not a gradient meant to be carried
        Valid(
            CS231N_STEP
            + """

def lstm_backward(dh, cache):
    N, T, H = dh.shape
    dx = np.zeros((N, T, cache[0][0].shape[1]))
    dh0 = np.zeros((N, H))
    dh_prev = np.zeros((N, H))
    dc_prev = np.zeros((N, H))
    for t in reversed(range(T)):
        step = lstm_step_backward(dh[:, t] + dh_prev, dc_prev, cache[t])
        dx[:, t], dh_prev, dc_prev = step[0], step[1], step[2]
        dh0 = dh_prev
    return dx, dh0
"""
        ),
        Valid(
            swap(
                MINCHAR_RNN,
                "        dhnext = Whh.T @ dhraw\n",
                "        dhnext = Whh.T @ dhraw\n        if t == 0:\n            dh0 = dhnext\n",
            ).replace(
                "    dhnext = np.zeros_like(hs[0])\n",
                "    dhnext = np.zeros_like(hs[0])\n    dh0 = np.zeros_like(hs[0])\n",
            )
        ),
    ]
    invalid = [
        # a GRU's carried hidden gradient without its direct path through the update gate
        Invalid(
            swap(
                GRU_DICT,
                "dh_next = dh * z[t] + drh * r[t] + Uz.T @ dz_raw + Ur.T @ dr_raw",
                "dh_next = drh * r[t] + Uz.T @ dz_raw + Ur.T @ dr_raw  # bug",
            )
        ),
        Invalid(
            swap(
                GRU_PREALLOC,
                'carry = dh * z[t] + back * r[t] + self.U["z"].T @ dz + self.U["r"].T @ dr',
                'carry = back * r[t] + self.U["z"].T @ dz + self.U["r"].T @ dr  # bug',
            )
        ),
        # no cell carry at all: the cell gradient is computed afresh from dh at every step
        Invalid(
            swap(
                swap(
                    swap(
                        swap(LSTM_PREPENDED, "dC = dC_next + dh * o[t]", "dC = dh * o[t]"),
                        "(1 - np.tanh(C[t + 1]) ** 2)\n",
                        "(1 - np.tanh(C[t + 1]) ** 2)  # bug\n",
                    ),
                    "        dC_next = dC * f[t]\n",
                    "",
                ),
                "dbf += df",
                "grads[5] += df",
            ).replace("    dC_next = np.zeros_like(C[-1])\n", "")
        ),
        # the cell carry set up before the loop and computed, but never added: reported
        # where it is computed, not again where the cell gradient is
        Invalid(
            swap(
                swap(
                    LAYER_OBJECTS,
                    "dc = self.squash[t].dinputs + dc_next",
                    "dc = self.squash[t].dinputs",
                ),
                "dc_next = dc * self.forget[t].output",
                "dc_next = dc * self.forget[t].output  # bug",
            )
        ),
        Invalid(
            swap(
                swap(
                    CLASS_LSTM,
                    "dc = dc_next + dh_next * o * self.dtanh(tc)",
                    "dc = dh_next * o * self.dtanh(tc)  # bug",
                ),
                "            dc_next = dc * f\n",
                "",
            ).replace("        dc_next = np.zeros_like(self.cs[-1])\n", "")
        ),
        Invalid(
            swap(
                swap(
                    LAYER_OBJECTS,
                    "dc = self.squash[t].dinputs + dc_next",
                    "dc = self.squash[t].dinputs  # bug",
                ),
                "            dc_next = dc * self.forget[t].output\n",
                "",
            ).replace("        dc_next = np.zeros((n, 1))\n", "")
        ),
        Invalid(
            swap(
                swap(
                    MINCHAR_FROM_END, "dh = Why.T @ dy + dhnext", "dh = Why.T @ dy + dhnext  # bug"
                ),
                "dhnext = Whh.T @ dhraw",
                "dhprev = Whh.T @ dhraw",
            ),
            fixed=swap(
                MINCHAR_FROM_END, "dh = Why.T @ dy + dhnext", "dh = Why.T @ dy + dhnext  # bug"
            ),
        ),
        # the carried gradient is taken from each step and kept for da0, but never added
        Invalid(
            swap(
                swap(
                    NOTEBOOK_LOOP,
                    "rnn_cell_backward(da[:, :, t] + da_prevt, caches[t])",
                    "rnn_cell_backward(da[:, :, t], caches[t])",
                ),
                'da_prevt = gradients["da_prev"]',
                'da_prevt = gradients["da_prev"]  # bug',
            ),
            fixed=swap(
                NOTEBOOK_LOOP,
                'da_prevt = gradients["da_prev"]',
                'da_prevt = gradients["da_prev"]  # bug',
            ),
        ),
        # the carry is set to zero and never used at all: the step gets only the upstream part
        Invalid(
            swap(
                swap(
                    swap(
                        NOTEBOOK_LOOP,
                        "gradients = rnn_cell_backward(da[:, :, t] + da_prevt, caches[t])",
                        "gradients = rnn_cell_backward(da[:, :, t], caches[t])  # bug",
                    ),
                    '        da_prevt = gradients["da_prev"]\n',
                    "",
                ),
                "da0 = da_prevt",
                'da0 = gradients["da_prev"]',
            ),
            fixed=swap(
                swap(
                    NOTEBOOK_LOOP,
                    "gradients = rnn_cell_backward(da[:, :, t] + da_prevt, caches[t])",
                    "gradients = rnn_cell_backward(da[:, :, t] + da_prevt, caches[t])  # bug",
                ),
                "da0 = da_prevt",
                'da0 = gradients["da_prev"]',
            ),
        ),
        # a weight's gradient overwritten at each step is LST207's finding, not a dropped carry
        Invalid(
            swap(
                swap(
                    swap(
                        NOTEBOOK_LOOP,
                        "rnn_cell_backward(da[:, :, t] + da_prevt, caches[t])",
                        "rnn_cell_backward(da[:, :, t], caches[t])",
                    ),
                    'da_prevt = gradients["da_prev"]',
                    'da_prevt = gradients["da_prev"]  # bug',
                ),
                'dWaa += gradients["dWaa"]',
                'dWaa = gradients["dWaa"]',
            ),
            fixed=swap(
                swap(
                    NOTEBOOK_LOOP,
                    'da_prevt = gradients["da_prev"]',
                    'da_prevt = gradients["da_prev"]  # bug',
                ),
                'dWaa += gradients["dWaa"]',
                'dWaa = gradients["dWaa"]',
            ),
        ),
        # the previous cell's gradient from the carried-in part alone, in three styles
        Invalid(
            swap(CS231N_STEP, "dprev_c = dc * f", "dprev_c = dnext_c * f  # bug"),
            fixed=swap(CS231N_STEP, "dprev_c = dc * f", "dprev_c = dc * f  # bug"),
        ),
        Invalid(
            swap(
                DLAI_CELL,
                "dc_prev = (dc_next + da_next * ot * (1 - np.tanh(c_next) ** 2)) * ft",
                "dc_prev = dc_next * ft  # bug",
            ),
            fixed=swap(
                DLAI_CELL,
                "dc_prev = (dc_next + da_next * ot * (1 - np.tanh(c_next) ** 2)) * ft",
                "dc_prev = (dc_next + da_next * ot * (1 - np.tanh(c_next) ** 2)) * ft  # bug",
            ),
        ),
        Invalid(
            swap(LSTM_PREPENDED, "dC_next = dC * f[t]", "dC_next = dC_next * f[t]  # bug"),
            fixed=swap(LSTM_PREPENDED, "dC_next = dC * f[t]", "dC_next = dC * f[t]  # bug"),
        ),
        Invalid(
            swap(CLASS_CELL, "dc_prev = f * dc_total", "dc_prev = f * dc_next  # bug"),
            fixed=swap(CLASS_CELL, "dc_prev = f * dc_total", "dc_prev = f * dc_total  # bug"),
        ),
        Invalid(
            swap(MINCHAR_RNN, "dhnext = Whh.T @ dhraw", "dhnext = np.zeros_like(dhraw)  # bug")
        ),
        # set back to zero at the top of each step, before it is read
        Invalid(
            swap(
                MINCHAR_RNN,
                "        dy = np.copy(ps[t])\n",
                "        dhnext = np.zeros_like(hs[0])  # bug\n        dy = np.copy(ps[t])\n",
            )
        ),
        # the carries set back to zero on every step instead of taking the step's entries
        Invalid(
            CS231N_STEP
            + DICT_STEP_LOOP.replace(
                '        dx[:, t, :] = grads["dx"]\n',
                "        dh_prevt = np.zeros((N, H))  # bug\n"
                "        dc_prevt = np.zeros((N, H))  # bug\n"
                '        dx[:, t, :] = grads["dx"]\n',
            ),
            fixed=CS231N_STEP
            + DICT_STEP_LOOP.replace(
                '        dx[:, t, :] = grads["dx"]\n',
                '        dh_prevt = grads["dh_prev"]  # bug\n'
                '        dc_prevt = grads["dc_prev"]  # bug\n'
                '        dx[:, t, :] = grads["dx"]\n',
            ),
        ),
        # a step backward that returns a dict: the previous step's entries are never carried
        Invalid(
            CS231N_STEP + DICT_STEP_LOOP.replace("cache[t])\n", "cache[t])  # bug\n"),
            fixed=CS231N_STEP
            + DICT_STEP_LOOP.replace("cache[t])\n", "cache[t])  # bug\n")
            .replace(
                '        dx[:, t, :] = grads["dx"]\n',
                '        dc_prevt = grads["dc_prev"]\n        dx[:, t, :] = grads["dx"]\n',
            )
            .replace(
                '        db += grads["db"]\n',
                '        dh_prevt = grads["dh_prev"]\n        db += grads["db"]\n',
            ),
        ),
        Invalid(
            swap(
                swap(
                    LSTM_PREPENDED, "dh_next = dz[: h[0].shape[0]]", "dh_prev = dz[: h[0].shape[0]]"
                ),
                "dh = Wy.T @ dy + dh_next",
                "dh = Wy.T @ dy + dh_next  # bug",
            ),
            fixed=swap(
                LSTM_PREPENDED, "dh = Wy.T @ dy + dh_next", "dh = Wy.T @ dy + dh_next  # bug"
            ),
        ),
        Invalid(
            swap(LSTM_PREPENDED, "dC_next = dC * f[t]", "dC_next = dC  # bug"),
            fixed=swap(LSTM_PREPENDED, "dC_next = dC * f[t]", "dC_next = dC * f[t]  # bug"),
        ),
        Invalid(
            swap(CS231N_STEP, "dprev_c = dc * f", "dprev_c = dc  # bug"),
            fixed=swap(CS231N_STEP, "dprev_c = dc * f", "dprev_c = dc * f  # bug"),
        ),
    ]

    def check(self, model) -> Iterator[Report]:
        for carry in carries(model):
            if carry.reads and not carry.writes:
                yield Report(
                    carry.reads[0],
                    f"`{carry.name}` is read here but never updated in this loop, so it stays zero and "
                    "no gradient flows back through time",
                    f"assign the gradient for the previous step to `{carry.name}` at the end of the loop body",
                    self._facts(model, carry, "zeros"),
                    dead_store_edits(model, carry) or dict_carry_edits(model, carry),
                )
            elif resets := reset_writes(carry):
                yield Report(
                    resets[0],
                    f"`{carry.name}` is set back to zero here on every step, so the gradient "
                    "it carries to the previous step is always zero and none flows back "
                    "through time",
                    f"assign `{carry.name}` the step's gradient for the previous state",
                    self._facts(model, carry, "zeros"),
                    reset_carry_edits(model, carry),
                )
            elif (
                carry.writes
                and not carry.reads
                # read after the loop, it is the loop's output (`dh0`) where something else is
                # handed from step to step; where nothing is, it is the carry that was dropped
                and not (
                    read_after_loop(carry)
                    and (carried_names(carry.loop.loop.node) or WEIGHT_GRADIENT.match(carry.name))
                )
                # `if t == 0: dh0 = dh_prev`: the gradient of the initial state, kept once
                and not all(point.guarded for _, point in carry.writes)
            ):
                statement, _ = carry.writes[0]
                yield Report(
                    statement,
                    f"`{carry.name}` is computed here but never added to the step's gradient",
                    f"add `{carry.name}` to the gradient of the state at the top of the loop body",
                    self._facts(model, carry, "zeros"),
                    added_carry_edits(carry),
                )
            elif lacks_update_path(model, carry):
                statement, _ = carry.writes[-1]
                yield Report(
                    statement,
                    f"`{carry.name}` carries the hidden gradient to the previous step only "
                    "through the weights: the update h = z * h_prev + (1 - z) * n also hands "
                    "dh times the gate of h_prev (`dh * z`, or `dh * (1 - z)` where z and "
                    "1 - z are the other way round) straight to h_prev",
                    f"add `dh * z` (the gradient of h times the gate that multiplies h_prev "
                    f"in the update) to `{carry.name}`",
                    experiment_facts(None),
                )
            elif carry.is_cell:
                gap = loop_carry_without_hidden_path(model, carry)
                if gap is not None:
                    yield self._hidden_path(model, gap)
                    continue
                if gated_where_read(model, carry):
                    continue
                # what is carried to the previous step is the last value the body gives it
                for statement, point in carry.writes[-1:]:
                    value = statement_value(statement)
                    if value is not None and lacks_forget_gate(
                        model.reader(point), value, carry.assigned
                    ):
                        yield Report(
                            statement,
                            f"the cell gradient is carried to the previous step as `{cst.Module([]).code_for_node(value)}` "
                            "without the forget gate: dC_{t-1} = dC_t * f_t",
                            "multiply by the forget gate, e.g. `dC * f[t]`",
                            _carry_facts(model, point, value, carry.cell_gradients),
                            forget_edits(model, statement),
                        )
        for cell in uncarried_cells(model):
            yield Report(
                cell.statement,
                f"`{cell.name}` is the cell state's gradient (the forget gate's gradient "
                "multiplies it by the previous cell state), but nothing computed from it is "
                "handed to the previous step: the cell gradient of step t - 1 never receives "
                f"`{cell.name} * f`",
                f"carry `{cell.name} * f` to the previous step and add it to its cell gradient",
                experiment_facts(constant_spec(model, "carry_c", "zeros", read_only=True)),
            )
        for carry in unused_hidden_carries(model):
            edits = unused_carry_edits(model, carry)
            # where the carry belongs: the gradient the step is called with, when it is known
            upstream = added_carry_edits(carry)
            yield Report(
                upstream[0][0] if upstream else carry.init,
                f"`{carry.name}` is set to zero before the backward loop, which never uses it, "
                "and nothing else is handed from one step to the previous: the gradient of "
                "the previous hidden state is never carried back",
                f"add `{carry.name}` to the gradient each step is called with, and assign it "
                "the step's gradient for the previous hidden state",
                self._facts(model, carry, "zeros"),
                edits,
            )
        yield from self._step_functions(model)

    @staticmethod
    def _hidden_path(model, gap: HiddenPathGap) -> Report:
        value = code_of(gap.value)
        return Report(
            gap.statement,
            f"the previous cell's gradient is `{value}`: only the gradient carried in as "
            f"`{gap.incoming}`, without the part that reaches the cell through this step's "
            "hidden state (dc_prev = (dc_next + dh * o * (1 - tanh(c)**2)) * f)",
            f"use the cell's full gradient in place of `{gap.incoming}`"
            + (f", e.g. `{gap.full}`" if gap.full else ""),
            # that the name holds only the carried-in part is the analysis's reading
            experiment_facts(constant_spec(model, "carry_c", "carried", read_only=True)),
            hidden_path_edits(gap),
        )

    @staticmethod
    def _facts(model, carry, value: str) -> dict:
        return experiment_facts(
            constant_spec(model, "carry_c" if carry.is_cell else "carry_h", value)
        )

    def _step_functions(self, model) -> Iterator[Report]:
        for gap in carries_without_hidden_path(model):
            yield self._hidden_path(model, gap)
        for carry in step_cell_carries(model):
            yield Report(
                carry.statement,
                f"the previous cell's gradient is returned as `{cst.Module([]).code_for_node(carry.value)}`, "
                "without the forget gate: dc_prev = dc * f",
                "multiply by the forget gate, e.g. `dc * f`",
                _carry_facts(model, carry.point, carry.value, carry.cell_gradients),
                forget_edits(model, carry.statement),
            )


def _carry_facts(model, point, value, gradients: frozenset[str]) -> dict:
    """Replay the carried value itself; a name in it the analysis knows nothing about (a gate
    unpacked in a way it does not follow) leaves the finding unconfirmed rather than proved by
    the analysis's own reading."""
    unknown = unbound_name(model, point, value, gradients)
    if unknown is not None:
        return experiment_facts(
            None,
            f"the analysis does not know what `{unknown}` holds here, so replaying this code "
            "could only repeat its reading",
        )
    return experiment_facts(carry_spec(model, point, value, gradients))
