from collections.abc import Iterator

from lstmlint.analysis.crossed_deltas import crossed_deltas
from lstmlint.rule import Invalid, Report, Rule, Valid, experiment_facts

from ._programs import CLASS_LSTM, DLAI_CELL, LSTM_PREPENDED, MINCHAR_RNN, swap

_PASSED_BACK = "dz = Wf.T @ df + Wi.T @ di + Wg.T @ dg + Wo.T @ do"
_CLASS_PASSED_BACK = 'dz = p["Wf"].T @ df + p["Wi"].T @ di + p["Wg"].T @ dg + p["Wo"].T @ do'

# the class's gradients summed one by one into its dict
CLASS_NAMED_GRADIENTS = swap(
    CLASS_LSTM,
    """            for name, d in (("f", df), ("i", di), ("g", dg), ("o", do)):
                grads["W" + name] += d @ self.zs[t].T
                grads["b" + name] += d
""",
    """            grads["Wf"] += df @ self.zs[t].T
            grads["Wi"] += di @ self.zs[t].T
            grads["Wg"] += dg @ self.zs[t].T
            grads["Wo"] += do @ self.zs[t].T
""",
)


# the same with each weight's gradient an outer product of 1-D deltas
CLASS_OUTER = CLASS_NAMED_GRADIENTS
for _gate in "figo":
    CLASS_OUTER = swap(
        CLASS_OUTER,
        f'grads["W{_gate}"] += d{_gate} @ self.zs[t].T',
        f'grads["W{_gate}"] += np.outer(d{_gate}, self.zs[t])',
    )


class CrossedGateDelta(Rule):
    code = "LST214"
    name = "crossed-gate-delta"
    summary = "A weight passes back another weight's delta (`Wo.T @ df_raw` where `dWo` is computed from `do_raw`)."
    doc = """
What it finds
    In backward code, a product of a weight with a gradient (``np.dot(Wo.T, df_raw)``, the
    gradient passed back to the state or the input) where that gradient is the delta the
    function computes another weight's gradient from (``dWf += np.dot(df_raw, hx.T)``) and
    not one that any gradient of this weight uses (``dWo += np.dot(do_raw, hx.T)``): most
    often a line copied from the gate above it. Read within one function. A delta several
    weights share (a vanilla RNN's ``dhraw``, for ``dWxh`` and ``dWhh``) is not reported.

Why it breaks training
    The gradient passed back counts one gate's share twice and another's not at all. The
    weight gradients are right, so the last step learns normally; every earlier step gets a
    wrong hidden-state gradient and the network learns little beyond one step back.

Example
    dWo += np.dot(do_raw, hxs[t].T)
    dWf += np.dot(df_raw, hxs[t].T)
    dhxo = np.dot(Wo.T, df_raw)

Fix
    dhxo = np.dot(Wo.T, do_raw)

Autofix
    Yes, where the weight's own gradient is computed from one delta: that delta takes the
    other's place. No otherwise.
"""
    valid = [
        Valid(LSTM_PREPENDED),
        Valid(DLAI_CELL),
        # one delta for two weights
        Valid(MINCHAR_RNN),
        Valid(CLASS_NAMED_GRADIENTS),
        # the weight's own delta passed back under another name
        Valid(
            swap(
                LSTM_PREPENDED,
                _PASSED_BACK,
                "do_back = do\n        " + _PASSED_BACK.replace("@ do", "@ do_back"),
            )
        ),
        # gradients read from a dict under names built at run time: nothing to pair
        Valid(swap(CLASS_LSTM, 'p["Wg"].T @ dg', 'p["Wg"].T @ di')),
    ]
    invalid = [
        # weight gradients as outer products of 1-D deltas
        Invalid(
            swap(
                CLASS_OUTER,
                _CLASS_PASSED_BACK,
                _CLASS_PASSED_BACK.replace("dg", "di") + "  # bug",
            ),
            fixed=swap(CLASS_OUTER, _CLASS_PASSED_BACK, _CLASS_PASSED_BACK + "  # bug"),
        ),
        Invalid(
            swap(
                CLASS_NAMED_GRADIENTS,
                _CLASS_PASSED_BACK,
                _CLASS_PASSED_BACK.replace("dg", "di") + "  # bug",
            ),
            fixed=swap(CLASS_NAMED_GRADIENTS, _CLASS_PASSED_BACK, _CLASS_PASSED_BACK + "  # bug"),
        ),
        Invalid(
            swap(LSTM_PREPENDED, _PASSED_BACK, _PASSED_BACK[:-2] + "df  # bug"),
            fixed=swap(LSTM_PREPENDED, _PASSED_BACK, _PASSED_BACK + "  # bug"),
        ),
        Invalid(
            swap(DLAI_CELL, '+ parameters["Wo"].T @ dot', '+ parameters["Wo"].T @ dft  # bug'),
            fixed=swap(
                DLAI_CELL, '+ parameters["Wo"].T @ dot', '+ parameters["Wo"].T @ dot  # bug'
            ),
        ),
    ]

    def check(self, model) -> Iterator[Report]:
        for found in crossed_deltas(model):
            owners = ", ".join(f"`d{w}`" for w in found.owners)
            own = f"; `d{found.weight}` is computed from `{found.own}`" if found.own else ""
            yield Report(
                found.node,
                f"`{found.weight}` passes back `{found.node_text}`, the delta of {owners}, not one "
                f"of its own gradient{own}",
                f"use `{found.own}`"
                if found.own
                else f"use the delta `d{found.weight}` is computed from",
                experiment_facts(
                    None,
                    "which delta belongs to which weight is read from the code; the check of "
                    "your own code shows what the mix-up costs",
                ),
                [(found.node, found.own)] if found.own else [],
            )
