from collections.abc import Iterator

from lstmlint.analysis.names import code_of
from lstmlint.analysis.shared_layers import shared_layers
from lstmlint.rule import Invalid, Report, Rule, Valid, experiment_facts

from ._programs import LAYER_OBJECTS, LAYER_RNN, swap

_FRESH = "self.acts = [type(self.activation)() for _ in xs]"

# layers that keep nothing: one object may serve every step
STATELESS = swap(
    swap(
        swap(
            swap(
                LAYER_RNN,
                "        self.output = np.tanh(z)\n",
                "        return np.tanh(z)\n",
            ),
            "    def backward(self, dvalues):\n        self.dinputs = dvalues * (1 - self.output**2)",
            "    def backward(self, output, dvalues):\n        return dvalues * (1 - output**2)",
        ),
        "            self.acts[t].forward(self.Wx @ x + self.Wh @ self.hs[t] + self.b)\n"
        "            self.hs.append(self.acts[t].output)",
        "            self.hs.append(self.acts[t].forward(self.Wx @ x + self.Wh @ self.hs[t] + self.b))",
    ),
    "            self.acts[t].backward(dhs[t] + dh_next)\n            dz = self.acts[t].dinputs",
    "            dz = self.acts[t].backward(self.hs[t + 1], dhs[t] + dh_next)",
)


# the layer only keeps its output; the network applies the derivative itself
FORWARD_ONLY = swap(
    swap(
        LAYER_RNN,
        "\n    def backward(self, dvalues):\n        self.dinputs = dvalues * (1 - self.output**2)\n",
        "",
    ),
    "            self.acts[t].backward(dhs[t] + dh_next)\n            dz = self.acts[t].dinputs",
    "            dz = (dhs[t] + dh_next) * (1 - self.acts[t].output ** 2)",
)

# the layer hands back its results and reads what it kept in its own backward
RETURNING = swap(
    swap(
        swap(
            swap(
                LAYER_RNN,
                "        self.output = np.tanh(z)\n",
                "        self.output = np.tanh(z)\n        return self.output\n",
            ),
            "        self.dinputs = dvalues * (1 - self.output**2)",
            "        return dvalues * (1 - self.output**2)",
        ),
        "            self.acts[t].forward(self.Wx @ x + self.Wh @ self.hs[t] + self.b)\n"
        "            self.hs.append(self.acts[t].output)",
        "            self.hs.append(self.acts[t].forward(self.Wx @ x + self.Wh @ self.hs[t] + self.b))",
    ),
    "            self.acts[t].backward(dhs[t] + dh_next)\n            dz = self.acts[t].dinputs",
    "            dz = self.acts[t].backward(dhs[t] + dh_next)",
)


_LINEAR = """

class Linear:
    def __init__(self, n_in, n_out):
        self.W = np.zeros((n_out, n_in))

    def forward(self, x):
        self.x = x
        return self.W @ x

    def backward(self, dout):
        self.dW = dout @ self.x.T
        return self.W.T @ dout
"""


def _handed_to_run(made: str) -> str:
    """LAYER_RNN with its per-step list made by ``made`` and handed to a method that runs the
    steps."""
    return swap(
        swap(
            LAYER_RNN,
            _FRESH,
            f"{made}\n"
            "        self.acts = self.run(xs, acts)\n"
            "        return self.hs[1:]\n\n"
            "    def run(self, xs, acts):",
        ),
        "self.acts[t].forward(self.Wx @ x + self.Wh @ self.hs[t] + self.b)\n"
        "            self.hs.append(self.acts[t].output)\n"
        "        return self.hs[1:]",
        "acts[t].forward(self.Wx @ x + self.Wh @ self.hs[t] + self.b)\n"
        "            self.hs.append(acts[t].output)\n"
        "        return acts",
    ).replace("self.xs = xs\n", "self.xs = xs\n        steps = len(xs)\n")


