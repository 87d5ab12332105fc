"""Known-good NumPy reference models whose backward can replay a suspected bug through named slots.

Conventions (shared by ``lstm``, ``gru`` and ``rnn``):

* float64 throughout; every per-step value is a column of shape (n, 1); one sequence, no batch.
* Inputs are token indices; x_t is their one-hot column (V x 1). Targets are token indices too.
* LSTM: z_t = [h_{t-1}; x_t]; four separate matrices W_f, W_i, W_g, W_o of shape H x (H + V)
  with biases b_f, b_i, b_g, b_o (H x 1). f, i, o = sigmoid, g = tanh;
  c_t = f * c_{t-1} + i * g; h_t = o * tanh(c_t).
* GRU: z = sigmoid(W_z x + U_z h_prev + b_z), r = sigmoid(W_r x + U_r h_prev + b_r),
  n = tanh(W_n x + r * (U_n h_prev) + b_n), h = (1 - z) * n + z * h_prev.
  W_* are H x V, U_* are H x H, one bias per gate.
* Vanilla RNN: h = tanh(W_xh x + W_hh h_prev + b_h).
* Readout for all three: p_t = softmax(W_y h_t + b_y), W_y is V x H, b_y is V x 1.
* Loss: sum over t of -log p_t[target_t] (a sum, not a mean, so the logit gradient is p - y).
* Initial states h0 (and c0 for the LSTM) default to zeros.
* Parameters are dicts name -> ndarray; gradients come back with the same keys and shapes.

Each model module has ``init_params``, ``forward`` (returns a ``Cache``), ``loss``, ``backward``
and ``SLOTS`` (slot name -> description). ``backward(..., hooks={slot: fn})`` replaces the value
at a slot with ``fn(view)``, where ``view`` is a ``StepView`` of the current step.
"""

from __future__ import annotations

from lstmlint.reference import gru, lstm, rnn
from lstmlint.reference.common import SlotError, StepView, cross_entropy, sigmoid, softmax

MODELS = {"lstm": lstm, "gru": gru, "rnn": rnn}

__all__ = [
    "MODELS",
    "SlotError",
    "StepView",
    "cross_entropy",
    "gru",
    "lstm",
    "rnn",
    "sigmoid",
    "softmax",
]
