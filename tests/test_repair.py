"""The repair search (``harness/repair.py``): which edits it tries and which it accepts."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

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


def _candidates(
    text: str, spans: list[list[int]] | None = None, kinds: tuple[str, ...] = tuple(repair.KINDS)
) -> set[tuple[int, str]]:
    found = repair.candidates(text, spans or [[1, len(text.splitlines())]])
    return {(e["line"], e["replacement"]) for e in found if e["kind"] in kinds}


def test_only_statements_assigning_a_gradient_are_edited() -> None:
    text = (
        "def backward(W, x, grads, h):\n"
        "    out = W @ x\n"  # the forward's values, the loss: never
        "    d_x = W @ x\n"  # d..., grad... in any case, a subscript, a tuple holding one
        "    Grad = W @ x\n"
        "    grads['W'] = W @ x\n"
        "    (a, dB) = W @ x, 0\n"
        "    dW += W @ x\n"
        "    h.W = W @ x\n"
        "    a, b = W @ x, 0\n"
        "    return d_x\n"
    )
    assert {line for line, _ in _candidates(text)} == {3, 4, 5, 6, 7}
    # the spans are inclusive: a statement is edited only when all of it lies within one
    assert {line for line, _ in _candidates(text, [[4, 5], [7, 7]])} == {4, 5, 7}
    assert _candidates("def f(W, x):\n    dW = (W\n          @ x)\n", [[1, 2]]) == set()


def test_the_products_are_matmul_dot_and_matmul_calls_of_two_arguments() -> None:
    text = (
        "def backward(W, x, np):\n"
        "    d1 = np.dot(W, x)\n"
        "    d2 = dot(W, x)\n"
        "    d3 = np.matmul(W, x.T)\n"
        "    d4 = np.dot(W, x, out)\n"
        "    d5 = np.dot(W, b=x)\n"
        "    d6 = np.add(W, x)\n"
        "    d7 = W * x\n"
        "    d8 = (W + 1) @ x\n"
        "    d9 = matmul(W, x)\n"
    )
    found = _candidates(text, kinds=("transpose",))
    assert {(10, "W.T"), (10, "x.T"), (10, "(matmul(W, x)).T")} <= found
    assert {(2, "W.T"), (2, "x.T"), (2, "(np.dot(W, x)).T")} <= found
    assert {(3, "W.T"), (3, "x.T"), (3, "(dot(W, x)).T")} <= found
    assert {(4, "W.T"), (4, "x"), (4, "(np.matmul(W, x.T)).T")} <= found
    assert {(9, "(W + 1).T"), (9, "x.T")} <= found
    assert not {line for line, _ in found} & {5, 6, 7, 8}


def test_a_history_read_moves_to_the_neighbouring_steps_of_a_loop_variable() -> None:
    text = (
        "def backward(hs, n):\n"
        "    for t, s in enumerate(range(n)):\n"
        "        da = hs[t]\n"
        "        db = hs[t + 1]\n"
        "        dc = hs[s - 2]\n"
        "        dd = hs[n]\n"  # not a loop variable
        "        de = hs[t * 2]\n"
        "        df = hs[1 + t]\n"
        "        dg = hs[t + n]\n"
        "        dh = hs[t + 1.0]\n"
    )
    steps = _candidates(text, [[1, 10]], kinds=("step",))
    assert steps == {
        (3, "t - 1"),
        (3, "t + 1"),
        (4, "t"),
        (4, "t + 2"),
        (5, "s - 3"),
        (5, "s - 1"),
    }
    (edit,) = [e for e in repair.candidates(text, [[4, 4]]) if e["replacement"] == "t + 2"]
    assert (edit["kind"], edit["column"], edit["end_column"]) == ("step", 17, 22)


def test_only_a_plain_gradient_assigned_in_a_loop_is_made_to_add_up() -> None:
    text = (
        "def backward(xs, W):\n"
        "    dA = W @ xs[0]\n"  # before the loop
        "    for t in range(3):\n"
        "        dW = W @ xs[t]\n"
        "        grads['W'] = W @ xs[t]\n"
        "        dU, dV = W, W\n"
        "        if t:\n"
        "            dX = W\n"  # in the loop, but in an `if`'s body
        "    return dW\n"
    )
    sums = {(e["line"], e["replacement"]) for e in repair.candidates(text, [[1, 9]])}
    assert {s for s in sums if "+=" in s[1]} == {(4, "dW += W @ xs[t]")}
    (edit,) = [e for e in repair.candidates(text, [[1, 9]]) if e["kind"] == "accumulate"]
    assert (edit["line"], edit["column"], edit["end_line"], edit["end_column"]) == (4, 9, 4, 23)


def test_each_edit_says_its_kind() -> None:
    kinds = {e["replacement"]: e["kind"] for e in repair.candidates(BACKWARD, [[1, 7]])}
    assert kinds["W.T"] == kinds["hs[t - 1]"] == kinds["(W @ dhs[t]).T"] == "transpose"
    assert kinds["t - 2"] == "step" and kinds["dW += dh @ hs[t - 1].T"] == "accumulate"
    assert set(kinds.values()) <= set(repair.KINDS)


def test_an_edit_of_several_lines_keeps_their_breaks() -> None:
    text = "def f(W, x, xs):\n    for t in xs:\n        dW = np.dot(W,\n                    x)\n"
    found = {e["replacement"] for e in repair.candidates(text, [[1, 4]])}
    assert "(np.dot(W,\n                    x)).T" in found
    assert "dW += np.dot(W,\n                    x)" in found
    # every middle line of a longer one is kept
    text = (
        "def f(W, x, xs):\n    for t in xs:\n        dW = np.dot(\n            W,\n            x)\n"
    )
    found = {e["replacement"] for e in repair.candidates(text, [[1, 5]])}
    assert "dW += np.dot(\n            W,\n            x)" in found


def test_each_edit_is_proposed_once() -> None:
    edits = repair.candidates("def f(W, x):\n    dW = W.T @ W.T\n", [[1, 2]])
    keys = [(e["line"], e["column"], e["replacement"]) for e in edits]
    assert len(keys) == len(set(keys)) and (2, 10, "W") in keys and (2, 16, "W") in keys


def test_apply_keeps_the_rest_of_each_line_and_handles_several_lines() -> None:
    text = "a = 1\nb = f(x,\n      y) + 2\nc = 3\n"
    edit = {"line": 2, "column": 5, "end_line": 3, "end_column": 9, "replacement": "g()"}
    assert repair.apply(text, edit) == "a = 1\nb = g() + 2\nc = 3\n"
    # columns count characters, not the UTF-8 bytes ast counts
    text = "def f(W, x):\n    dW = 'é' and W @ x\n"
    (edit,) = [e for e in repair.candidates(text, [[1, 2]]) if e["replacement"] == "W.T"]
    assert repair.apply(text, edit) == "def f(W, x):\n    dW = 'é' and W.T @ x\n"


def test_the_loss_is_the_same_within_a_relative_billionth() -> None:
    same = repair._same_loss
    assert same({"loss": 1.0 + 5e-10}, {"loss": 1.0})
    assert not same({"loss": 1.0 + 2e-9}, {"loss": 1.0})
    assert same({"loss": -1e-10}, {"loss": 0.0})  # an absolute billionth near zero
    assert same({"loss": 1e-9}, {"loss": 0.0})  # a billionth itself is the same
    assert not same({"loss": 1.5e-9}, {"loss": 0.0})
    assert same({"loss": 1e6 + 5e-4}, {"loss": 1e6})  # relative to the loss before
    assert not same({"loss": 1e6 + 2e-3}, {"loss": 1e6})
    assert not same({"loss": -1e6 - 2e-3}, {"loss": -1e6})
    assert not same({"loss": 1e6 - 2e-3}, {"loss": 1e6})
    assert not same({}, {"loss": 1.0}) and not same({"loss": 1.0}, {})


def test_a_gradient_that_does_not_pass_is_wrong() -> None:
    outcome = _outcome(1.0, W="FAIL", b="PASS", c="INCONCLUSIVE")
    assert repair._wrong(outcome) == {"W", "c"}
    assert repair._wrong({"status": "error"}) == set()


TWO_BUGS = """\
def backward(hs, dhs, W, U):
    dW = 0
    dU = 0
    for t in range(len(hs)):
        dW = dhs[t] @ hs[t].T
        dU = U @ hs[t]
    return dW, dU