class SharedStepLayer(Rule):
    code = "LST216"
    name = "shared-step-layer"
    summary = "One layer object is repeated for every time step (`[layer for _ in range(T)]`, `[Tanh()] * T`)."
    doc = """
What it finds
    A list of per-step layer objects that repeats one object: ``[layer for _ in range(T)]``
    (the same object every time round) or ``[Tanh()] * T`` (one object, T references), whose
    elements the code uses one per step (``acts[t].forward(z)``) and reads what a method kept
    (``acts[t].output``), where a class of the file keeps that attribute in a method other than
    ``__init__``. The list is matched by its name wherever it goes (an argument, ``self.acts``).
    Objects that keep nothing, and lists of arrays (``[np.zeros(n)] * T``), are not reported.

Why it breaks training
    Each step's forward overwrites what the step before kept in the one object, so after the
    forward every element's ``output`` is the last step's. The backward then applies the last
    step's derivative at every step: the gradients of every weight are wrong, with no error.

Example
    ACT = [Activation for i in range(T)]
    for t in range(T):
        ACT[t].forward(out)
        ht = ACT[t].output

Fix
    ACT = [type(Activation)() for i in range(T)]    # or [Tanh() for i in range(T)]

Autofix
    Yes: ``[Tanh()] * T`` -> ``[Tanh() for _ in range(T)]``, and a repeated object ``x`` ->
    ``type(x)()`` where every class of the file it may be is made with no argument. It changes
    the gradients, so it is applied only where the user's own gradient check verifies it (else
    with ``--unsafe-fixes``).
"""
    valid = [
        Valid(LAYER_RNN),
        Valid(LAYER_OBJECTS),
        Valid(FORWARD_ONLY),
        Valid(RETURNING),
        Valid(swap(STATELESS, _FRESH, "self.acts = [self.activation for _ in xs]")),
        # a history of arrays repeated: each slot is replaced, never written into
        Valid(
            swap(
                LAYER_OBJECTS,
                "self.hs = [np.zeros((self.n_hidden, 1))]",
                "self.hs = [np.zeros((self.n_hidden, 1))] * 1",
            )
        ),
    ]
    invalid = [
        Invalid(
            swap(LAYER_RNN, _FRESH, "self.acts = [self.activation for _ in xs]  # bug"),
            fixed=swap(LAYER_RNN, _FRESH, f"{_FRESH}  # bug"),
        ),
        Invalid(
            swap(
                LAYER_OBJECTS,
                "self.forget = [Sigmoid() for _ in range(steps)]",
                "self.forget = [Sigmoid()] * steps  # bug",
            ),
            fixed=swap(
                LAYER_OBJECTS,
                "self.forget = [Sigmoid() for _ in range(steps)]",
                "self.forget = [Sigmoid() for _ in range(steps)]  # bug",
            ),
        ),
        Invalid(
            swap(FORWARD_ONLY, _FRESH, "self.acts = [self.activation for _ in xs]  # bug"),
            fixed=swap(FORWARD_ONLY, _FRESH, f"{_FRESH}  # bug"),
        ),
        Invalid(
            swap(RETURNING, _FRESH, "self.acts = [self.activation for _ in xs]  # bug"),
            fixed=swap(RETURNING, _FRESH, f"{_FRESH}  # bug"),
        ),
        # a dense layer of the file could also be handed in, but nothing reads what it keeps
        Invalid(
            swap(LAYER_RNN, _FRESH, "self.acts = [self.activation for _ in xs]  # bug") + _LINEAR,
            fixed=swap(LAYER_RNN, _FRESH, f"{_FRESH}  # bug") + _LINEAR,
        ),
        # an activation made with an argument: no object can be made in its place
        Invalid(
            swap(
                swap(LAYER_RNN, _FRESH, "self.acts = [self.activation for _ in xs]  # bug"),
                "class Tanh:\n",
                "class Tanh:\n    def __init__(self, scale):\n        self.scale = scale\n\n",
            )
        ),
        # the list handed to the loop as an argument, under the same name
        Invalid(
            _handed_to_run("acts = steps * [self.activation]  # bug"),
            fixed=_handed_to_run("acts = [type(self.activation)() for _ in range(steps)]  # bug"),
        ),
    ]

    def check(self, model) -> Iterator[Report]:
        for found in shared_layers(model):
            classes = " or ".join(f"`{c}`" for c in found.classes)
            yield Report(
                found.node,
                f"`{found.name}` holds one object, `{code_of(found.element)}`, for every step: "
                f"each step's forward overwrites what the {classes} object kept for the step "
                "before, so the backward reads the last step's values at every step",
                "make a new object per step" + (f": `{found.edit[1]}`" if found.edit else ""),
                experiment_facts(
                    None,
                    "the reference models keep no layer objects; the check of your own code "
                    "shows what sharing one costs",
                ),
                [found.edit] if found.edit else [],
            )
