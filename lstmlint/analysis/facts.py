"""What a stored value holds, as far as the RNN model is concerned."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import libcst as cst

# kinds
ACT = "act"  # output of an activation: act is "sigmoid" or "tanh"
STATE = "state"  # a recurrent state: state is "h" or "c"
PRE = "pre"  # a pre-activation (gate inputs)
PROB = "prob"  # probabilities out of a softmax
EXP = "exp"  # np.exp(...) on the way to a softmax
SEQ = "seq"  # a per-step history (list, dict or array indexed by time)
TUPLE = "tuple"
DICT = "dict"
ZEROS = "zeros"  # a freshly allocated array
DERIV = "deriv"  # the value of a derivative helper
SHIFTED = "shifted"  # logits with their maximum subtracted
LAYER = "layer"  # an activation layer object (helpers.ActivationClass): layer names its class

# history conventions
PREPENDED = "prepended"  # element 0 is the initial state; step t lives at t + 1
ALIGNED = "aligned"  # step t lives at t; there is no initial state in the history
FROM_MINUS_1 = "from_minus_1"  # a dict with the initial state at key -1; step t lives at t


@dataclass(frozen=True)
class Fact:
    kind: str
    act: str | None = None
    gate: str | None = None
    state: str | None = None
    step: int | None = 0  # for states: 0 current step, -1 previous step; None unknown
    wraps: bool = False  # read at index -1 of a list/array: the last element, not the initial state
    safe: bool = False  # probabilities clamped away from 0
    stable: bool = True  # exp of max-shifted logits
    elem: Fact | None = None  # for SEQ
    container: str | None = None  # for SEQ: "list", "dict", "array"
    convention: str | None = None  # for SEQ
    items: tuple[Fact | None, ...] = ()  # for TUPLE
    keys: tuple[tuple[str, Fact | None], ...] = ()  # for DICT
    segments: tuple[tuple[int, int, Fact], ...] = ()  # stacked gates: (start, end) in units of H
    layer: str | None = None  # for LAYER: the class
    applied_to: str | None = None  # for ACT: the state it squashes (`tc = np.tanh(c)`: "c")
    origin: cst.CSTNode | None = field(default=None, compare=False, hash=False, repr=False)
    origin_text: str | None = field(default=None, compare=False, hash=False)

    def with_(self, **changes) -> Fact:
        return replace(self, **changes)

    @property
    def is_state(self) -> bool:
        return self.kind == STATE

    def item(self, index: int) -> Fact | None:
        return self.items[index] if 0 <= index < len(self.items) else None

    def key(self, name: str) -> Fact | None:
        for key, value in self.keys:
            if key == name:
                return value
        return None


def state(kind: str, step: int | None = 0, act: str | None = None) -> Fact:
    return Fact(STATE, state=kind, step=step, act=act)


def merge(old: Fact | None, new: Fact | None) -> Fact | None:
    """Combine what two assignments say about one location: keep what they agree on."""
    if old is None:
        return new
    if new is None:
        return old
    if old == new:
        return old
    if old.kind == new.kind:
        return new
    return new