"""


def _fixed_by(**needed: str):
    """A check whose parameter passes once ``needed[name]`` is in the text, with one loss."""
    calls: list[str] = []

    def check(text: str) -> dict:
        calls.append(text)
        verdicts = {n: "PASS" if s in text else "FAIL" for n, s in needed.items()}
        return _outcome(1.0, **verdicts)

    return check, calls


def test_several_bugs_are_repaired_one_round_at_a_time() -> None:
    check, _ = _fixed_by(W="dW += ", U="U.T @ hs[t]")
    start = check(TWO_BUGS)
    found = repair.search(TWO_BUGS, [[1, 7]], check, start, 10.0, [])
    assert sorted(f["edit"]["line"] for f in found) == [5, 6]
    assert {f["edit"]["replacement"] for f in found} == {"dW += dhs[t] @ hs[t].T", "U.T"}
    first, second = found
    assert first["before"] is start and second["before"] is first["after"]
    assert repair._wrong(second["after"]) == set()


def test_the_edit_that_leaves_fewest_wrong_is_taken_and_the_search_stops_when_none_are() -> None:
    calls: list[str] = []

    def check(text: str) -> dict:  # `dW +=` fixes W alone; `U.T` fixes both
        calls.append(text)
        if "U.T @ hs[t]" in text:
            return _outcome(1.0, W="PASS", U="PASS")
        return _outcome(1.0, W="PASS" if "dW += " in text else "FAIL", U="FAIL")

    start = check(TWO_BUGS)
    (found,) = repair.search(TWO_BUGS, [[1, 7]], check, start, 10.0, [])
    assert found["edit"]["replacement"] == "U.T"
    assert "U.T @ hs[t]" in calls[-1]  # nothing is tried once every gradient is exact


def test_a_line_once_edited_is_not_edited_again() -> None:
    # two edits on line 5 would each fix one gradient: after the first, its columns moved
    check, _ = _fixed_by(W="dW += ", U="hs[t - 1]")
    start = check(TWO_BUGS)
    (found,) = repair.search(TWO_BUGS, [[1, 7]], check, start, 10.0, [])
    assert found["edit"]["line"] == 5


def test_no_more_than_three_rounds() -> None:
    text = "def f(a, b, c, d, W):\n    da = W @ a\n    db = W @ b\n    dc = W @ c\n    dd = W @ d\n"
    check, _ = _fixed_by(**{n: f"W.T @ {n}" for n in "abcd"})
    found = repair.search(text, [[1, 5]], check, check(text), 10.0, [])
    assert len(found) == repair.MAX_ROUNDS == 3
    # nothing wrong, nothing searched
    exact = _outcome(1.0, a="PASS")
    assert repair.search(text, [[1, 5]], check, exact, 10.0, []) == []


def test_an_edit_that_fails_or_does_not_run_is_skipped() -> None:
    check, _ = _fixed_by(W="dW += ", U="U.T @ hs[t]")

    def failing(text: str) -> dict:
        if "dW += " in text:
            raise RuntimeError("the edit broke the code")
        if "dhs[t].T" in text:
            return {"status": "error", "reason": "shapes"}
        return check(text)

    (found,) = repair.search(TWO_BUGS, [[1, 7]], failing, check(TWO_BUGS), 10.0, [])
    assert found["edit"]["replacement"] == "U.T"


def test_an_edit_that_fixes_nothing_is_no_repair() -> None:
    check, calls = _fixed_by(W="never")
    start = check(TWO_BUGS)
    assert repair.search(TWO_BUGS, [[1, 7]], check, start, 10.0, []) == []
    assert len(calls) > 2  # every candidate was tried
    assert repair.search("def f(:\n", [[1, 1]], check, start, 10.0, []) == []  # no syntax


def _edited_line(text: str) -> int:
    pairs = zip(text.splitlines(), TWO_BUGS.splitlines(), strict=True)
    return next(n for n, (a, b) in enumerate(pairs, 1) if a != b)


def test_edits_on_the_lines_naming_a_suspect_are_tried_first() -> None:
    check, calls = _fixed_by(W="never", U="never")
    start = _outcome(1.0, W="FAIL")
    repair.search(TWO_BUGS, [[1, 7]], check, start, 10.0, ["U"])
    assert [_edited_line(t) for t in calls[:3]] == [6, 6, 6]  # `dU = U @ hs[t]`, not W's
    calls.clear()
    # without suspects, the lines naming a wrong gradient: line 5 would come first otherwise
    repair.search(TWO_BUGS, [[1, 7]], check, _outcome(1.0, U="FAIL"), 10.0, [])
    assert [_edited_line(t) for t in calls[:3]] == [6, 6, 6]


def test_the_search_ends_at_its_budget(monkeypatch) -> None:
    clock = [0.0]
    monkeypatch.setattr(repair.time, "monotonic", lambda: clock[0])
    check, calls = _fixed_by(W="never")

    def slow(text: str) -> dict:
        clock[0] += 2.0
        return check(text)

    assert repair.search(TWO_BUGS, [[1, 7]], slow, check(TWO_BUGS), 4.0, []) == []
    assert len(calls) == 1 + 3  # the start, then checks begun at 0, 2 and 4 seconds: no later


TWO_LINES = "def f(a, b, W):\n    da = W @ a\n    db = W @ b\n"


def _in_turn(first: str, then: str) -> Callable[[str], dict]:
    """A check where ``then``'s gradient can only be exact once ``first``'s is."""
    fixes = {"a": "W.T @ a", "b": "W.T @ b"}

    def check(text: str) -> dict:
        ok = fixes[first] in text
        return _outcome(1.0, **{first: _pass(ok), then: _pass(ok and fixes[then] in text)})

    return check


def _pass(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


@pytest.mark.parametrize(("first", "then", "lines"), [("a", "b", [2, 3]), ("b", "a", [3, 2])])
def test_a_line_next_to_one_edited_may_still_be_edited(
    first: str, then: str, lines: list[int]
) -> None:
    check = _in_turn(first, then)
    found = repair.search(TWO_LINES, [[1, 3]], check, check(TWO_LINES), 10.0, [])
    assert [f["edit"]["line"] for f in found] == lines
    assert repair._wrong(found[-1]["after"]) == set()


def test_every_line_edited_in_earlier_rounds_stays_untouched() -> None:
    # a, then b, then c, which only a second edit of a's line would make exact
    def check(text: str) -> dict:
        a = "W.T @ a" in text
        b = a and "W.T @ b" in text
        return _outcome(1.0, A=_pass(a), B=_pass(b), C=_pass(b and "a.T" in text))

    found = repair.search(TWO_LINES, [[1, 3]], check, check(TWO_LINES), 10.0, [])
    assert [f["edit"]["line"] for f in found] == [2, 3]


def test_an_edit_that_breaks_an_exact_gradient_is_no_repair_even_if_it_fixes_more() -> None:
    def check(text: str) -> dict:
        if "W.T @ a" in text:  # A and B exact, C broken
            return _outcome(1.0, A="PASS", B="PASS", C="FAIL")
        return _outcome(1.0, A="FAIL", B="FAIL", C="PASS")

    assert repair.search(TWO_LINES, [[1, 3]], check, check(TWO_LINES), 10.0, []) == []


def test_of_edits_equally_good_the_first_tried_is_taken() -> None:
    def check(text: str) -> dict:  # either edit of line 2 fixes A; B stays wrong
        return _outcome(1.0, A=_pass("W.T @ a" in text or "W @ a.T" in text), B="FAIL")

    order = [e["replacement"] for e in repair.candidates(TWO_LINES, [[1, 3]])]
    assert order.index("W.T") < order.index("a.T")
    (found,) = repair.search(TWO_LINES, [[1, 3]], check, check(TWO_LINES), 10.0, [])
    assert found["edit"]["replacement"] == "W.T"


def _kind(text: str, kind: str) -> set[tuple[int, str]]:
    return _candidates(text, kinds=(kind,))


def test_a_square_is_added_moved_or_a_power_made_a_product() -> None:
    text = (
        "def backward(h, c, a, b, np):\n"
        "    d1 = 1 - h\n"  # tanh's derivative at its output, square left out
        "    d2 = 1 - np.tanh(c ** 2)\n"  # tanh of the square, not the square of tanh
        "    d3 = (1 - h) ** 2\n"
        "    d4 = a ** b\n"  # a power where a product is meant
        "    d5 = 1 - h ** 2\n"  # already right: no square of a square
        "    d6 = a ** 3\n"
    )
    found = _kind(text, "square")
    assert {(2, "h ** 2"), (3, "np.tanh(c) ** 2"), (4, "(1 - h ** 2)"), (5, "(a * b)")} <= found
    assert not {line for line, _ in found} & {6, 7}


def test_a_derivative_moves_between_an_activations_output_and_its_argument() -> None:
    text = (
        "def forward(zs, c, np):\n"
        "    hs = np.tanh(zs)\n"
        "    o = sigmoid(zo)\n"
        "    return o * np.tanh(c)\n"
        "def backward(hs, zs, o, c, dh, np):\n"
        "    d1 = dtanh(hs)\n"  # a helper expecting the pre-activation, given the output
        "    d2 = dsig(zo)\n"  # the reverse
        "    d3 = sigmoid(o) * (1 - sigmoid(o))\n"  # an activation of an activated value
        "    d4 = dh * c\n"  # the forward's tanh(c) left out
        "    d5 = dh * np.tanh(c)\n"  # already there: not wrapped again
        "    d6 = sigmoid(o, derivative=True)\n"  # a helper in derivative mode moves too
    )
    found = _kind(text, "derivative")
    assert {(6, "zs"), (7, "o"), (8, "o"), (9, "np.tanh(c)"), (11, "zo")} <= found
    assert (10, "np.tanh(np.tanh(c))") not in found and not any(line < 6 for line, _ in found)
    # a derivative helper is no activation: `dsigmoid(x)` pairs no output with x
    assert not _kind("def f(x):\n    y = dsigmoid(x)\n    dz = g(y)\n", "derivative")


def test_a_factor_is_left_out_or_the_gates_derivative_added() -> None:
    text = (
        "def step(x, np):\n"
        "    i[t] = sigmoid(x)\n"
        "    g = np.tanh(x)\n"
        "def backward(dc, g, i, t):\n"
        "    dg = dc * i[t] * g\n"  # the candidate's gradient times its own value
        "    di[t] = dc * g\n"  # the gate's derivative left out
    )
    found = _kind(text, "factor")
    assert {(5, "(dc * i[t])"), (5, "g"), (5, "dc"), (5, "i[t]")} <= found
    assert (6, "(dc * g) * i[t] * (1 - i[t])") in found
    assert (5, "(dc * i[t] * g) * (1 - g ** 2)") in found
    # only the gate the target is named for: dg gets g's derivative, not i's
    assert (5, "(dc * i[t] * g) * i[t] * (1 - i[t])") not in found
    # a sum keeps its parentheses when it is what is left
    assert (2, "(a + b)") in _kind("def f(a, b, c):\n    dx = (a + b) * c\n", "factor")


def test_a_gradient_carried_by_the_loop_is_added_where_it_is_not_read() -> None:
    text = (
        "def backward(xs, W, np):\n"
        "    dh_next = 0\n"
        "    dW = dV = 0\n"
        "    for t in range(3):\n"
        "        dh = W @ xs[t]\n"  # dh_next left out
        "        dz = dh * dh_next\n"  # reads it already
        "        dW += dz\n"
        "        dV = dV + dz\n"
        "        dh_next = W.T @ dz\n"
        "    return dW\n"
    )
    found = _kind(text, "carry")
    assert (5, "W @ xs[t] + dh_next") in found
    assert not {line for line, _ in found} & {6, 9}  # it is read there, or is the target
    # a sum (`dW += ...`, `dV = dV + ...`) is what the loop adds up, not what it carries
    assert not any(r.endswith(("+ dW", "+ dV")) for _, r in found)


def test_a_division_is_left_out_and_a_mean_made_a_sum() -> None:
    text = "def f(dy, n, np):\n    dW = dy / n\n    db = np.mean(dy, axis=1)\n"
    assert {(2, "dy"), (3, "np.sum")} <= _kind(text, "scale")


def test_a_name_is_swapped_for_its_prev_or_next_or_one_letter_neighbour() -> None:
    text = (
        "def backward(c_prev, c_next, df_raw, do_raw, ab, ac, W):\n"
        "    dc = c_next * W\n"
        "    dWo = W @ df_raw\n"
        "    dx = ab * W\n"  # two letters: too short to swap
        "    dy = hid_next * W\n"  # no hid_prev is bound: nothing to swap it for
    )
    found = _kind(text, "name")
    assert {(2, "c_prev"), (3, "do_raw")} <= found
    assert not {line for line, _ in found} & {4, 5}
    assert (3, "d_raw") not in found  # only names the function binds


def test_what_is_no_activation_pairs_nothing_and_breaks_nothing() -> None:
    text = (
        "def forward(x, c, acts, np):\n"
        "    y = sigmoid(x, derivative=True)\n"  # a derivative helper called with a keyword
        "    z = acts[0](x)\n"  # a call of a call's result: no name to read
        "    return g(c)\n"  # not an activation: `c` is not put back under it
        "def backward(dh, y, x, c):\n"
        "    d1 = dh * c\n"
        "    d2 = k(y)\n"
    )
    found = _kind(text, "derivative")
    assert not any(line > 5 for line, _ in found)


def test_the_gates_derivative_is_read_at_the_targets_index() -> None:
    text = (
        "def step(x, s):\n"
        "    i[s] = sigmoid(x)\n"
        "def backward(dc, g, t):\n"
        "    di[t] = dc * g\n"  # the forward's `i[s]` read at the target's `t`
        "    di = dc * g\n"  # a plain target: the forward's own spelling
    )
    found = _kind(text, "factor")
    assert (4, "(dc * g) * i[t] * (1 - i[t])") in found
    assert (5, "(dc * g) * i[s] * (1 - i[s])") in found


def test_a_carried_gradient_is_added_to_the_whole_value() -> None:
    text = (
        "def backward(xs, W, a):\n"
        "    dh_next = 0\n"
        "    for t in range(3):\n"
        "        dh = W if a else xs[t]\n"
        "        dh_next = W.T @ dh\n"
        "        dz = dh\n"  # statements after the carried one still see it carried
    )
    assert (4, "(W if a else xs[t]) + dh_next") in _kind(text, "carry")


def test_a_bare_mean_is_made_a_sum() -> None:
    assert (2, "sum") in _kind("def f(dy, mean):\n    db = mean(dy)\n", "scale")


def test_three_letter_names_are_swapped_and_other_functions_names_are_not() -> None:
    text = (
        "def backward(dWf, dWo, W):\n"
        "    dx = dWf @ W\n"
        "def other(dWi):\n"
        "    return dWi\n"
        "dWc = 0\n"  # the module's names are the function's to read
    )
    found = _kind(text, "name")
    assert {(2, "dWo"), (2, "dWc")} <= found and (2, "dWi") not in found


def test_a_pre_activation_gradient_gets_its_gates_derivative() -> None:
    text = "def f(x, dh, c):\n    o = sigmoid(x)\n    do_raw = dh * c\n"
    assert (3, "(dh * c) * o * (1 - o)") in _kind(text, "factor")


def test_names_first_bound_on_the_loops_own_line_are_not_carried() -> None:
    text = "def f(xs, W):\n    for x in xs: da = W @ x; db = W.T @ x\n"
    assert _kind(text, "carry") == set()


def _errors(**errors: float) -> dict:
    params = {n: {"verdict": "PASS" if e < 1e-6 else "FAIL", "error": e} for n, e in errors.items()}
    return {"status": "ok", "loss": 1.0, "params": params, "how": "test"}


# both products feed dW: with one transposed, dW is nearer; with both, exact
SUMMED = """\
def backward(a, b, W, V):
    dW = 0
    dA = W @ a
    dB = V @ b
    dW = dA + dB
    return dW
