from collections.abc import Iterator

from lstmlint.analysis.offsets import offset_problems
from lstmlint.analysis.wrapped_views import copy_edit, wrapped_views
from lstmlint.rule import Invalid, Report, Rule, Valid, experiment_facts, reports_for

from ._programs import (
    BATCHED_STACKED,
    CS231N_STEP,
    LAYER_OBJECTS,
    LSTM_PREPENDED,
    MINCHAR_FROM_END,
    MINCHAR_NAMED_STEP,
    MINCHAR_RNN,
    STATES_AS_ARGUMENTS_CALLED,
    swap,
)

# a CS231n-style forward over a time-first array whose last slot holds h0 first
LAST_SLOT_FORWARD = """

def lstm_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    h = np.zeros((T, N, h0.shape[1]))
    c = np.zeros((T, N, h0.shape[1]))
    h[-1] = h0
    caches = []
    for t in range(T):
        h[t], c[t], cache = lstm_step_forward(x[:, t], h[t - 1], c[t - 1], Wx, Wh, b)
        caches.append(cache)
    return h.transpose(1, 0, 2), caches
"""

# the layer objects' forward returns what it keeps, and the cell history has no initial state
LAYERS_RETURNING = swap(
    swap(
        swap(
            swap(
                swap(
                    LAYER_OBJECTS,
                    "        self.output = np.tanh(z)\n",
                    "        self.output = np.tanh(z)\n        return self.output\n",
                ),
                "self.cs = [np.zeros((self.n_hidden, 1))]",
                "self.cs = []\n        c = np.zeros((self.n_hidden, 1))",
            ),
            "c = f * self.cs[t] + i * g\n            self.squash[t].forward(c)\n"
            "            h = self.out[t].output * self.squash[t].output",
            "c = f * c + i * g\n            h = self.out[t].output * self.squash[t].forward(c)",
        ),
        "self.forget[t].backward(dc * self.cs[t])",
        "self.forget[t].backward(dc * (self.cs[t - 1] if t > 0 else np.zeros_like(dc)))",
    ),
    "z = np.vstack((self.hs[t], self.xs[t]))",
    "z = np.vstack((self.hs[t], self.xs[t]))  # the previous h: hs starts with h0",
)

# the deeplearning.ai layout: time last, a[:, :, -1] set to a0
TIME_LAST_FORWARD = """
import numpy as np


def rnn_cell_forward(xt, a_prev, parameters):
    a_next = np.tanh(parameters["Wax"] @ xt + parameters["Waa"] @ a_prev + parameters["ba"])
    return a_next, (a_next, a_prev, xt, parameters)


def rnn_forward(x, a0, parameters):
    n_x, m, T_x = x.shape
    a = np.zeros((a0.shape[0], m, T_x))
    a[:, :, -1] = a0
    caches = []
    for t in range(T_x):
        a_next, cache = rnn_cell_forward(x[:, :, t], a[:, :, t - 1], parameters)
        a[:, :, t] = a_next
        caches.append(cache)
    return a, caches
"""


