"""The repair search (``harness/repair.py``): which edits it tries and which it accepts."""

from __future__ import annotations

from lstmlint.harness import repair

BACKWARD = """\
def backward(hs, dhs, W):
    dW = 0
    for t in reversed(range(len(hs))):
        dh = W @ dhs[t]
        dW = dh @ hs[t - 1].T
        h = hs[t]
    return dW
"""


def _replacements() -> set[str]:
    return {e["replacement"] for e in repair.candidates(BACKWARD, [[1, 7]])}


def test_the_candidates_undo_known_kinds_of_bug() -> None:
    found = _replacements()
    assert {"W.T", "dhs[t].T", "(W @ dhs[t]).T"} <= found  # transposes in `dh = W @ dhs[t]`
    assert {"hs[t - 1]", "(dh @ hs[t - 1].T).T"} <= found  # `.T` taken off, or on the product
    assert {"t - 2", "t"} <= found  # the neighbouring steps of `hs[t - 1]`
    assert "dW += dh @ hs[t - 1].T" in found  # summed instead of assigned
    # a statement that computes no gradient (`h = hs[t]`) is never edited: the loss stays
    assert not any(e["line"] == 6 for e in repair.candidates(BACKWARD, [[1, 7]]))
    assert repair.candidates(BACKWARD, [[1, 3]]) == []  # nor what lies outside the spans


def _outcome(loss: float, **verdicts: str) -> dict:
    params = {n: {"verdict": v, "error": 1.0 if v != "PASS" else 1e-9} for n, v in verdicts.items()}
    return {"status": "ok", "loss": loss, "params": params, "how": "test"}


def test_an_edit_is_a_repair_only_when_it_fixes_without_breaking_or_moving_the_loss() -> None:
    start = _outcome(1.0, W="FAIL", b="PASS")
    outcomes = {
        "W.T": _outcome(2.0, W="PASS", b="PASS"),  # exact, but the loss moved
        "dhs[t].T": _outcome(1.0, b="PASS"),  # W no longer checked at all: not a repair
        "(W @ dhs[t]).T": _outcome(1.0, W="PASS", b="FAIL"),  # breaks b
        "t": _outcome(1.0, W="PASS", b="PASS"),  # the repair
    }

    def check(text: str) -> dict:
        for replacement, outcome in outcomes.items():
            if repair.apply(BACKWARD, _edit(replacement)) == text:
                return outcome
        return _outcome(1.0, W="FAIL", b="PASS")

    def _edit(replacement: str) -> dict:
        return next(
            e for e in repair.candidates(BACKWARD, [[1, 7]]) if e["replacement"] == replacement
        )

    (found,) = repair.search(BACKWARD, [[1, 7]], check, start, 10.0, [])
    assert found["edit"]["replacement"] == "t" and found["edit"]["line"] == 5
    # with only the false candidates, nothing is accepted
    del outcomes["t"]
    assert repair.search(BACKWARD, [[1, 7]], check, start, 10.0, []) == []


def test_apply_replaces_exactly_the_span() -> None:
    (edit,) = [e for e in repair.candidates(BACKWARD, [[1, 7]]) if e["replacement"] == "W.T"]
    assert repair.apply(BACKWARD, edit).splitlines()[3] == "        dh = W.T @ dhs[t]"