"""


def _two_needed(extra: dict[str, float] | None = None):
    def check(text: str) -> dict:
        done = ("W.T @ a" in text) + ("V.T @ b" in text)
        errors = {"W": (0.8, 0.05, 0.0)[done]}
        for needle, error in (extra or {}).items():
            if needle in text:
                errors["W"] = error
        return _errors(**errors)

    return check


def test_two_edits_that_are_exact_only_together_make_one_repair() -> None:
    check = _two_needed()
    (found,) = repair.search(SUMMED, [[1, 6]], check, check(SUMMED), 10.0, [])
    assert sorted(e["replacement"] for e in found["edits"]) == ["V.T", "W.T"]
    assert found["edit"] is found["edits"][-1]
    assert found["before"]["params"]["W"]["error"] == 0.8
    assert repair._wrong(found["after"]) == set()
    assert len({e["line"] for e in found["edits"]}) == 2


def test_no_step_is_taken_that_brings_the_gradients_no_nearer() -> None:
    def check(text: str) -> dict:  # one transpose alone brings W less than CLOSER nearer
        done = ("W.T @ a" in text) + ("V.T @ b" in text)
        return _errors(W=(0.8, 0.7, 0.0)[done])

    assert repair.search(SUMMED, [[1, 6]], check, check(SUMMED), 10.0, []) == []


def _far(error: float, distance: float) -> dict:
    outcome = _errors(W=error)
    outcome["params"]["W"]["distance"] = distance
    return outcome


def test_a_step_is_judged_by_the_whole_gradient_not_its_worst_entry() -> None:
    def check(text: str) -> dict:  # the worst entry stays as wrong, the whole gradient halves
        done = ("W.T @ a" in text) + ("V.T @ b" in text)
        return _far(0.8, 0.4) if done == 1 else _far(*((0.8, 0.8), (0.0, 0.0))[done // 2])

    (found,) = repair.search(SUMMED, [[1, 6]], check, check(SUMMED), 10.0, [])
    assert sorted(e["replacement"] for e in found["edits"]) == ["V.T", "W.T"]

    def worst(text: str) -> dict:  # the worst entry nearer, the whole gradient as far
        done = ("W.T @ a" in text) + ("V.T @ b" in text)
        return _far(0.1, 0.8) if done == 1 else _far(*((0.8, 0.8), (0.0, 0.0))[done // 2])

    assert repair.search(SUMMED, [[1, 6]], worst, worst(SUMMED), 10.0, []) == []


# both products on one line: the second edit is found in the text with the first made
ONE_LINE = """\
def backward(a, b, W, V):
    dW = W @ a + V @ b
    return dW