class PrevStateOffset(Rule):
    code = "LST101"
    name = "prev-state-offset"
    summary = "The previous cell or hidden state is read with the wrong index in the backward loop."
    doc = """
What it finds
    In a backward (BPTT) loop, a read of the previous step's cell or hidden state at the wrong
    index. The right index depends on how the forward pass stored its history:
    - initial state prepended (``h_s = [h0]`` then one append per step): step t is at t + 1,
      so the previous state is ``C[t]``; ``C[t - 1]`` is two steps back;
    - dict keyed from -1 (``hs[-1] = hprev``): the previous state is ``hs[t - 1]``;
    - list or array without the initial state: ``hs[t - 1]`` is right for t > 0 but wraps
      around to the LAST element at t == 0.
    The convention is inferred from the forward pass, followed through calls, returns,
    attributes and dict keys; where it cannot be inferred the rule stays silent. The backward
    loop may walk down (``reversed(range(T))``, ``range(T - 1, -1, -1)``, ``while t >= 0``)
    or count up and name the step it walks down (``t = T - 1 - i``) or index from the end
    (``hs[T - i - 1]`` is its step, ``hs[T - i - 2]`` the step before).

    It also reports a forward loop that keeps the initial state in the last slot of an array
    of exactly T steps (``h = np.zeros((T, N, H)); h[-1] = h0``) and hands ``h[t - 1]`` to a
    step function of the file: at t == 0 that is a view of ``h[-1]``, the slot the last step
    overwrites, so a step that keeps its argument (in its cache) sees the last hidden state
    where the initial one belongs. An array with a slot of its own for the initial state
    (``np.zeros((T + 1, H))``) is not reported.

Why it breaks training
    The forget-gate gradient ``dC * C_prev`` (and the recurrent weight gradient
    ``dh_raw @ h_prev.T``) is then computed against the wrong state. With the last-slot view,
    the forward values are right and only the first step's gradients are wrong, which no
    output shows. Nothing crashes; the
    gradients of every gate weight are simply wrong and the loss stalls.

Example
    C_prev = C[t - 1]          # C = [C0, C_0, C_1, ...]: this is C_{t-2}
    df = dC * C_prev

    h[-1] = h0
    for t in range(T):
        h[t], cache = rnn_step_forward(x[:, t], h[t - 1], Wx, Wh, b)   # cache keeps a view

Fix
    C_prev = C[t]              # the previous cell state under this convention
    h[t], cache = rnn_step_forward(x[:, t], h[t - 1].copy(), Wx, Wh, b)

Autofix
    Yes: the time index is moved to the step the context needs (``t - 1`` -> ``t``), or a
    variable that holds the wrong step is replaced by the one variable that holds the right
    one. A read that wraps around at t == 0 gets a zero initial state there
    (``(hs[t - 1] if t > 0 else np.zeros_like(hs[t]))``), the most common start, but only
    where no reference replay confirms the finding: whether the initial state was zero only a
    check of your own code can show, so ``--fix`` applies it when that check did. None when
    several variables hold the wanted state. The last-slot view:
    yes, the step gets a copy (``h[t - 1]`` -> ``h[t - 1].copy()``).
"""
    valid = [
        Valid(BATCHED_STACKED),
        # a slot of its own for the initial state
        Valid(
            swap(
                TIME_LAST_FORWARD,
                "a = np.zeros((a0.shape[0], m, T_x))",
                "a = np.zeros((a0.shape[0], m, T_x + 1))",
            )
        ),
        # the view consumed at once by NumPy, never kept
        Valid(
            swap(
                TIME_LAST_FORWARD,
                "a_next, cache = rnn_cell_forward(x[:, :, t], a[:, :, t - 1], parameters)",
                "a_next = np.tanh(parameters['Waa'] @ a[:, :, t - 1])\n        cache = None",
            )
        ),
        Valid(LSTM_PREPENDED),
        Valid(MINCHAR_RNN),
        # activation layer objects: `layer.forward(z)` then `layer.output`, or what it returns
        Valid(LAYER_OBJECTS),
        Valid(LAYERS_RETURNING),
        # loops that count up and walk time down: the step named, or indices from the end
        Valid(MINCHAR_NAMED_STEP),
        Valid(MINCHAR_FROM_END),
        # a readout's weight gradient written as a broadcast product needs the current h
        Valid(swap(LSTM_PREPENDED, "dWy += dy @ h[t + 1].T", "dWy += dy * h[t + 1].T")),
    ]
    invalid = [
        # the current cell state read from a time-first array where the previous one belongs
        Invalid(
            swap(
                BATCHED_STACKED,
                "dA[t, :, H : 2 * H] = c_before * dc",
                "dA[t, :, H : 2 * H] = C[t] * dc  # bug",
            ),
            fixed=swap(
                BATCHED_STACKED,
                "dA[t, :, H : 2 * H] = c_before * dc",
                "dA[t, :, H : 2 * H] = c_before * dc  # bug",
            ),
        ),
        # the reference replays the read, so no zero start is offered: it could be confirmed
        # there although the user's initial state is not zero
        Invalid(
            swap(
                STATES_AS_ARGUMENTS_CALLED,
                "d_V += d_f @ (hidden_states[t - 1] if t > 0 else np.zeros_like(d_f)).T",
                "d_V += d_f @ hidden_states[t - 1].T  # bug",
            ),
        ),
        # beside an LSTM no one reference model replays the RNN's read: a zero start is offered,
        # for a check of the user's own code to verify
        Invalid(
            LSTM_PREPENDED
            + swap(
                STATES_AS_ARGUMENTS_CALLED,
                "d_V += d_f @ (hidden_states[t - 1] if t > 0 else np.zeros_like(d_f)).T",
                "d_V += d_f @ hidden_states[t - 1].T  # bug",
            ),
            fixed=LSTM_PREPENDED
            + swap(
                STATES_AS_ARGUMENTS_CALLED,
                "d_V += d_f @ (hidden_states[t - 1] if t > 0 else np.zeros_like(d_f)).T",
                "d_V += d_f @ (hidden_states[t - 1] if t > 0 else np.zeros_like(hidden_states[t])).T"
                "  # bug",
            ),
        ),
        Invalid(
            swap(
                CS231N_STEP + LAST_SLOT_FORWARD,
                "h[t], c[t], cache = lstm_step_forward(x[:, t], h[t - 1], c[t - 1], Wx, Wh, b)",
                "h[t], c[t], cache = lstm_step_forward(x[:, t], h[t - 1], c[t - 1], Wx, Wh, b)"
                "  # bug",
            ),
            fixed=swap(
                CS231N_STEP + LAST_SLOT_FORWARD,
                "h[t], c[t], cache = lstm_step_forward(x[:, t], h[t - 1], c[t - 1], Wx, Wh, b)",
                "h[t], c[t], cache = lstm_step_forward(x[:, t], h[t - 1].copy(), c[t - 1], Wx, "
                "Wh, b)  # bug",
            ),
        ),
        # the step index from enumerate, the input step from the iteration
        Invalid(
            swap(
                swap(
                    CS231N_STEP + LAST_SLOT_FORWARD,
                    "    for t in range(T):\n",
                    "    for t, x_t in enumerate(x.transpose(1, 0, 2)):\n",
                ),
                "lstm_step_forward(x[:, t], h[t - 1], c[t - 1], Wx, Wh, b)",
                "lstm_step_forward(x_t, h[t - 1], c[t - 1], Wx, Wh, b)  # bug",
            ),
            fixed=swap(
                swap(
                    CS231N_STEP + LAST_SLOT_FORWARD,
                    "    for t in range(T):\n",
                    "    for t, x_t in enumerate(x.transpose(1, 0, 2)):\n",
                ),
                "lstm_step_forward(x[:, t], h[t - 1], c[t - 1], Wx, Wh, b)",
                "lstm_step_forward(x_t, h[t - 1].copy(), c[t - 1], Wx, Wh, b)  # bug",
            ),
        ),
        Invalid(
            swap(
                TIME_LAST_FORWARD,
                "rnn_cell_forward(x[:, :, t], a[:, :, t - 1], parameters)",
                "rnn_cell_forward(x[:, :, t], a[:, :, t - 1], parameters)  # bug",
            ),
            fixed=swap(
                TIME_LAST_FORWARD,
                "rnn_cell_forward(x[:, :, t], a[:, :, t - 1], parameters)",
                "rnn_cell_forward(x[:, :, t], a[:, :, t - 1].copy(), parameters)  # bug",
            ),
        ),
        Invalid(
            swap(
                LAYER_OBJECTS,
                "self.forget[t].backward(dc * self.cs[t])",
                "self.forget[t].backward(dc * self.cs[t - 1])  # bug",
            ),
            fixed=swap(
                LAYER_OBJECTS,
                "self.forget[t].backward(dc * self.cs[t])",
                "self.forget[t].backward(dc * self.cs[t])  # bug",
            ),
        ),
        Invalid(
            swap(
                LAYER_OBJECTS,
                "z = np.vstack((self.hs[t], self.xs[t]))",
                "z = np.vstack((self.hs[t - 1], self.xs[t]))  # bug",
            ),
            fixed=swap(
                LAYER_OBJECTS,
                "z = np.vstack((self.hs[t], self.xs[t]))",
                "z = np.vstack((self.hs[t], self.xs[t]))  # bug",
            ),
        ),
        Invalid(
            swap(
                LAYERS_RETURNING,
                "z = np.vstack((self.hs[t], self.xs[t]))  # the previous h: hs starts with h0",
                "z = np.vstack((self.hs[t - 1], self.xs[t]))  # bug",
            ),
            fixed=swap(
                LAYERS_RETURNING,
                "z = np.vstack((self.hs[t], self.xs[t]))  # the previous h: hs starts with h0",
                "z = np.vstack((self.hs[t], self.xs[t]))  # bug",
            ),
        ),
        Invalid(
            swap(LSTM_PREPENDED, "        C_prev = C[t]\n", "        C_prev = C[t - 1]  # bug\n"),
            fixed=swap(LSTM_PREPENDED, "        C_prev = C[t]\n", "        C_prev = C[t]  # bug\n"),
        ),
        Invalid(
            swap(
                MINCHAR_FROM_END,
                "dWhh += dhraw @ hs[T - i - 2].T",
                "dWhh += dhraw @ hs[T - i - 3].T  # bug",
            ),
            fixed=swap(
                MINCHAR_FROM_END,
                "dWhh += dhraw @ hs[T - i - 2].T",
                "dWhh += dhraw @ hs[T - i - 2].T  # bug",
            ),
        ),
        Invalid(
            swap(
                MINCHAR_NAMED_STEP,
                "dWhh += dhraw @ hs[t - 1].T",
                "dWhh += dhraw @ hs[t - 2].T  # bug",
            ),
            fixed=swap(
                MINCHAR_NAMED_STEP,
                "dWhh += dhraw @ hs[t - 1].T",
                "dWhh += dhraw @ hs[t - 1].T  # bug",
            ),
        ),
        Invalid(
            swap(MINCHAR_RNN, "dWhh += dhraw @ hs[t - 1].T", "dWhh += dhraw @ hs[t - 2].T  # bug"),
            fixed=swap(
                MINCHAR_RNN, "dWhh += dhraw @ hs[t - 1].T", "dWhh += dhraw @ hs[t - 1].T  # bug"
            ),
        ),
    ]

    def check(self, model) -> Iterator[Report]:
        yield from reports_for(self.code, offset_problems(model))
        # no gate on recognised RNN code: a step fed its own last output is a recurrence
        for view in wrapped_views(model.module):
            yield Report(
                view.node,
                f"at t == 0 this is a view of `{view.name}`'s last slot, which holds the initial "
                "state until the last step overwrites it: a step that keeps its argument (its "
                "cache) then holds the last state where the initial one belongs",
                "hand the step a copy, or give the initial state a slot of its own",
                experiment_facts(
                    None,
                    "a view kept past the step that overwrites it is not something the "
                    "reference model replays; running your own code shows it",
                ),
                copy_edit(view),
            )