"""


def test_two_edits_of_one_line_are_given_in_the_text_s_own_places() -> None:
    def check(text: str) -> dict:
        done = ("W.T @ a" in text) + ("V.T @ b" in text)
        return _errors(W=(0.8, 0.3, 0.0)[done])

    (found,) = repair.search(ONE_LINE, [[1, 3]], check, check(ONE_LINE), 10.0, [])
    assert repair.apply_all(ONE_LINE, found["edits"]).splitlines()[1] == (
        "    dW = W.T @ a + V.T @ b"
    )
    assert {(e["column"], e["end_column"]) for e in found["edits"]} == {(10, 11), (18, 19)}


def test_an_edit_is_moved_back_past_the_edits_made_before_it_on_its_line() -> None:
    made = [{"line": 2, "column": 10, "end_line": 2, "end_column": 11, "replacement": "W.T"}]
    after = {"line": 2, "column": 20, "end_line": 2, "end_column": 21, "replacement": "V.T"}
    assert repair._to_base(after, made) == {**after, "column": 18, "end_column": 19}
    before = {"line": 2, "column": 5, "end_line": 2, "end_column": 7, "replacement": "d"}
    assert repair._to_base(before, made) == before  # before it: in place
    inside = {"line": 2, "column": 11, "end_line": 2, "end_column": 13, "replacement": "x"}
    assert repair._to_base(inside, made) is None  # it would edit what was made
    elsewhere = {"line": 3, "column": 5, "end_line": 3, "end_column": 7, "replacement": "y"}
    assert repair._to_base(elsewhere, made) == elsewhere
    spanning = {"line": 1, "column": 5, "end_line": 2, "end_column": 7, "replacement": "z"}
    assert repair._to_base(spanning, made) is None


def test_steps_that_reach_nothing_are_not_reported() -> None:
    def check(text: str) -> dict:  # each transpose brings W nearer, neither reaches it
        done = ("W.T @ a" in text) + ("V.T @ b" in text)
        return _errors(W=(0.8, 0.05, 0.01)[done])

    assert repair.search(SUMMED, [[1, 6]], check, check(SUMMED), 10.0, []) == []


def test_a_step_the_repair_does_not_need_is_dropped_from_it() -> None:
    # `U.T` brings W nearer but is no part of the repair: the two transposes alone are exact
    text = SUMMED.replace("    dW = dA + dB\n", "    dX = U @ a\n    dW = dA + dB\n")

    def check(text: str) -> dict:
        done = ("W.T @ a" in text) + ("V.T @ b" in text)
        if done == 2:
            return _errors(W=0.0)
        if "U.T @ a" in text:
            return _errors(W=0.05 if done == 0 else 0.01)
        return _errors(W=(0.8, 0.5)[done])

    (found,) = repair.search(text, [[1, 7]], check, check(text), 10.0, [])
    assert sorted(e["replacement"] for e in found["edits"]) == ["V.T", "W.T"]


def test_an_edit_is_moved_back_past_every_edit_made_before_it_on_its_line() -> None:
    # made in any order: `a` -> `aa` at 5 and `b` -> `bbb` at 9, so the line grew by 1 then 2
    made = [
        {"line": 1, "column": 9, "end_line": 1, "end_column": 10, "replacement": "bbb"},
        {"line": 1, "column": 5, "end_line": 1, "end_column": 6, "replacement": "aa"},
    ]
    between = {"line": 1, "column": 8, "end_line": 1, "end_column": 9, "replacement": "x"}
    assert repair._to_base(between, made)["column"] == 7
    after = {"line": 1, "column": 15, "end_line": 1, "end_column": 16, "replacement": "y"}
    assert (repair._to_base(after, made)["column"], repair._to_base(after, made)["end_column"]) == (
        12,
        13,
    )
    # an edit that ends where a made one begins, or begins where it ends, touches it not
    before = {"line": 1, "column": 3, "end_line": 1, "end_column": 5, "replacement": "z"}
    assert repair._to_base(before, made) == before
    next_to = {"line": 1, "column": 7, "end_line": 1, "end_column": 8, "replacement": "w"}
    assert repair._to_base(next_to, made)["column"] == 6
    assert repair._to_base({**next_to, "column": 6}, made) is None  # the last letter of `aa`


def test_a_gradient_whose_error_is_not_a_number_is_far() -> None:
    outcome = {"params": {"W": {"verdict": "FAIL", "error": float("inf")}}}
    assert repair._distance(outcome, "W") == 1e9
    outcome["params"]["W"] = {"verdict": "FAIL", "error": None}
    assert repair._distance(outcome, "W") == 1e9
    outcome["params"]["W"] = {"verdict": "FAIL", "error": 0.5, "distance": 0.25}
    assert repair._distance(outcome, "W") == 0.25


def test_a_candidate_that_breaks_a_gradient_is_passed_over_not_the_end_of_the_round() -> None:
    def check(text: str) -> dict:  # `W.T` repairs W but breaks b; `V.T` repairs W alone
        if "W.T @ a" in text:
            return _errors(W=0.0, b=0.5)
        return _errors(W=0.0 if "V.T @ b" in text else 0.8, b=0.0)

    (found,) = repair.search(SUMMED, [[1, 6]], check, check(SUMMED), 10.0, [])
    assert [e["replacement"] for e in found["edits"]] == ["V.T"]


def test_no_more_than_max_steps_are_kept_on_the_way() -> None:
    text = "def f(a, b, c, d, e, W):\n" + "".join(f"    d{n} = W @ {n}\n" for n in "abcde")

    def check(text: str) -> dict:  # each transpose brings W nearer; only all five make it exact
        done = sum(f"W.T @ {n}" in text for n in "abcde")
        return _errors(W=0.0 if done == 5 else 0.8 / 2**done)

    assert repair.MAX_STEPS == 3
    assert repair.search(text, [[1, 6]], check, check(text), 10.0, []) == []
    four = text.replace("    de = W @ e\n", "    de = W.T @ e\n")
    (found,) = repair.search(four, [[1, 6]], check, check(four), 10.0, [])
    assert len(found["edits"]) == 4


def test_the_screen_is_made_for_each_round_and_what_it_turns_away_is_never_checked() -> None:
    check, calls = _fixed_by(W="dW += ", U="U.T @ hs[t]")
    start = check(TWO_BUGS)
    calls.clear()
    made: list[tuple[str, dict]] = []

    def screen_for(text: str, outcome: dict) -> Callable[[str], bool]:
        made.append((text, outcome))
        # a time step moved: the first candidates tried, each turned away
        return lambda candidate: "[t - 1]" not in candidate and "[t + 1]" not in candidate

    found = repair.search(TWO_BUGS, [[1, 7]], check, start, 10.0, [], screen_for)
    assert {f["edit"]["replacement"] for f in found} == {"dW += dhs[t] @ hs[t].T", "U.T"}
    first = found[0]
    # one screen a round, for the text and outcome that round starts from; none once exact
    assert made == [(TWO_BUGS, start), (repair.apply_all(TWO_BUGS, first["edits"]), first["after"])]
    assert calls and not any("[t - 1]" in c or "[t + 1]" in c for c in calls)
    # what it lets through is checked: everything here but the moved steps
    unscreened, all_calls = _fixed_by(W="dW += ", U="U.T @ hs[t]")
    repair.search(TWO_BUGS, [[1, 7]], unscreened, start, 10.0, [])
    assert len(calls) == len([c for c in all_calls if "[t - 1]" not in c and "[t + 1]" not in c])


def test_an_edit_that_does_not_run_does_not_end_the_round() -> None:
    check, _ = _fixed_by(W="dW += ", U="U.T @ hs[t]")

    def failing(text: str) -> dict:  # a time step moved: the first candidates tried
        if "[t - 1]" in text or "[t + 1]" in text:
            raise IndexError("index out of range")
        return check(text)

    found = repair.search(TWO_BUGS, [[1, 7]], failing, check(TWO_BUGS), 10.0, [])
    assert {f["edit"]["replacement"] for f in found} == {"dW += dhs[t] @ hs[t].T", "U.T"}


def test_a_round_begun_at_the_deadline_still_checks_its_first_candidate(monkeypatch) -> None:
    clock = [0.0]
    monkeypatch.setattr(repair.time, "monotonic", lambda: clock[0])
    check, _ = _fixed_by(a="W.T @ a", b="W.T @ b")
    start = check(TWO_LINES)

    def timed(text: str) -> dict:
        clock[0] += 1.0
        return check(text)

    # the first round checks every candidate (each fixes one gradient at most), one second
    # each; the second begins with `W.T @ b`, b's repair
    first_round = len(repair.candidates(TWO_LINES, [[1, 3]]))
    found = repair.search(TWO_LINES, [[1, 3]], timed, start, float(first_round), [])
    assert [f["edit"]["line"] for f in found] == [2, 3]
    clock[0] = 0.0
    found = repair.search(TWO_LINES, [[1, 3]], timed, start, first_round - 0.5, [])
    assert [f["edit"]["line"] for f in found] == [2]


FOUR_LINES = "def f(a, b, c, d, W):\n" + "".join(f"    d{n} = W @ {n}\n" for n in "abcd")


def _transposed(text: str) -> set[str]:
    """The letters whose line reads exactly `dn = W.T @ n`."""
    return {n for n in "abcd" if f"    d{n} = W.T @ {n}\n" in text}


def test_of_equally_near_steps_the_first_tried_is_kept() -> None:
    def check(text: str) -> dict:  # `a` or `b` alone halve W's error; only `a` with `c` is exact
        done = _transposed(text)
        if done == {"a", "c"}:
            return _errors(W=0.0)
        return _errors(W=0.8 * 0.5 ** len(done & {"a", "b"}))

    (found,) = repair.search(FOUR_LINES, [[1, 5]], check, check(FOUR_LINES), 10.0, [])
    assert [(e["line"], e["replacement"]) for e in found["edits"]] == [(2, "W.T"), (4, "W.T")]


def test_a_step_is_dropped_even_after_the_repair_without_another_does_not_run() -> None:
    # steps a, b, c in turn, then d makes W exact; without a the code does not run, without
    # b it is as exact: b is dropped, a and c are kept
    factors = {"a": 0.4, "b": 0.5, "c": 0.6, "d": 1.0}

    def check(text: str) -> dict:
        done = _transposed(text)
        if done == {"b", "c", "d"}:
            raise ValueError("shapes (3, 2) and (3, 2) not aligned")
        if {"a", "c", "d"} <= done:
            return _errors(W=0.0)
        return _errors(W=0.8 * float(np.prod([factors[n] for n in done])))

    (found,) = repair.search(FOUR_LINES, [[1, 5]], check, check(FOUR_LINES), 10.0, [])
    assert [e["line"] for e in found["edits"]] == [2, 4, 5]
    assert repair._wrong(found["after"]) == set()


def test_decades_measure_how_far_a_distance_shrank() -> None:
    assert repair.decades(1.0, 0.01) == pytest.approx(2.0)
    assert repair.decades(0.01, 1.0) == pytest.approx(-2.0)
    assert repair.decades(1.0, 0.0) == pytest.approx(300.0)  # to nothing: as far as it goes
    # from nothing: nothing gained when it stays nothing, an endless loss otherwise
    assert repair.decades(0.0, 0.0) == 0.0
    assert repair.decades(0.0, 0.5) == repair.decades(0.0, 2.0) == -math.inf


def test_a_gate_and_its_complement_are_swapped_where_the_module_writes_both() -> None:
    text = (
        "def step(z, hh, h):\n"
        "    return z * h + (1 - z) * hh\n"
        "def backward(dnext, z, hh, q):\n"
        "    dhh = dnext * z\n"  # z where 1 - z belongs
        "    dh = dnext * (1 - z)\n"  # the reverse
        "    dq = dnext * q\n"  # the forward never writes `1 - q`: left alone
        "    dz = dnext * q * (1 - q)\n"  # a gradient's own `1 - q` is no convention
    )
    found = _kind(text, "complement")
    assert found == {(4, "(1 - z)"), (5, "z")}


def test_a_difference_is_turned_round_unless_one_side_is_a_number() -> None:
    text = "def backward(d, hh, h):\n    dz = d * (hh - h)\n    dg = d * (1 - hh)\n"
    assert _kind(text, "difference") == {(2, "h - hh")}
    # each side keeps its parentheses
    assert (2, "(b + c) - (a * e)") in _kind(
        "def f(a, b, c, e):\n    dx = a * e - (b + c)\n", "difference"
    )


def test_an_activation_of_an_activated_value_is_made_its_derivative_there() -> None:
    text = (
        "def forward(a, c, np):\n"
        "    z = sigmoid(a)\n"
        "    h = np.tanh(c)\n"
        "def backward(d, z, h, np):\n"
        "    dz = d * sigmoid(z)\n"
        "    dc = d * np.tanh(h)\n"
    )
    found = _kind(text, "derivative")
    assert {(5, "(z * (1 - z))"), (6, "(1 - h ** 2)")} <= found


def test_a_factor_the_forward_multiplies_a_value_by_reaches_its_gradient() -> None:
    text = (
        "def forward(x, h, r, U, np):\n"
        "    hh = np.tanh(x + (r * h) @ U)\n"
        "def backward(dhh, U, h, r, np):\n"
        "    drh = dhh @ U.T\n"
        "    dh = drh\n"  # r left out of h's gradient
        "    dU = np.hstack([h.T @ dhh])\n"  # r left out where h is read, inside a call
        "    dr = drh * h\n"  # a product in a gradient's statement is not the forward's
    )
    found = _kind(text, "factor")
    assert {(5, "drh * r"), (6, "(r * h)")} <= found
    # `drh * h` (line 7) is a gradient's product: it gives `drh` no factor of its own
    assert not {(line, code) for line, code in found if "* drh" in code or "drh)" in code}
    # a value the forward multiplies by more than four others is too common to guess from
    many = "def f(h, a, b, c, e, g):\n    y = a * h + b * h + c * h + e * h + g * h\n    dh = y\n"
    assert not {code for _, code in _kind(many, "factor") if "* h" in code or "h *" in code}


def _out(loss: float = 1.0, **errors: float) -> dict:
    params = {n: {"error": e, "verdict": "PASS" if e < 1e-7 else "FAIL"} for n, e in errors.items()}
    return {"status": "ok", "loss": loss, "params": params}


def test_an_outcome_improves_on_another_only_fixing_without_breaking_on_the_same_loss() -> None:
    before = _out(W=0.5, U=0.5, b=1e-9)
    assert repair.improves(_out(W=1e-9, U=0.5, b=1e-9), before)
    assert not repair.improves(_out(W=0.5, U=0.5, b=1e-9), before)  # nothing fixed
    assert not repair.improves(_out(W=1e-9, U=0.5, b=0.5), before)  # one fixed, one broken
    assert not repair.improves(_out(2.0, W=1e-9, U=1e-9, b=1e-9), before)  # the loss moved
    assert not repair.improves(_out(W=1e-9, U=1e-9), before)  # a gradient gone
    assert not repair.improves({"status": "error", "reason": "no"}, before)


def test_a_factor_is_never_read_from_a_gradient_s_own_product() -> None:
    text = (
        "def backward(d, r, h, e):\n"
        "    dh += r * h\n"  # an accumulated gradient's product: not the forward's
        "    dq: float = r * h\n"
        "    dx = e\n"
    )
    assert not {code for _, code in _kind(text, "factor") if "r" in code and "h" in code}


def test_a_called_function_is_no_value_a_factor_is_added_to() -> None:
    text = "def forward(f, h):\n    y = f * h\ndef backward(f, h):\n    dq = f(h)\n"
    found = _kind(text, "factor")
    assert (4, "(f * h)") in found
    assert not {code for _, code in found if code.startswith("(h * f)")}


def test_a_complement_is_found_anywhere_in_the_value() -> None:
    text = "def step(z, h, n):\n    return z * h + (1 - z) * n\ndef back(e, d, z):\n    dn = e + d * z\n"
    assert _kind(text, "complement") == {(4, "(1 - z)")}


def test_a_value_multiplied_by_four_others_still_gets_their_factors() -> None:
    four = "def f(h, a, b, c, e):\n    y = a * h + b * h + c * h + e * h\n    dh = y\n"
    assert {(3, "y * a"), (3, "y * e")} <= _kind(four, "factor")
    # one value too common to guess from does not end the search for the others
    many = (
        "def f(h, a, b, c, e, g, q, w):\n"
        "    y = a * h + b * h + c * h + e * h + g * h\n"
        "    z = q * w\n"
        "    dw = y\n"
    )
    assert (4, "y * q") in _kind(many, "factor")


def test_a_gradient_is_swapped_for_its_next_stage_or_back() -> None:
    text = (
        "def backward(dh, dhraw, dc_next, dc, dhidden_all, dh_next, dh_nexts, W):\n"
        "    dW = dh @ W\n"  # `dhraw` (two to five letters more) may be meant
        "    dV = dc @ W\n"
        "    dU = dhraw @ W\n"
    )
    found = _kind(text, "name")
    assert {(2, "dhraw"), (2, "dh_next"), (3, "dc_next"), (4, "dh")} <= found
    # six letters more is too far from `dh` to be its next stage
    assert not {(2, "dh_nexts"), (2, "dhidden_all")} & found
