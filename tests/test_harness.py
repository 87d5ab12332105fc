"""Running the user's own forward and backward: verdicts, LST900, and what is never run."""

from __future__ import annotations

import ast
import json
import shutil
import textwrap
from pathlib import Path

import pytest
from helpers import run

from lstmlint.harness import extract, plan
from lstmlint.harness.variants import with_fixes
from lstmlint.registry import rule_by_code

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


def _json(capsys, *args: str) -> list[dict]:
    _, out, _ = run(capsys, "--format", "json", "--show-refuted", *args)
    return json.loads(out)


def _copy(tmp_path: Path, *names: str) -> list[str]:
    copied = []
    for name in names:
        source = FIXTURES / name
        target = tmp_path / source.name
        shutil.copy(source, target)
        copied.append(str(target))
    return copied


def _gradient(found: list[dict]) -> list[dict]:
    return [d for d in found if d["code"].startswith(("LST1", "LST2", "LST301"))]


@pytest.mark.parametrize("name", ["reviewed/lstm_scratch.py", "reviewed/lstm_scratch.ipynb"])
def test_reviewed_program_every_gradient_finding_confirmed_by_running_it(
    tmp_path: Path, capsys, name: str
) -> None:
    paths = _copy(tmp_path, name, "reviewed/utils.py", "reviewed/data.py")
    found = _gradient(_json(capsys, paths[0]))
    assert len(found) == 12  # every gradient finding of expected.toml
    for diag in found:
        confirmation = diag["confirmation"]
        assert confirmation["status"] == "confirmed", diag
        assert confirmation["method"] == "your-code", diag
        assert all(e["error"] > 1e-7 and e["fixed_error"] < 1e-7 for e in confirmation["evidence"])
    assert not [d for d in _json(capsys, paths[0]) if d["code"] == "LST900"]


@pytest.mark.parametrize(
    ("name", "methods"),
    [
        ("cs231n/lstm_layers_buggy.py", {"your-code"}),
        ("minchar/rnn_dict_buggy.py", {"your-code"}),
        ("vanilla/rnn_prealloc_buggy.py", {"your-code"}),
        ("outhelpers/lstm_sigprime_buggy.py", {"your-code"}),
        ("minchar/rnn_textfile_buggy.py", {"your-code"}),  # sizes from a file that is absent
        ("gru/gru_classifier_buggy.py", {"your-code"}),  # a label a sequence; a step method
        ("classbased/lstm_given_weights_buggy.py", {"your-code"}),  # cells handed weights
        ("gru/gru_listed_params_buggy.py", {"your-code"}),  # CifgLSTM(M, N), get_params()
        ("vanilla/rnn_many_to_one_sgd_buggy.py", {"your-code"}),  # backprop takes its own step
    ],
)
def test_each_recognised_shape_confirms_by_running(tmp_path: Path, capsys, name, methods) -> None:
    (path,) = _copy(tmp_path, name)
    found = _gradient(_json(capsys, path))
    assert found
    assert {d["confirmation"]["method"] for d in found} == methods
    assert {d["confirmation"]["status"] for d in found} == {"confirmed"}


@pytest.mark.parametrize(
    "name",
    [
        "minchar/rnn_dict_correct.py",  # lossFun over module globals
        "minchar/lstm_dict_correct.py",
        "cs231n/lstm_layers_correct.py",  # step and sequence layers
        "cs231n/rnn_captioning_correct.ipynb",
        "outhelpers/lstm_outhelpers.py",  # forward/backward with an initialiser
        "reviewed/lstm_scratch_fixed.py",
        "classbased/lstm_class_correct.py",  # a class with a params dict
        "gru/gru_lm.py",
        "outhelpers/lstm_sigprime.py",
        "vanilla/rnn_prealloc.py",
        "lookalikes/rnn_inplace_carry.py",
        "lookalikes/lstm_dict.py",
        "minchar/rnn_textfile.py",
        "classbased/lstm_given_weights.py",  # a float32 sequence layer beside exact cells
        "gru/gru_listed_params.py",
        "lookalikes/rnn_cell_batch_mean.py",  # gradients averaged over the batch
        "vanilla/rnn_many_to_one_sgd.py",  # clips in place, then takes its own step
    ],
)
def test_correct_programs_get_no_unexplained_error(tmp_path: Path, capsys, name: str) -> None:
    extra = ("reviewed/utils.py", "reviewed/data.py") if name.startswith("reviewed") else ()
    paths = _copy(tmp_path, name, *extra)
    assert [d for d in _json(capsys, paths[0]) if d["code"] in ("LST900", "LST901")] == []


def test_a_transposed_weight_gradient_is_confirmed_and_fixed_on_the_users_code(
    tmp_path: Path, capsys
) -> None:
    (path,) = _copy(tmp_path, "minchar/rnn_dict_transposed_buggy.py")
    (finding,) = _json(capsys, path)
    assert (finding["code"], finding["line"]) == ("LST215", 68)
    confirmation = finding["confirmation"]
    assert confirmation["method"] == "your-code" and confirmation["status"] == "confirmed"
    evidence = {e["param"]: e for e in confirmation["evidence"]}
    assert evidence["Whh"]["error"] > 1e-3 > 1e-6 > evidence["Whh"]["fixed_error"]
    status, _, _ = run(capsys, "--fix", path)
    assert status == 0
    assert "np.dot(dhraw, hs[t - 1].T)" in Path(path).read_text()


def test_a_bug_no_rule_knows_is_repaired_at_its_line(tmp_path: Path, capsys) -> None:
    # the transposed gradient with the rule that knows it left out: only the repair search
    # can find it
    (path,) = _copy(tmp_path, "minchar/rnn_dict_transposed_buggy.py")
    (tmp_path / "pyproject.toml").write_text('[tool.lstmlint]\nignore = ["LST215"]\n')
    found = _json(capsys, path)
    assert [(d["code"], d["line"]) for d in found] == [("LST901", 68)]
    confirmation = found[0]["confirmation"]
    assert confirmation["method"] == "your-code" and confirmation["status"] == "confirmed"
    assert [e["param"] for e in confirmation["evidence"]] == ["Whh"]
    assert (
        confirmation["evidence"][0]["error"]
        > 1e-3
        > 1e-6
        > confirmation["evidence"][0]["fixed_error"]
    )
    # the repair is a fix: applied, the file's own gradients are exact (its own check says so)
    status, _, _ = run(capsys, "--fix", path)
    assert status == 0
    records, _, _ = _harness_report(capsys, tmp_path, path)
    assert records["rnn_dict_transposed_buggy.py"]["status"] == "checked"
    assert {p["verdict"] for p in records["rnn_dict_transposed_buggy.py"]["parameters"]} == {"PASS"}


def test_a_bug_no_single_edit_repairs_is_reported_as_unexplained(tmp_path: Path, capsys) -> None:
    (path,) = _copy(tmp_path, "minchar/rnn_dict_transposed_buggy.py")
    text = Path(path).read_text()
    Path(path).write_text(
        # more decay than any weight decay, and no single edit of a known kind undoes it
        text.replace("np.dot(hs[t - 1], dhraw.T)", "np.dot(dhraw, hs[t - 1].T) + 0.5 * Whh")
    )
    found = _json(capsys, path)
    assert [(d["code"], d["line"]) for d in found] == [("LST900", 36)]
    confirmation = found[0]["confirmation"]
    assert confirmation["method"] == "your-code"
    assert [e["param"] for e in confirmation["evidence"]] == ["Whh"]
    assert "dWhh" in found[0]["message"]


def test_lst900_embedded_examples(tmp_path: Path, capsys) -> None:
    rule = rule_by_code("LST900")
    bad, good = tmp_path / "bad.py", tmp_path / "good.py"
    bad.write_text(rule.invalid[0].code)
    good.write_text(rule.valid[0].code)
    found = [d for d in _json(capsys, str(bad), str(good)) if d["code"] == "LST900"]
    assert [(Path(d["path"]).name, d["line"]) for d in found] == [
        ("bad.py", line) for line in rule.invalid[0].lines
    ]


def test_top_level_code_never_runs(tmp_path: Path, capsys) -> None:
    (path,) = _copy(tmp_path, "sideeffects/rnn_toplevel_training_buggy.py")
    found = _json(capsys, path)
    # it would write this marker and then loop forever; the run finishes and nothing appears
    assert not Path(path + ".ran").exists()
    assert list(tmp_path.iterdir()) == [Path(path)]
    (finding,) = found
    assert finding["code"] == "LST102"
    assert finding["confirmation"]["method"] == "your-code"
    assert finding["confirmation"]["status"] == "confirmed"


def test_reference_mode_never_runs_user_code(tmp_path: Path, capsys) -> None:
    (path,) = _copy(tmp_path, "minchar/rnn_dict_transposed_buggy.py")
    (finding,) = _json(capsys, "--confirm=reference", path)
    assert finding["code"] == "LST215"
    assert finding["confirmation"]["status"] == "unconfirmed"
    (path,) = _copy(tmp_path, "minchar/rnn_dict_buggy.py")
    methods = {d["confirmation"]["method"] for d in _json(capsys, "--confirm=reference", path)}
    assert "your-code" not in methods


# the LST900 example program (a transposed dWhh) with a first line to replace in the loss
UNSAFE = "import os\n" + rule_by_code("LST900").invalid[0].code.replace(
    "def lossFun(inputs, targets, hprev):  # bug\n",
    "def lossFun(inputs, targets, hprev):\n    LOG\n",
).replace("np.log(ps[t][targets[t], 0])", "np.log(ps[t][targets[t], 0] + 1e-12)")


def test_auto_mode_does_not_run_code_with_io_but_exec_does(tmp_path: Path, capsys) -> None:
    marker = tmp_path / "touched"
    path = tmp_path / "rnn.py"
    path.write_text(UNSAFE.replace("LOG", f"os.makedirs({str(marker)!r}, exist_ok=True)"))
    _, out, _ = run(capsys, str(path))
    out = " ".join(out.split())
    assert "LST900" not in out
    assert "was not run" in out and "module `os` in lossFun" in out and "--confirm=exec" in out
    assert not marker.exists()
    found = _json(capsys, "--confirm=exec", str(path))
    assert [d["code"] for d in found] == ["LST900"]
    # exec mode runs it in a scratch folder, but an absolute path is the user's choice
    assert marker.exists()


def test_a_hang_or_a_memory_hog_ends_with_a_reason(tmp_path: Path, capsys) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.lstmlint.harness]\ntimeout = 2\n")
    hang = tmp_path / "hang.py"
    hang.write_text(UNSAFE.replace("import os\n", "").replace("LOG", "while True: pass"))
    _, out, _ = run(capsys, str(hang))
    out = " ".join(out.split())  # the text report wraps long notes
    assert (
        "your code could not be checked: the process running your code did not finish within 2 s"
        in out
    )
    hog = tmp_path / "hog.py"
    hog.write_text(UNSAFE.replace("import os\n", "").replace("LOG", "np.ones((10**6, 10**5))"))
    _, out, _ = run(capsys, str(hog))
    out = " ".join(out.split())
    assert "your code could not be checked" in out and "MiB" in out


def test_extraction_blanks_the_top_level_and_keeps_definitions() -> None:
    text = textwrap.dedent(
        """\
        import numpy as np
        import os
        H = 4
        data = open("input.txt").read()
        V = len(data)
        W = np.zeros((H, H))
        def f(x):
            return np.tanh(W @ x)
        for i in range(3):
            print(i)
        if __name__ == "__main__":
            f(1)
        """
    )
    reduced = extract.reduce_module(text)
    kept = [line for line in reduced.text.splitlines() if line]
    assert kept == [
        "import numpy as np",
        "H = 4",
        "V = 5",  # a size computed from data read at the top: a stand-in
        "W = np.zeros((H, H))",
        "def f(x):",
        "    return np.tanh(W @ x)",
    ]
    assert len(reduced.text.splitlines()) == len(text.splitlines())  # positions kept
    assert extract.unsafe_uses(reduced, extract.reachable(reduced, ["f"])) == []
    exec_mode = extract.reduce_module(text, keep_imports=True)
    assert "import os" in exec_mode.text


def test_unsafe_uses_names_what_would_run() -> None:
    text = "import pickle\nimport numpy as np\ndef save(m):\n    pickle.dump(m)\ndef g(x):\n    return np.save('x', x)\ndef h(x):\n    return open(x)\n"
    reduced = extract.reduce_module(text)
    assert set(extract.unsafe_uses(reduced, ["save"])) == {
        "module `pickle` in save",
        "`.dump` in save",
    }
    assert extract.unsafe_uses(reduced, ["g"]) == ["`.save` in g"]
    assert extract.unsafe_uses(reduced, ["h"]) == ["`open` in h"]


def test_problems_found_for_each_shape() -> None:
    kinds = {}
    for name in (
        "minchar/rnn_dict_correct.py",
        "cs231n/lstm_layers_correct.py",
        "outhelpers/lstm_outhelpers.py",
        "classbased/lstm_class_correct.py",
    ):
        text = (FIXTURES / name).read_text()
        kinds[name] = sorted({p["kind"] for p in plan.find_problems(extract.reduce_module(text))})
    assert kinds == {
        "minchar/rnn_dict_correct.py": ["lossfun"],
        "cs231n/lstm_layers_correct.py": ["layer", "lossfun"],  # and captioning_loss
        "outhelpers/lstm_outhelpers.py": ["pair"],
        "classbased/lstm_class_correct.py": ["class"],
    }


def test_configured_entry_points(tmp_path: Path, capsys) -> None:
    program = rule_by_code("LST900").invalid[0].code.replace("lossFun", "compute")
    path = tmp_path / "rnn.py"
    path.write_text(program)

    def unexplained() -> list[dict]:
        return [d for d in _json(capsys, *args, str(path)) if d["code"] == "LST900"]

    args: tuple[str, ...] = ()
    assert unexplained() == []  # not a recognised name
    (tmp_path / "pyproject.toml").write_text(
        '[tool.lstmlint.harness]\nkind = "lossfun"\nfunction = "compute"\n'
    )
    assert len(unexplained()) == 1
    # with some rules off, "no rule explains it" cannot be said
    args = ("--ignore", "LST2")
    assert unexplained() == []


def test_overlapping_fixes_are_folded() -> None:
    from lstmlint.diagnostics import Span
    from lstmlint.edits import Edit

    text = "x = tanh(tanh(C[t]), True)\n"
    outer = Edit(Span(1, 5, 1, 27), "(1 - tanh(C[t])**2)")
    inner = Edit(Span(1, 17, 1, 18), "t + 1")
    assert with_fixes(text, [inner, outer]) == ("x = (1 - tanh(C[t + 1])**2)\n", True)
    clash = Edit(Span(1, 1, 1, 10), "y = ")
    assert with_fixes(text, [outer, clash])[1] is False


# --- how outcomes become verdicts (synthetic outcomes, so each rule of judgement is pinned) ----


def _verdicts(errors: dict[str, float]) -> dict:
    def verdict(error: float) -> str:
        return "PASS" if error < 1e-7 else "FAIL" if error > 1e-3 else "INCONCLUSIVE"

    return {
        "status": "ok",
        "how": "index lists",
        "params": {n: {"error": e, "verdict": verdict(e)} for n, e in errors.items()},
    }


def _judged(outcome: dict, with_edits: tuple[bool, ...] = (True, True)) -> tuple[list, list]:
    from types import SimpleNamespace

    from lstmlint.diagnostics import Diagnostic, Severity, Span
    from lstmlint.edits import Edit
    from lstmlint.engine import FileResult
    from lstmlint.harness import _judge
    from lstmlint.selection import Selection
    from lstmlint.sources import SourceDocument

    text = "def lossFun(x, y, h):\n    a = 1\n    b = 2\n    return a, b\n"
    doc = SourceDocument(path="m.py", text=text, display_lines=text.split("\n"))
    diagnostics = [
        Diagnostic(
            "m.py",
            code,
            "rule",
            "message",
            Span(line, 5, line, 6),
            Severity.ERROR,
            confirmation={"status": "confirmed", "method": "reference", "evidence": []},
            edits=[Edit(Span(line, 9, line, 10), "3")] if edits else [],
        )
        for (code, line), edits in zip((("LST101", 2), ("LST204", 3)), with_edits, strict=True)
    ]
    result = FileResult(path="m.py", diagnostics=list(diagnostics))
    reduced = extract.reduce_module(text)
    problem = {"kind": "lossfun", "backward": "lossFun", "lines": [[1, 4]]}
    fixable = [d for d in diagnostics if d.edits]
    settings = SimpleNamespace(selection=Selection())
    _judge(result, doc, reduced, problem, outcome, fixable, settings)
    return diagnostics, [d for d in result.diagnostics if d.code == "LST900"]


def test_exact_as_written_refutes_every_finding() -> None:
    found, extra = _judged({"original": _verdicts({"W": 1e-9, "b": 2e-9})})
    assert [d.confirmation["status"] for d in found] == ["refuted", "refuted"]
    assert {d.confirmation["method"] for d in found} == {"your-code"}
    assert extra == []


def test_leave_one_out_confirms_the_needed_fix_and_refutes_the_other() -> None:
    outcome = {
        "original": _verdicts({"W": 0.5, "b": 0.2}),
        "all_fixed": _verdicts({"W": 1e-9, "b": 1e-9}),
        "without": {"0": _verdicts({"W": 0.4, "b": 1e-9}), "1": _verdicts({"W": 1e-9, "b": 1e-9})},
    }
    (needed, unneeded), extra = _judged(outcome)
    assert needed.confirmation["status"] == "confirmed"
    assert needed.confirmation["evidence"] == [{"param": "W", "error": 0.4, "fixed_error": 1e-9}]
    assert unneeded.confirmation["status"] == "refuted"
    assert extra == []


def test_error_left_after_every_fix_is_unexplained() -> None:
    outcome = {
        "original": _verdicts({"W": 0.5, "b": 0.2}),
        "all_fixed": _verdicts({"W": 0.5, "b": 1e-9}),
    }
    found, (unexplained,) = _judged(outcome)
    assert unexplained.confirmation["evidence"] == [
        {"param": "W", "error": 0.5, "fixed_error": None}
    ]
    assert "dW (5.0e-01)" in unexplained.message and unexplained.line == 1
    assert all(d.confirmation["fix_verified"] is False for d in found)


def test_no_unexplained_error_while_a_finding_without_a_fix_stands() -> None:
    outcome = {"original": _verdicts({"W": 0.5}), "all_fixed": _verdicts({"W": 0.5})}
    _, extra = _judged(outcome, with_edits=(True, False))
    assert extra == []


def test_an_error_the_fixes_made_is_blamed_on_the_fixes() -> None:
    outcome = {
        "original": _verdicts({"W": 1e-5, "b": 0.2}),
        "all_fixed": _verdicts({"W": 0.3, "b": 1e-9}),
    }
    found, extra = _judged(outcome)
    assert extra == []
    assert all(d.confirmation["fix_verified"] is False for d in found)


def test_a_fix_that_makes_a_gradient_far_better_is_confirmed_beside_an_unfixable_bug() -> None:
    outcome = {
        "original": _verdicts({"W": 0.5, "b": 0.4}),
        "all_fixed": _verdicts({"W": 0.02, "b": 0.4}),  # b stays wrong: the unfixable finding
        "without": {"0": _verdicts({"W": 0.5, "b": 0.4})},
    }
    (fixed, unfixable), extra = _judged(outcome, with_edits=(True, False))
    assert fixed.confirmation["method"] == "your-code"
    assert fixed.confirmation["evidence"] == [{"param": "W", "error": 0.5, "fixed_error": 0.02}]
    assert unfixable.confirmation["method"] == "reference"
    assert extra == []
    outcome["without"] = {"0": _verdicts({"W": 0.05, "b": 0.4})}  # not ten times worse
    (fixed, _), _ = _judged(outcome, with_edits=(True, False))
    assert fixed.confirmation["method"] == "reference"


def test_the_one_fix_that_breaks_correct_code_is_singled_out() -> None:
    outcome = {
        "original": _verdicts({"W": 0.5, "b": 1e-9}),
        "all_fixed": _verdicts({"W": 1e-9, "b": 0.3}),  # the second fix broke b
        "without": {"0": _verdicts({"W": 0.5, "b": 0.3}), "1": _verdicts({"W": 1e-9, "b": 1e-9})},
    }
    (needed, wrong), extra = _judged(outcome)
    assert wrong.confirmation["status"] == "refuted"
    assert wrong.confirmation["method"] == "your-code"
    # the first fix, applied alone, made the code exact: it stays confirmed and its fix allowed
    assert needed.confirmation["status"] == "confirmed"
    assert needed.confirmation.get("fix_verified") is not False
    assert extra == []


def test_no_fix_is_singled_out_when_none_or_several_would_do() -> None:
    for without in (
        {"0": _verdicts({"W": 0.5, "b": 0.3}), "1": _verdicts({"W": 0.5, "b": 0.3})},
        {"0": _verdicts({"W": 1e-9, "b": 1e-9}), "1": _verdicts({"W": 1e-9, "b": 1e-9})},
    ):
        outcome = {
            "original": _verdicts({"W": 0.5, "b": 1e-9}),
            "all_fixed": _verdicts({"W": 1e-9, "b": 0.3}),
            "without": without,
        }
        found, _ = _judged(outcome)
        assert [d.confirmation["status"] for d in found] == ["confirmed", "confirmed"]
        assert all(d.confirmation["fix_verified"] is False for d in found)


def test_what_runs_at_definition_time_is_checked_too() -> None:
    text = (
        "import os\nimport numpy as np\n"
        "def unused(x=os.getcwd()):\n    return x\n"
        "class Model:\n    log = open('log.txt', 'w')\n    def forward(self, x):\n        return np.tanh(x)\n"
        "def used(x):\n    return np.tanh(x)\n"
    )
    reduced = extract.reduce_module(text)
    assert extract.unsafe_uses(reduced, extract.reachable(reduced, ["used"])) == []
    assert set(extract.loaded_unsafe(reduced)) == {
        "module `os` in the definition of unused",
        "`open` in the definition of Model",
    }


def test_an_internal_error_costs_one_file_not_the_run(tmp_path: Path, capsys, monkeypatch) -> None:
    import lstmlint.harness as harness

    def broken(*args):
        raise RuntimeError("boom")

    monkeypatch.setattr(harness, "_siblings", broken)
    (path,) = _copy(tmp_path, "minchar/rnn_dict_buggy.py")
    records, status, out = _harness_report(capsys, tmp_path, path)
    out = " ".join(out.split())
    assert status == 1 and "LST206" in out
    assert "your code was not checked after an internal error (RuntimeError: boom)" in out
    # the report still lists the file, and says why it was not checked
    assert records["rnn_dict_buggy.py"]["status"] == "not-run"
    assert "RuntimeError: boom" in records["rnn_dict_buggy.py"]["reason"]


def test_a_size_computed_from_data_gets_a_stand_in() -> None:
    text = (
        "import numpy as np\n"
        "data = open('input.txt').read()\n"
        "chars = sorted(set(data))\n"
        "n, V = len(data), len(chars)\n"
        "H = 8\n"
        "W = np.zeros((H, V + 1))\n"
        "names = list(chars)\n"
    )
    reduced = extract.reduce_module(text)
    kept = [line for line in reduced.text.splitlines() if line]
    assert kept == [
        "import numpy as np",
        "n = 5; V = 5",
        "H = 8",
        "W = np.zeros((H, V + 1))",
    ]
    assert reduced.text.splitlines()[3] == "n = 5; V = 5"  # on the line it stands in for
    assert "n = 5\nV = 5" in ast.unparse(reduced.tree)  # what runs
    assert reduced.defined["V"].lineno == 4  # type: ignore[attr-defined]


def test_io_reached_through_numpy_imports_is_refused() -> None:
    text = (
        "from numpy import save, tanh\nimport numpy.f2py as f2\n"
        "def g(x):\n    save('a', x)\n    return tanh(x)\n"
        "def h(x):\n    return f2.compile(x)\n"
        "def k(x):\n    return tanh(x)\n"
    )
    reduced = extract.reduce_module(text)
    assert extract.unsafe_uses(reduced, ["g"]) == ["module `numpy.save` in g"]
    assert extract.unsafe_uses(reduced, ["h"]) == ["module `numpy.f2py` in h"]
    assert extract.unsafe_uses(reduced, ["k"]) == []
    star = extract.reduce_module("from numpy import *\ndef g(x):\n    return tanh(x)\n")
    assert extract.loaded_unsafe(star) == ["`tanh` from `from numpy import *`"]
    # a star import the code never needs (a notebook's test helpers) is never run: no matter
    unused = extract.reduce_module(
        "from public_tests import *\nimport numpy as np\ndef g(x):\n    y = np.tanh(x)\n    return y\n"
    )
    assert extract.loaded_unsafe(unused) == []


def test_attributes_reached_by_built_names_are_refused() -> None:
    text = (
        "def g(f, k):\n"
        "    x = getattr(f, '__glob' + 'als__')\n"
        "    y = getattr(f, '__dict__')\n"
        "    return getattr(f, 'W'), getattr(f, k)\n"
    )
    problems = extract.unsafe_uses(extract.reduce_module(text), ["g"])
    assert problems == ["`getattr` with a built attribute name in g"]


PAYLOADS = {
    # blanking the dropped `import os` line must not turn the second string into code
    "string": '_a = """\n"""; import os\n_b = """\nopen(MARKER, "w").write("x")\n_c = 1 #"""\n',
    "own-function": 'def _setup():\n    open(MARKER, "w").write("ran")\n    return 1\n_ready = _setup()\n',
    "private-module-attribute": 'import random\n_a = random._os.system("echo x > " + MARKER)\n',
    "getattr-alias": 'import numpy as np\n_g = getattr\n_x = _g(np, "sa" + "ve")(MARKER, 1)\n',
    "default-argument": 'def f(x=open(MARKER, "w").write("x")):\n    return x\n',
}


@pytest.mark.parametrize("name", sorted(PAYLOADS))
def test_auto_mode_runs_nothing_with_effects(tmp_path: Path, capsys, name: str) -> None:
    marker = tmp_path / "marker"
    payload = PAYLOADS[name].replace("MARKER", repr(str(marker)))
    path = tmp_path / "rnn.py"
    path.write_text(payload + (FIXTURES / "minchar" / "rnn_dict_buggy.py").read_text())
    run(capsys, str(path))
    assert not marker.exists()


def test_a_sibling_with_effects_when_loaded_is_not_run(tmp_path: Path, capsys) -> None:
    marker = tmp_path / "marker"
    (tmp_path / "helper.py").write_text(f"def f(x=open({str(marker)!r}, 'w')):\n    return x\n")
    path = tmp_path / "rnn.py"
    path.write_text("import helper\n" + (FIXTURES / "minchar" / "rnn_dict_buggy.py").read_text())
    _, out, _ = run(capsys, str(path))
    assert not marker.exists()
    assert "(in helper)" in " ".join(out.split())


def test_one_file_s_code_cannot_change_the_next_file_s_check(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    """Files checked by the same server process each run in a fork of their own."""
    correct = (FIXTURES / "minchar" / "rnn_dict_correct.py").read_text()
    header = "def lossFun(inputs, targets, hprev):\n"
    leak = "    np.tanh = np.exp  # would leak into later checks made by the same process\n"
    sabotage = correct.replace(header, header + leak, 1)
    assert sabotage != correct
    (tmp_path / "a_sabotage.py").write_text(sabotage)
    (tmp_path / "b_correct.py").write_text(correct)
    monkeypatch.setattr("lstmlint.settings.cores", lambda: 1)  # one thread: one server for both
    _, out, _ = run(capsys, "--no-cache", "--format", "concise", str(tmp_path))
    assert "a_sabotage.py" in out and "LST900" in out  # its own check saw the change
    assert "b_correct.py" not in out


def test_a_server_answers_after_a_request_that_hung(tmp_path: Path) -> None:
    from lstmlint.child_process import Server

    hang = (FIXTURES / "minchar" / "rnn_dict_correct.py").read_text()
    header = "def lossFun(inputs, targets, hprev):\n"
    hang = hang.replace(header, header + "    while True:\n        pass\n", 1)
    (tmp_path / "hang.py").write_text(hang)
    server = Server("lstmlint.harness.server")
    try:
        job = {
            "path": str(tmp_path / "hang.py"),
            "keep_imports": False,
            "memory_mb": 1024,
            "siblings": {},
            "problems": plan.find_problems(extract.reduce_module(hang, tmp_path, False)),
            "original": hang,
            "all_fixed": None,
            "without": {},
        }
        assert server.ask({"job": job, "timeout": 1}, 1) == {"failed": "did not finish within 1 s"}
        process = server._process
        job["original"] = "x = 1\n"  # nothing to check: an answer at once
        reply = server.ask({"job": job, "timeout": 5}, 5)
        assert "answer" in reply and server._process is process  # the same server answered
    finally:
        server.close()


def test_without_fork_each_file_gets_a_fresh_process(tmp_path: Path, capsys, monkeypatch) -> None:
    """Systems without ``os.fork`` run ``python -m lstmlint.harness.child`` once per file."""
    (path,) = _copy(tmp_path, "minchar/rnn_dict_buggy.py")
    monkeypatch.delattr("os.fork")
    found = _json(capsys, "--no-cache", "--jobs", "1", path)
    assert found and {d["confirmation"]["method"] for d in found} == {"your-code"}


def test_a_file_whose_code_could_not_be_called_says_so(tmp_path: Path, capsys) -> None:
    path = _variant(
        tmp_path,
        "lookalikes/lstm_while_decrement_first.py",
        "dc * i * (1 - g ** 2)])",
        "dc * i * (1 - g)])",
        "wrong_tanh.py",
    )
    _, out, _ = run(capsys, "--no-cache", path)
    assert "LST205" in out
    assert "your code's own gradients were not checked (none of" in out
    assert "[tool.lstmlint.harness] can name its pieces" in out


def _variant(tmp_path: Path, name: str, old: str, new: str, target: str) -> str:
    text = (FIXTURES / name).read_text()
    assert old in text
    path = tmp_path / target
    path.write_text(text.replace(old, new))
    return str(path)


def _twins(tmp_path: Path, text: str, old: str, new: str) -> tuple[str, str]:
    """``correct.py`` holding ``text`` and ``buggy.py`` with its one ``old`` made ``new``."""
    assert text.count(old) == 1
    correct, buggy = tmp_path / "correct.py", tmp_path / "buggy.py"
    correct.write_text(text)
    buggy.write_text(text.replace(old, new))
    return str(correct), str(buggy)


def test_a_backward_that_updates_its_input_in_place_is_not_blamed(tmp_path: Path, capsys) -> None:
    # CS231n style: `dnext_c += ...` changes the caller's array; each call must get its own copy
    inplace = "    dnext_c += dnext_h * o * (1 - np.tanh(next_c) ** 2)\n"
    correct = _variant(
        tmp_path,
        "cs231n/lstm_layers_correct.py",
        "    dnext_c = dnext_c + dnext_h * o * (1 - np.tanh(next_c) ** 2)\n",
        inplace,
        "inplace.py",
    )
    assert _json(capsys, correct) == []
    # the same code with a term too many in a weight gradient: the harness did run it, and
    # blames dWx only
    scaled = tmp_path / "inplace_scaled.py"
    scaled.write_text(
        Path(correct).read_text().replace("dWx = x.T.dot(da)", "dWx = x.T.dot(da) + 1")
    )
    found = _json(capsys, str(scaled))
    assert {d["code"] for d in found} == {"LST900"}
    assert {d["message"].split("`")[1] for d in found} == {"lstm_step_backward", "lstm_backward"}
    assert all("dWx" in d["message"] and "dprev_c" not in d["message"] for d in found)


def test_a_forward_with_unseeded_random_draws_is_not_checked(tmp_path: Path, capsys) -> None:
    noisy = _variant(
        tmp_path,
        "minchar/rnn_dict_correct.py",
        "        ys[t] = np.dot(Why, hs[t]) + by\n",
        "        ys[t] = np.dot(Why, hs[t]) + by + 1e-3 * np.random.default_rng().standard_normal((vocab_size, 1))\n",
        "noisy.py",
    )
    status, out, _ = run(capsys, noisy)
    assert "LST900" not in out
    assert status == 0


def _harness_report(capsys, tmp_path: Path, *paths: str) -> tuple[dict[str, dict], int, str]:
    """The --harness-report records of a run by file name, its exit status and its output."""
    report = tmp_path / "report.json"
    status, out, _ = run(capsys, "--harness-report", str(report), *paths)
    return {Path(r["path"]).name: r for r in json.loads(report.read_text())}, status, out


def test_harness_report_says_how_each_file_went(tmp_path: Path, capsys) -> None:
    _copy(tmp_path, "minchar/rnn_dict_correct.py", "cs231n/lstm_layers_buggy.py")
    refused = tmp_path / "refused.py"
    refused.write_text(
        (FIXTURES / "minchar/rnn_dict_buggy.py")
        .read_text()
        .replace(
            "def lossFun(inputs, targets, hprev):\n",
            "def lossFun(inputs, targets, hprev):\n    open('x')\n",
        )
    )
    forward_only = tmp_path / "forward_only.py"
    forward_only.write_text(
        "import numpy as np\n\n\ndef rnn_forward(xs, h, Wxh, Whh):\n"
        "    for x in xs:\n        h = np.tanh(Wxh @ x + Whh @ h)\n    return h\n"
    )
    _variant(
        tmp_path,
        "minchar/rnn_dict_correct.py",
        "        ys[t] = np.dot(Why, hs[t]) + by\n",
        "        ys[t] = np.dot(Why, hs[t]) + by + 1e-3 * np.random.default_rng().standard_normal((vocab_size, 1))\n",
        "noisy.py",
    )
    records, status, out = _harness_report(capsys, tmp_path, str(tmp_path))
    assert records["rnn_dict_correct.py"]["status"] == "checked"
    assert records["rnn_dict_correct.py"]["entry"] == "lossFun(...)"
    params = {p["name"]: p["verdict"] for p in records["rnn_dict_correct.py"]["parameters"]}
    assert params and set(params.values()) == {"PASS"}
    assert "Whh" in params
    buggy = records.get("lstm_layers_buggy.py", {})
    assert (buggy.get("status"), buggy.get("reason")) == ("checked", None)
    assert "FAIL" in {p["verdict"] for p in records["lstm_layers_buggy.py"]["parameters"]}
    assert records["refused.py"]["status"] == "not-run"
    assert "open" in records["refused.py"]["reason"]
    assert records["forward_only.py"]["status"] == "no-backward"
    assert records["noisy.py"]["status"] == "not-callable"
    assert "not deterministic" in records["noisy.py"]["reason"]
    assert "checked in 2 of 4 files with a backward" in out
    assert status == 1


def test_compatibility_imports_of_builtins_are_pure(tmp_path: Path, capsys) -> None:
    text = (FIXTURES / "cs231n" / "lstm_layers_correct.py").read_text()
    pure = tmp_path / "pure.py"
    pure.write_text("from builtins import range, object\n" + text)
    hidden = tmp_path / "hidden.py"  # `open` under a builtin's name is still refused
    hidden.write_text(
        "from builtins import open as range\n"
        + text.replace("    H = prev_h.shape[1]\n", "    H = prev_h.shape[1]\n    range('x')\n", 1)
    )
    records, _, _ = _harness_report(capsys, tmp_path, str(pure), str(hidden))
    # status and reason together: a failure shows the reason however long the records are
    assert (records["pure.py"]["status"], records["pure.py"]["reason"]) == ("checked", None)
    assert records["hidden.py"]["status"] == "not-run"
    assert "builtins.open" in records["hidden.py"]["reason"]


def test_a_base_class_initialiser_is_pure() -> None:
    text = textwrap.dedent(
        """
        import numpy as np

        class Base:
            def __init__(self):
                self.ready = True

        class Model(Base):
            def __init__(self, n):
                super().__init__()
                self.W = np.zeros((n, n))

        """
    )
    evil = text + "\n        def evil(self):\n            return self.__init__.__globals__\n"
    assert extract.unsafe_uses(extract.reduce_module(text), ["Model"]) == []
    assert extract.unsafe_uses(extract.reduce_module(evil), ["Model"]) != []


def test_code_the_entry_points_never_reach_is_neither_judged_nor_run(
    tmp_path: Path, capsys
) -> None:
    text = (FIXTURES / "minchar" / "rnn_dict_correct.py").read_text()
    extra = textwrap.dedent(
        """

        import torch


        class Net(torch.nn.Module):
            def forward(self, x):
                return x


        class TextFile:
            def read(self):
                with open("corpus.txt") as handle:
                    return handle.read()
        """
    )
    unreached = tmp_path / "unreached.py"
    unreached.write_text(text + extra)
    reached = tmp_path / "reached.py"  # the same reader called from lossFun: refused
    reached.write_text(
        text.replace(
            "    xs, ys, ps = {}, {}, {}\n", "    xs, ys, ps = {}, {}, {}\n    TextFile().read()\n"
        )
        + extra
    )
    records, _, _ = _harness_report(capsys, tmp_path, str(unreached), str(reached))
    assert records["unreached.py"]["status"] == "checked"
    assert records["reached.py"]["status"] == "not-run"
    assert "open" in records["reached.py"]["reason"]


def test_top_level_values_and_shadowed_names_do_not_reach_more_code(tmp_path: Path, capsys) -> None:
    text = (FIXTURES / "minchar" / "rnn_dict_correct.py").read_text()
    # a model built at the top level that nothing the check calls reads, and a top-level
    # name that lossFun only ever uses as a local of its own
    extra = textwrap.dedent(
        """

        import torch


        class Net(torch.nn.Module):
            def forward(self, x):
                return x


        net = Net()
        xs = net
        """
    )
    unreached = tmp_path / "unreached.py"
    unreached.write_text(text + extra)
    # the same model read by the loss function: refused
    reached = tmp_path / "reached.py"
    reached.write_text(
        text.replace("    loss = 0.0\n", "    loss = 0.0 * len(str(net))\n", 1) + extra
    )
    assert "0.0 * len(str(net))" in reached.read_text()
    records, _, _ = _harness_report(capsys, tmp_path, str(unreached), str(reached))
    assert records["unreached.py"]["status"] == "checked"
    assert records["reached.py"]["status"] == "not-run"
    assert "torch" in records["reached.py"]["reason"]


# wildml's RNNNumpy names: forward_propagation, calculate_loss(x, y), bptt; a gradient_check
# method that uses more than NumPy and that the check never calls
CLASS_WITH_OTHER_NAMES = """\
import operator
import sys

import numpy as np


class RNNNumpy:
    def __init__(self, word_dim, hidden_dim=4, bptt_truncate=4):
        self.word_dim = word_dim
        self.hidden_dim = hidden_dim
        self.bptt_truncate = bptt_truncate
        self.U = np.random.uniform(-0.5, 0.5, (hidden_dim, word_dim))
        self.V = np.random.uniform(-0.5, 0.5, (word_dim, hidden_dim))
        self.W = np.random.uniform(-0.5, 0.5, (hidden_dim, hidden_dim))

    def forward_propagation(self, x):
        T = len(x)
        s = np.zeros((T + 1, self.hidden_dim))
        o = np.zeros((T, self.word_dim))
        for t in np.arange(T):
            s[t] = np.tanh(self.U[:, x[t]] + self.W.dot(s[t - 1]))
            e = np.exp(self.V.dot(s[t]) - np.max(self.V.dot(s[t])))
            o[t] = e / np.sum(e)
        return [o, s]

    def calculate_loss(self, x, y):
        o, s = self.forward_propagation(x)
        return -np.sum(np.log(o[np.arange(len(y)), y]))

    def bptt(self, x, y):
        T = len(y)
        o, s = self.forward_propagation(x)
        dLdU = np.zeros(self.U.shape)
        dLdV = np.zeros(self.V.shape)
        dLdW = np.zeros(self.W.shape)
        delta_o = o
        delta_o[np.arange(len(y)), y] -= 1.0
        for t in np.arange(T)[::-1]:
            dLdV += np.outer(delta_o[t], s[t].T)
            delta_t = self.V.T.dot(delta_o[t]) * (1 - (s[t] ** 2))
            for bptt_step in np.arange(max(0, t - self.bptt_truncate), t + 1)[::-1]:
                dLdW += np.outer(delta_t, s[bptt_step - 1])
                dLdU[:, x[bptt_step]] += delta_t
                delta_t = self.W.T.dot(delta_t) * (1 - s[bptt_step - 1] ** 2)
        return [dLdU, dLdV, dLdW]

    def gradient_check(self, x, y):
        print(operator.itemgetter(0), file=sys.stderr)
"""


def test_a_class_with_forward_propagation_bptt_and_calculate_loss(tmp_path: Path, capsys) -> None:
    text = CLASS_WITH_OTHER_NAMES
    checked = tmp_path / "checked.py"
    checked.write_text(text)
    # the same gradient_check method called by bptt: it is reached now, so it is judged
    reached = tmp_path / "reached.py"
    reached.write_text(
        text.replace(
            "        return [dLdU, dLdV, dLdW]\n",
            "        self.gradient_check(x, y)\n        return [dLdU, dLdV, dLdW]\n",
        )
    )
    wrong = tmp_path / "wrong.py"
    wrong.write_text(
        text.replace(
            "dLdV += np.outer(delta_o[t], s[t].T)", "dLdV += 2 * np.outer(delta_o[t], s[t].T)"
        )
    )
    # the tutorial's own pair: a total over a batch of sentences, and its mean per word (which
    # bptt's unscaled gradients do not match); the total is taken, given one sentence
    batch = tmp_path / "batch.py"
    batch.write_text(
        text.replace(
            "    def calculate_loss(self, x, y):\n"
            "        o, s = self.forward_propagation(x)\n"
            "        return -np.sum(np.log(o[np.arange(len(y)), y]))\n",
            "    def calculate_total_loss(self, x, y):\n"
            "        L = 0\n"
            "        for i in np.arange(len(y)):\n"
            "            o, s = self.forward_propagation(x[i])\n"
            "            L += -np.sum(np.log(o[np.arange(len(y[i])), y[i]]))\n"
            "        return L\n"
            "\n"
            "    def calculate_loss(self, x, y):\n"
            "        return self.calculate_total_loss(x, y) / sum(len(y_i) for y_i in y)\n",
        )
    )
    assert "calculate_total_loss" in batch.read_text()
    # a notebook defines a method in a later cell and attaches it: `RNNNumpy.bptt = bptt`
    head, rest = text.split("    def bptt(self, x, y):\n")
    method, tail = rest.split("    def gradient_check")
    attached = tmp_path / "attached.py"
    attached.write_text(
        head
        + "    def gradient_check"
        + tail
        + "\n\ndef bptt(self, x, y):\n"
        + "".join(line[4:] for line in method.splitlines(keepends=True))
        + "\n\nRNNNumpy.bptt = bptt\n"
    )
    records, _, _ = _harness_report(
        capsys, tmp_path, str(checked), str(reached), str(wrong), str(batch), str(attached)
    )
    assert records["attached.py"]["status"] == "checked"
    assert {p["verdict"] for p in records["attached.py"]["parameters"]} == {"PASS"}
    # a method attached that way is judged like one written in the class: `open` is refused
    unsafe = tmp_path / "unsafe.py"
    unsafe.write_text(
        attached.read_text().replace(
            "def bptt(self, x, y):\n", "def bptt(self, x, y):\n    open('marker', 'w')\n", 1
        )
    )
    refused, _, _ = _harness_report(capsys, tmp_path, str(unsafe))
    assert refused["unsafe.py"]["status"] == "not-run"
    assert "open" in refused["unsafe.py"]["reason"]
    assert not (tmp_path / "marker").exists()
    assert records["checked.py"]["status"] == "checked"
    assert records["checked.py"]["entry"] == "RNNNumpy(...).forward_propagation / .bptt"
    assert (records["batch.py"]["status"], records["batch.py"]["reason"]) == ("checked", None)
    assert {p["verdict"] for p in records["batch.py"]["parameters"]} == {"PASS"}
    assert {p["name"]: p["verdict"] for p in records["checked.py"]["parameters"]} == dict.fromkeys(
        "UVW", "PASS"
    )
    assert records["reached.py"]["status"] == "not-run"
    assert (
        "operator" in records["reached.py"]["reason"] and "sys" in records["reached.py"]["reason"]
    )
    assert {p["name"] for p in records["wrong.py"]["parameters"] if p["verdict"] == "FAIL"} == {"V"}


def test_a_derivative_bug_invisible_at_tiny_weights_is_not_refuted(tmp_path: Path, capsys) -> None:
    # at weights of 0.01, c is tiny and 1 - c ** 2 equals 1 - tanh(c) ** 2 to ~1e-9: a check
    # at the file's own values alone would call this code exact and refute the real bug
    text = (FIXTURES / "minchar" / "lstm_dict_correct.py").read_text()
    tiny = text.replace("np.random.randn(H, Z) / np.sqrt(Z)", "np.random.randn(H, Z) * 0.01")
    assert tiny.count("* 0.01") >= 4
    correct = tmp_path / "correct.py"
    correct.write_text(tiny)
    buggy = tmp_path / "buggy.py"
    buggy.write_text(tiny.replace("(1 - np.tanh(cs[t]) ** 2)", "(1 - cs[t] ** 2)"))
    found = _json(capsys, "--show-refuted", str(correct), str(buggy))
    by_file = {(Path(d["path"]).name, d["code"]): d["confirmation"] for d in found}
    assert by_file[("buggy.py", "LST205")]["status"] == "confirmed"
    assert by_file[("buggy.py", "LST205")]["method"] == "your-code"
    assert not [
        k for k in by_file if k[0] == "correct.py" and k[1].startswith(("LST1", "LST2", "LST9"))
    ]


# a recurrent cell as a course's framework writes it: activation objects from a module that is
# not there, forward(x, h), backward(delta), gradients left on the object beside the weights
GRU_CELL = """\
import numpy as np
from activation import *


class GRUCell:
    def __init__(self, in_dim, hidden_dim):
        self.d, self.h = in_dim, hidden_dim
        self.Wzh = np.random.randn(hidden_dim, hidden_dim)
        self.Wzx = np.random.randn(hidden_dim, in_dim)
        self.Wh = np.random.randn(hidden_dim, hidden_dim)
        self.Wx = np.random.randn(hidden_dim, in_dim)
        self.dWzh = np.zeros((hidden_dim, hidden_dim))
        self.dWzx = np.zeros((hidden_dim, in_dim))
        self.dWh = np.zeros((hidden_dim, hidden_dim))
        self.dWx = np.zeros((hidden_dim, in_dim))
        self.z_act = Sigmoid()
        self.h_act = Tanh()

    def forward(self, x, h):
        self.x, self.hidden = x, h
        self.z = self.z_act(self.Wzh @ h + self.Wzx @ x)
        self.n = self.h_act(self.Wh @ h + self.Wx @ x)
        return (1 - self.z) * h + self.z * self.n

    def backward(self, delta):
        dz = delta * (self.n - self.hidden) * self.z_act.derivative()
        dn = delta * self.z * self.h_act.derivative()
        self.dWzh = np.outer(dz, self.hidden)
        self.dWzx = np.outer(dz, self.x)
        self.dWh = np.outer(dn, self.hidden)
        self.dWx = np.outer(dn, self.x)
        dx = self.Wzx.T @ dz + self.Wx.T @ dn
        dh = delta * (1 - self.z) + self.Wzh.T @ dz + self.Wh.T @ dn
        return dx, dh
"""


def test_a_cell_class_is_checked_one_step_at_a_time(tmp_path: Path, capsys) -> None:
    correct = tmp_path / "correct.py"
    correct.write_text(GRU_CELL)
    buggy = tmp_path / "buggy.py"  # the candidate's derivative left out
    buggy.write_text(
        GRU_CELL.replace("dn = delta * self.z * self.h_act.derivative()", "dn = delta * self.z")
    )
    # `h` in backward(delta, h, ...) may be the incoming state or the output: never guessed
    ambiguous = tmp_path / "ambiguous.py"
    ambiguous.write_text(
        GRU_CELL.replace("def backward(self, delta):", "def backward(self, delta, h):")
    )
    # some years name the derivative `backward()` / `backward(state=...)`; others mean the
    # gradient times it by `backward(delta)`, which is never guessed at
    named = tmp_path / "named.py"
    named.write_text(
        GRU_CELL.replace("self.z_act.derivative()", "self.z_act.backward()").replace(
            "self.h_act.derivative()", "self.h_act.backward(state=self.n)"
        )
    )
    scaled = tmp_path / "scaled.py"
    scaled.write_text(
        GRU_CELL.replace(
            "dn = delta * self.z * self.h_act.derivative()",
            "dn = self.h_act.backward(delta * self.z)",
        )
    )
    # a bias of shape (h,) whose gradient the backward keeps as a (1, h) row
    with_bias = (
        GRU_CELL.replace(
            "        self.z_act = Sigmoid()\n",
            "        self.bz = np.random.randn(hidden_dim)\n"
            "        self.dbz = np.zeros((1, hidden_dim))\n"
            "        self.z_act = Sigmoid()\n",
        )
        .replace("self.Wzx @ x)", "self.Wzx @ x + self.bz)")
        .replace(
            "        dx = self.Wzx.T",
            "        self.dbz = dz.reshape(1, -1)\n        dx = self.Wzx.T",
        )
    )
    row = tmp_path / "row.py"
    row.write_text(with_bias)
    row_wrong = tmp_path / "row_wrong.py"
    row_wrong.write_text(with_bias.replace("dz.reshape(1, -1)", "(2 * dz).reshape(1, -1)"))
    records, _, _ = _harness_report(
        capsys,
        tmp_path,
        *(str(f) for f in (correct, buggy, ambiguous, named, scaled, row, row_wrong)),
    )
    # a gradient kept transposed has other values in another order: never reshaped into place
    turned = tmp_path / "turned.py"
    turned.write_text(
        GRU_CELL.replace("self.dWx = np.outer(dn, self.x)", "self.dWx = np.outer(self.x, dn)")
    )
    turned_record = _harness_report(capsys, tmp_path, str(turned))[0]["turned.py"]
    assert "Wx" not in {p["name"] for p in turned_record.get("parameters", [])}
    for name, wrong_params in (("row.py", set()), ("row_wrong.py", {"bz"})):
        assert records[name]["status"] == "checked"
        found = {p["name"] for p in records[name]["parameters"] if p["verdict"] == "FAIL"}
        assert found == wrong_params and "bz" in {p["name"] for p in records[name]["parameters"]}
    assert records["correct.py"]["status"] == "checked"
    assert (records["named.py"]["status"], records["named.py"]["reason"]) == ("checked", None)
    assert {p["verdict"] for p in records["named.py"]["parameters"]} == {"PASS"}
    assert records["scaled.py"]["status"] == "not-callable"
    assert records["correct.py"]["inputs"].startswith("one step of the cell on one vector")
    assert "lstmlint's own `Sigmoid`, `Tanh` standing in" in records["correct.py"]["inputs"]
    assert {p["verdict"] for p in records["correct.py"]["parameters"]} == {"PASS"}
    wrong = {p["name"] for p in records["buggy.py"]["parameters"] if p["verdict"] == "FAIL"}
    assert wrong == {"Wh", "Wx"}
    assert records["ambiguous.py"]["status"] == "not-callable"
    assert not [d for d in _json(capsys, str(correct)) if d["code"] in ("LST900", "LST901")]


def test_the_initialiser_is_the_one_no_other_initialiser_calls() -> None:
    text = textwrap.dedent(
        """
        import numpy as np

        def init_orthogonal(param):
            return param

        def init_rnn(hidden_size, vocab_size):
            U = init_orthogonal(np.zeros((hidden_size, vocab_size)))
            return (U,)

        def forward(inputs, hidden_state, params):
            return inputs

        def backward(inputs, outputs, params):
            return (params[0],)
        """
    )
    (problem,) = [p for p in plan.find_problems(extract.reduce_module(text)) if p["kind"] == "pair"]
    assert problem["init"] == "init_rnn"


def test_a_file_with_a_syntax_error_is_run_from_what_the_analysis_read(
    tmp_path: Path, capsys
) -> None:
    text = (FIXTURES / "minchar" / "rnn_dict_correct.py").read_text()
    broken = tmp_path / "broken.py"  # a leftover line the parser rejects, outside the backward
    broken.write_text(text + "\nprint 'done'\n")
    paths = _copy(tmp_path, "reviewed/lstm_template.ipynb", "reviewed/utils.py", "reviewed/data.py")
    records, _, _ = _harness_report(capsys, tmp_path, str(broken), paths[0])
    assert (records["broken.py"]["status"], records["broken.py"]["reason"]) == ("checked", None)
    template = records["lstm_template.ipynb"]
    assert template["status"] == "not-callable"
    assert (
        template["reason"] == "a statement left blank is needed to run it: `f =` (cell 9, line 35)"
    )


def test_an_untransposed_weight_and_a_random_accumulator_are_confirmed_on_the_users_code(
    tmp_path: Path, capsys
) -> None:
    # the reference cannot tell which product is the recurrent one, nor replay a starting
    # value: the user's own check, with the fix applied, is what proves both
    text = (FIXTURES / "minchar" / "rnn_dict_correct.py").read_text()
    bugs = {
        "untransposed.py": ("np.dot(Whh.T, dhraw)", "np.dot(Whh, dhraw)", "LST209"),
        "random_start.py": (
            "dbh, dby = np.zeros_like(bh)",
            "dbh, dby = np.random.randn(*bh.shape)",
            "LST210",
        ),
    }
    for name, (old, new, _) in bugs.items():
        assert text.count(old) == 1
        (tmp_path / name).write_text(text.replace(old, new))
    (tmp_path / "correct.py").write_text(text)
    paths = [str(tmp_path / name) for name in (*bugs, "correct.py")]
    found = _json(capsys, "--confirm=auto", *paths)
    by_file = {Path(d["path"]).name: d for d in found}
    for name, (_, _, code) in bugs.items():
        assert by_file[name]["code"] == code
        assert by_file[name]["confirmation"]["status"] == "confirmed"
        assert by_file[name]["confirmation"]["method"] == "your-code"
    assert "correct.py" not in by_file


# min-char-rnn's LSTM variant: stacked (4H, .) gate matrices at the top level, so the commonest
# leading dimension of the parameters is 4H; the module's own `hidden_size` says what H is
STACKED_GLOBALS = """\
import numpy as np

hidden_size, vocab_size = 6, 5
Wxh = np.random.randn(hidden_size * 4, vocab_size) * 0.1
Whh = np.random.randn(hidden_size * 4, hidden_size) * 0.1
Why = np.random.randn(vocab_size, hidden_size) * 0.1
bh = np.zeros((hidden_size * 4, 1))
by = np.zeros((vocab_size, 1))


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def lossFun(inputs, targets, hprev, cprev):
    H = hidden_size
    xs, hs, cs, gates, ps = {}, {-1: np.copy(hprev)}, {-1: np.copy(cprev)}, {}, {}
    loss = 0
    for t in range(len(inputs)):
        xs[t] = np.zeros((vocab_size, 1))
        xs[t][inputs[t]] = 1
        a = Wxh @ xs[t] + Whh @ hs[t - 1] + bh
        i, f, o, g = sigmoid(a[:H]), sigmoid(a[H:2 * H]), sigmoid(a[2 * H:3 * H]), np.tanh(a[3 * H:])
        gates[t] = (i, f, o, g)
        cs[t] = f * cs[t - 1] + i * g
        hs[t] = o * np.tanh(cs[t])
        y = Why @ hs[t] + by
        ps[t] = np.exp(y - np.max(y)) / np.sum(np.exp(y - np.max(y)))
        loss += -np.log(ps[t][targets[t], 0])
    dWxh, dWhh, dWhy = np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros_like(Why)
    dbh, dby = np.zeros_like(bh), np.zeros_like(by)
    dhnext, dcnext = np.zeros_like(hprev), np.zeros_like(cprev)
    for t in reversed(range(len(inputs))):
        i, f, o, g = gates[t]
        dy = np.copy(ps[t])
        dy[targets[t]] -= 1
        dWhy += dy @ hs[t].T
        dby += dy
        dh = Why.T @ dy + dhnext
        dc = dcnext + dh * o * (1 - np.tanh(cs[t]) ** 2)
        da = np.vstack((
            dc * g * i * (1 - i),
            dc * cs[t - 1] * f * (1 - f),
            dh * np.tanh(cs[t]) * o * (1 - o),
            dc * i * (1 - g ** 2),
        ))
        dWxh += da @ xs[t].T
        dWhh += da @ hs[t - 1].T
        dbh += da
        dhnext = Whh.T @ da
        dcnext = dc * f
    return loss, dWxh, dWhh, dWhy, dbh, dby, hs[len(inputs) - 1], cs[len(inputs) - 1]
"""


def test_module_size_constants_give_the_hidden_size_of_stacked_globals(
    tmp_path: Path, capsys
) -> None:
    path = tmp_path / "stacked.py"
    path.write_text(STACKED_GLOBALS)
    records, _, _ = _harness_report(capsys, tmp_path, str(path))
    assert (records["stacked.py"]["status"], records["stacked.py"]["reason"]) == ("checked", None)
    assert {p["verdict"] for p in records["stacked.py"]["parameters"]} == {"PASS"}


# min-char-rnn moved into a class: the loss-and-gradients method returns the gradients in a
# list, and Adagrad's memory arrays (`self.mWxh`) sit beside the weights
CLASS_LOSSFUN = """\
import numpy as np


class CharRNN:
    def __init__(self, vocab_size, hidden_size):
        self.Wxh = np.random.randn(hidden_size, vocab_size) * 0.1
        self.Whh = np.random.randn(hidden_size, hidden_size) * 0.1
        self.Why = np.random.randn(vocab_size, hidden_size) * 0.1
        self.bh, self.by = np.zeros((hidden_size, 1)), np.zeros((vocab_size, 1))
        self.mWxh, self.mWhh = np.zeros_like(self.Wxh), np.zeros_like(self.Whh)
        self.mWhy, self.mbh, self.mby = np.zeros_like(self.Why), np.zeros_like(self.bh), np.zeros_like(self.by)

    def probabilities(self, y):
        e = np.exp(y - np.max(y))
        return e / np.sum(e)

    def lossFun(self, inputs, targets, hprev):
        xs, hs, ps = {}, {-1: np.copy(hprev)}, {}
        loss = 0
        for t in range(len(inputs)):
            xs[t] = inputs[t]
            hs[t] = np.tanh(self.Wxh @ xs[t] + self.Whh @ hs[t - 1] + self.bh)
            ps[t] = self.probabilities(self.Why @ hs[t] + self.by)
            loss += -np.log(ps[t][targets[t], 0] + 1e-12)
        dWxh, dWhh, dWhy = np.zeros_like(self.Wxh), np.zeros_like(self.Whh), np.zeros_like(self.Why)
        dbh, dby = np.zeros_like(self.bh), np.zeros_like(self.by)
        dhnext = np.zeros_like(hprev)
        for t in reversed(range(len(inputs))):
            dy = np.copy(ps[t])
            dy[targets[t]] -= 1
            dWhy += dy @ hs[t].T
            dby += dy
            dh = self.Why.T @ dy + dhnext
            dhraw = (1 - hs[t] * hs[t]) * dh
            dbh += dhraw
            dWxh += dhraw @ xs[t].T
            dWhh += dhraw @ hs[t - 1].T
            dhnext = self.Whh.T @ dhraw
        grads = [dWxh, dWhh, dWhy, dbh, dby]
        return loss, grads, hs[len(inputs) - 1]

    def adagrad(self, grads, lr):
        params = [self.Wxh, self.Whh, self.Why, self.bh, self.by]
        for p, d, m in zip(params, grads, [self.mWxh, self.mWhh, self.mWhy, self.mbh, self.mby]):
            m += d * d
            p -= lr * d / np.sqrt(m + 1e-8)
"""


def test_a_class_with_a_loss_and_gradients_method_is_checked(tmp_path: Path, capsys) -> None:
    correct = tmp_path / "correct.py"
    correct.write_text(CLASS_LOSSFUN)
    buggy = tmp_path / "buggy.py"
    buggy.write_text(CLASS_LOSSFUN.replace("dhnext = self.Whh.T @ dhraw", "dhnext = dhraw"))
    records, _, _ = _harness_report(capsys, tmp_path, str(correct), str(buggy))
    assert (records["correct.py"]["status"], records["correct.py"]["reason"]) == ("checked", None)
    assert records["correct.py"]["entry"] == "CharRNN(...).lossFun"
    verdicts = {p["name"]: p["verdict"] for p in records["correct.py"]["parameters"]}
    assert verdicts == dict.fromkeys(("Wxh", "Whh", "Why", "bh", "by"), "PASS")  # no mWxh
    wrong = {p["name"] for p in records["buggy.py"]["parameters"] if p["verdict"] == "FAIL"}
    assert wrong and wrong <= {"Wxh", "Whh", "bh"}


# a course's utilities: `rnn_forward` returns the loss and a cache, `rnn_backward` takes the
# inputs, targets, parameters and that cache, the parameters come from `initialize_parameters`,
# and the forward's signature fixes a vocabulary size of its own
COURSE_UTILS = """\
import numpy as np


def softmax(x):
    e = np.exp(x - np.max(x))
    return e / e.sum(axis=0)


def initialize_parameters(n_a, n_x, n_y):
    Wax = np.random.randn(n_a, n_x) * 0.1
    Waa = np.random.randn(n_a, n_a) * 0.1
    Wya = np.random.randn(n_y, n_a) * 0.1
    return {"Wax": Wax, "Waa": Waa, "Wya": Wya, "b": np.zeros((n_a, 1)), "by": np.zeros((n_y, 1))}


def rnn_step_forward(parameters, a_prev, x):
    a_next = np.tanh(parameters["Wax"] @ x + parameters["Waa"] @ a_prev + parameters["b"])
    return a_next, softmax(parameters["Wya"] @ a_next + parameters["by"])


def rnn_forward(X, Y, a0, parameters, vocab_size=27):
    x, a, y_hat = {}, {-1: np.copy(a0)}, {}
    loss = 0
    for t in range(len(X)):
        x[t] = np.zeros((vocab_size, 1))
        x[t][X[t]] = 1
        a[t], y_hat[t] = rnn_step_forward(parameters, a[t - 1], x[t])
        loss -= np.log(y_hat[t][Y[t], 0])
    return loss, (y_hat, a, x)


def rnn_backward(X, Y, parameters, cache):
    y_hat, a, x = cache
    gradients = {"d" + k: np.zeros_like(v) for k, v in parameters.items()}
    da_next = np.zeros_like(a[0])
    for t in reversed(range(len(X))):
        dy = np.copy(y_hat[t])
        dy[Y[t]] -= 1
        gradients["dWya"] += dy @ a[t].T
        gradients["dby"] += dy
        daraw = (1 - a[t] * a[t]) * (parameters["Wya"].T @ dy + da_next)
        gradients["db"] += daraw
        gradients["dWax"] += daraw @ x[t].T
        gradients["dWaa"] += daraw @ a[t - 1].T
        da_next = parameters["Waa"].T @ daraw
    return gradients, a
"""


def test_a_forward_returning_its_loss_and_cache_is_run_with_its_initialiser(
    tmp_path: Path, capsys
) -> None:
    correct, buggy = _twins(
        tmp_path, COURSE_UTILS, 'da_next = parameters["Waa"].T @ daraw', "da_next = daraw"
    )
    records, _, _ = _harness_report(capsys, tmp_path, correct, buggy)
    assert (records["correct.py"]["status"], records["correct.py"]["reason"]) == ("checked", None)
    assert "initialize_parameters" in records["correct.py"]["entry"]
    assert {p["verdict"] for p in records["correct.py"]["parameters"]} == {"PASS"}
    wrong = {p["name"] for p in records["buggy.py"]["parameters"] if p["verdict"] == "FAIL"}
    assert wrong and wrong <= {"Wax", "Waa", "b"}


def test_cells_handed_their_weights_are_made_with_weights_of_each_layout(
    tmp_path: Path, capsys
) -> None:
    (path,) = _copy(tmp_path, "classbased/lstm_given_weights.py")
    report = tmp_path / "report.json"
    _json(capsys, "--no-cache", "--harness-report", str(report), path)
    (record,) = json.loads(report.read_text())
    assert record["status"] == "checked"
    assert record["entry"] == (
        "VanillaCell(...).forward / .backward, LSTMCell(...).forward / .backward, "
        "SequenceLSTM(...).forward / .backward"
    )
    assert record["inputs"].startswith("its weights made, 4 gate blocks, x @ W")
    # the sequence layer asks for float32 arrays: they are made float64 for the check
    assert record["inputs"].endswith(", its float32 arrays made float64")
    # the gradients were read from the `self.grads` list beside `self.params`, by position
    assert [p["name"] for p in record["parameters"]] == ["W_ih", "W_hh", "bias"] * 3
    assert {p["verdict"] for p in record["parameters"]} == {"PASS"}


SEQUENCE_IN_FLOAT32 = """\
import numpy as np


class Recurrence:
    def __init__(self, Wx, Wh, b):
        self.params = [Wx, Wh, b]
        self.grads = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]

    def forward(self, xs):
        Wx, Wh, b = self.params
        n, steps, _ = xs.shape
        self.hs = np.zeros((n, steps + 1, Wh.shape[0]), dtype="f")
        for t in range(steps):
            self.hs[:, t + 1] = np.tanh(xs[:, t] @ Wx + self.hs[:, t] @ Wh + b)
        self.xs = xs
        return self.hs[:, 1:]

    def backward(self, dhs):
        Wx, Wh, b = self.params
        dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
        dh = np.zeros_like(self.hs[:, 0])
        dxs = np.zeros_like(self.xs)
        for t in reversed(range(dhs.shape[1])):
            da = (dhs[:, t] + dh) * (1 - self.hs[:, t + 1] ** 2)
            dWx += self.xs[:, t].T @ da
            dWh += self.hs[:, t].T @ da
            db += da.sum(axis=0)
            dh = da @ Wh.T
            dxs[:, t] = da @ Wx.T
        self.grads[0][...], self.grads[1][...], self.grads[2][...] = dWx, dWh, db
        return dxs
"""


def test_a_layer_computing_in_float32_is_not_checked_rather_than_blamed(
    tmp_path: Path, capsys
) -> None:
    # central differences of float32 values are rounding noise: exact code would look wrong.
    # Asked for by a name the check does not spell in float64 (`np.single`), float32 stays
    path = tmp_path / "float32_layer.py"
    path.write_text(SEQUENCE_IN_FLOAT32.replace('dtype="f"', "dtype=np.single"))
    report = tmp_path / "report.json"
    found = _json(capsys, "--no-cache", "--harness-report", str(report), str(path))
    assert [d for d in found if d["code"] in ("LST900", "LST901")] == []
    (record,) = json.loads(report.read_text())
    assert record["status"] == "not-callable"
    # asked for as `dtype="f"`, it is made float64 for the check: checked, and exact
    named = tmp_path / "named_float32_layer.py"
    named.write_text(SEQUENCE_IN_FLOAT32)
    _json(capsys, "--no-cache", "--harness-report", str(report), str(named))
    (record,) = json.loads(report.read_text())
    assert record["status"] == "checked", record
    assert record["inputs"].endswith(", its float32 arrays made float64")
    assert {p["verdict"] for p in record["parameters"]} == {"PASS"}
    double = tmp_path / "float64_layer.py"  # the same layer in float64 is checked, and exact
    double.write_text(SEQUENCE_IN_FLOAT32.replace(', dtype="f"', ""))
    _json(capsys, "--no-cache", "--harness-report", str(report), str(double))
    (record,) = json.loads(report.read_text())
    assert record["status"] == "checked", record
    assert "float32" not in record["inputs"]
    assert {p["verdict"] for p in record["parameters"]} == {"PASS"}


def test_a_cell_averaging_its_gradients_over_the_batch_is_checked_against_the_mean(
    tmp_path: Path, capsys
) -> None:
    # the loss over a made-up batch is a sum or a mean, as the training loop has it; a cell
    # that averages is exact for the mean, and a real bug still shows under it
    (path,) = _copy(tmp_path, "lookalikes/rnn_cell_batch_mean.py")
    report = tmp_path / "report.json"
    _json(capsys, "--no-cache", "--harness-report", str(report), path)
    (record,) = json.loads(report.read_text())
    assert record["inputs"].endswith("gradients averaged over its 4 rows")
    assert {p["verdict"] for p in record["parameters"]} == {"PASS"}
    broken = _variant(
        tmp_path,
        "lookalikes/rnn_cell_batch_mean.py",
        "self.dW_hh += dz.T @ h_prev_t / rows",
        "self.dW_hh += dz.T @ h_t / rows",
        "broken.py",
    )
    _json(capsys, "--no-cache", "--harness-report", str(report), broken)
    (record,) = json.loads(report.read_text())
    verdicts = {p["name"]: p["verdict"] for p in record["parameters"]}
    assert verdicts == {"W_ih": "PASS", "W_hh": "FAIL", "b_ih": "PASS", "b_hh": "PASS"}
    # the same bug in a cell that sums over the batch: the sum, not the mean, is its loss
    summing = Path(broken).read_text().replace(" / rows", "").replace(".mean(", ".sum(")
    Path(broken).write_text(summing)
    _json(capsys, "--no-cache", "--harness-report", str(report), broken)
    (record,) = json.loads(report.read_text())
    assert "averaged" not in record["inputs"]
    verdicts = {p["name"]: p["verdict"] for p in record["parameters"]}
    assert verdicts == {"W_ih": "PASS", "W_hh": "FAIL", "b_ih": "PASS", "b_hh": "PASS"}


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # a rate written into the step: the gradient cannot be read back from it
        ("        self.U -= lr * dU\n", "        self.U -= 0.01 * dU\n"),
        # an optimiser with a state of its own (momentum): the step is not the gradient
        (
            "        self.U -= lr * dU\n",
            "        self.vU = 0.9 * getattr(self, 'vU', 0) + dU\n        self.U -= lr * self.vU\n",
        ),
    ],
)
def test_a_step_that_is_not_a_plain_step_at_the_given_rate_is_not_read_as_a_gradient(
    tmp_path: Path, capsys, old: str, new: str
) -> None:
    path = _variant(tmp_path, "vanilla/rnn_many_to_one_sgd.py", old, new, "stepped.py")
    report = tmp_path / "report.json"
    found = _json(capsys, "--no-cache", "--harness-report", str(report), path)
    assert [d for d in found if d["code"] in ("LST900", "LST901")] == []
    (record,) = json.loads(report.read_text())
    assert record["status"] == "not-callable"


SELF_UPDATING = """\
import numpy as np


class CharRNN:
    def __init__(self, vocab_size, hidden_size, learning_rate=0.05):
        self.vocab_size = vocab_size
        self.learning_rate = learning_rate
        self.Wxh = np.random.randn(hidden_size, vocab_size) * 0.1
        self.Whh = np.random.randn(hidden_size, hidden_size) * 0.1
        self.Why = np.random.randn(vocab_size, hidden_size) * 0.1

    def forward(self, chars):
        self.xs, self.hs = {}, {-1: np.zeros((self.Whh.shape[0], 1))}
        for t, ix in enumerate(chars):
            self.xs[t] = np.zeros((self.vocab_size, 1))
            self.xs[t][ix] = 1
            self.hs[t] = np.tanh(self.Wxh @ self.xs[t] + self.Whh @ self.hs[t - 1])
        scores = self.Why @ self.hs[len(chars) - 1]
        self.p = np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum()
        return self.p

    def loss(self, target_index):
        return -np.log(self.p[target_index, 0] + 1e-12)

    def backward(self, target_index):
        dy = self.p.copy()
        dy[target_index] -= 1
        last = len(self.xs) - 1
        dWhy = dy @ self.hs[last].T
        dWxh, dWhh = np.zeros_like(self.Wxh), np.zeros_like(self.Whh)
        dh = self.Why.T @ dy
        for t in reversed(range(len(self.xs))):
            draw = dh * (1 - self.hs[t] ** 2)
            dWxh += draw @ self.xs[t].T
            dWhh += draw @ self.hs[t - 1].T
            dh = self.Whh.T @ draw
        self.Wxh -= self.learning_rate * dWxh
        self.Whh -= self.learning_rate * dWhh
        self.Why -= self.learning_rate * dWhy
"""


def test_a_backward_that_steps_at_its_own_learning_rate_is_checked(tmp_path: Path, capsys) -> None:
    # the gradient is the step taken at a learning rate of one (self.learning_rate is set),
    # and the loss method of the kept probabilities is given the target alone
    report = tmp_path / "report.json"
    for name, text, verdict in (
        ("exact.py", SELF_UPDATING, "PASS"),
        (
            "late.py",
            SELF_UPDATING.replace("(1 - self.hs[t] ** 2)", "(1 - self.hs[t - 1] ** 2)"),
            "FAIL",
        ),
    ):
        path = tmp_path / name
        path.write_text(text)
        _json(capsys, "--no-cache", "--harness-report", str(report), str(path))
        (record,) = json.loads(report.read_text())
        assert record["status"] == "checked", record
        verdicts = {p["name"]: p["verdict"] for p in record["parameters"]}
        assert verdicts == {"Wxh": verdict, "Whh": verdict, "Why": "PASS"}


def test_the_module_s_own_sizes_are_used_where_its_code_assumes_them(
    tmp_path: Path, capsys
) -> None:
    # `hidden_size = 7` at the top level, given to the initialiser by the training code, and
    # assumed by the forward's assertion: the check makes the parameters with that size
    text = (FIXTURES / "outhelpers/lstm_outhelpers.py").read_text()
    head = "def sigmoid(x, deriv=False):"
    step = "def forward(inputs, targets, h0, c0, p):\n"
    assert head in text and step in text
    text = text.replace(head, "hidden_size = 7\n\n\n" + head)
    text = text.replace(step, step + "    assert h0.shape == (7, 1)\n")
    path = tmp_path / "sized.py"
    path.write_text(text)
    report = tmp_path / "report.json"
    _json(capsys, "--no-cache", "--harness-report", str(report), str(path))
    (record,) = json.loads(report.read_text())
    assert record["status"] == "checked", record
    assert record["entry"] == "forward(...) + backward(...) + init_params(...)"
    assert {p["verdict"] for p in record["parameters"]} == {"PASS"}


CELL_GIVEN_ITS_ACTIVATION = """\
import numpy as np


class Tanh:
    def forward(self, z):
        self.out = np.tanh(z)
        return self.out

    def backward(self, grad):
        return grad * (1 - self.out**2)


class Cell:
    def __init__(self, hidden_size, input_size, activation):
        self.Wx = np.random.randn(hidden_size, input_size) * 0.3
        self.Wh = np.random.randn(hidden_size, hidden_size) * 0.3
        self.b = np.zeros(hidden_size)
        self.activation = activation

    def forward(self, x, h_prev):
        self.x, self.h_prev = x, h_prev
        return self.activation.forward(self.Wx @ x + self.Wh @ h_prev + self.b)

    def backward(self, dh):
        dz = self.activation.backward(dh)
        self.dWx = np.outer(dz, self.x)
        self.dWh = np.outer(dz, self.h_prev)
        self.db = dz
        return self.Wx.T @ dz, self.Wh.T @ dz
"""


def test_a_cell_that_takes_its_activation_is_given_the_module_s_tanh(
    tmp_path: Path, capsys
) -> None:
    path = tmp_path / "cell.py"
    path.write_text(CELL_GIVEN_ITS_ACTIVATION)
    report = tmp_path / "report.json"
    _json(capsys, "--no-cache", "--harness-report", str(report), str(path))
    (record,) = json.loads(report.read_text())
    assert record["status"] == "checked", record
    assert record["inputs"].startswith("given a Tanh object: one step of the cell")
    assert {p["verdict"] for p in record["parameters"]} == {"PASS"}


def test_a_class_that_requires_its_training_settings_is_made_with_small_ones(
    tmp_path: Path, capsys
) -> None:
    path = _variant(
        tmp_path,
        "classbased/lstm_class_correct.py",
        "def __init__(self, vocab_size, hidden_size, seed=0):",
        "def __init__(self, vocab_size, hidden_size, seq_length, learning_rate, seed=0):",
        "settings.py",
    )
    report = tmp_path / "report.json"
    _json(capsys, "--no-cache", "--harness-report", str(report), path)
    (record,) = json.loads(report.read_text())
    assert record["status"] == "checked", record
    assert {p["verdict"] for p in record["parameters"]} == {"PASS"}


def test_a_parameter_whose_gradient_is_never_returned_is_left_out_not_paired_with_a_state(
    tmp_path: Path, capsys
) -> None:
    # dbh is computed but not returned (that bias is never trained); the last hidden state
    # returned beside the gradients has the bias's shape and must not be read as its gradient
    text = (FIXTURES / "minchar/rnn_dict_correct.py").read_text()
    for old, new in [
        ("return loss, dWxh, dWhh, dWhy, dbh, dby, hs[", "return loss, dWxh, dWhh, dWhy, dby, hs["),
        ("loss, dWxh, dWhh, dWhy, dbh, dby, hprev = ", "loss, dWxh, dWhh, dWhy, dby, hprev = "),
    ]:
        assert old in text
        text = text.replace(old, new)
    correct = tmp_path / "unreturned.py"
    correct.write_text(text)
    scaled = tmp_path / "unreturned_scaled.py"
    scaled.write_text(
        text.replace("dWhy += np.dot(dy, hs[t].T)", "dWhy += np.dot(dy, hs[t].T) + 1")
    )
    reports, _, out = _harness_report(capsys, tmp_path, str(correct), str(scaled))
    assert reports["unreturned.py"]["status"] == "checked"
    assert "no gradient returned for bh" in reports["unreturned.py"]["inputs"]
    assert {p["name"] for p in reports["unreturned.py"]["parameters"]} == {
        "Wxh",
        "Whh",
        "Why",
        "by",
    }
    assert all(p["verdict"] == "PASS" for p in reports["unreturned.py"]["parameters"])
    # the twin with a wrong weight gradient: the others were checked, and that one is blamed
    blamed = [line for line in out.splitlines() if "LST900 unexplained" in line]
    assert len(blamed) == 1 and "unreturned_scaled.py" in blamed[0] and "dWhy" in blamed[0]


def test_a_gradient_returned_in_the_wrong_shape_is_not_left_out_as_unreturned(
    tmp_path: Path, capsys
) -> None:
    text = (FIXTURES / "minchar/rnn_dict_correct.py").read_text()
    old = "return loss, dWxh, dWhh, dWhy, dbh, dby, hs["
    assert old in text
    transposed = tmp_path / "transposed.py"
    transposed.write_text(text.replace(old, "return loss, dWxh.T, dWhh, dWhy, dbh, dby, hs["))
    reports, _, _ = _harness_report(capsys, tmp_path, str(transposed))
    report = reports["transposed.py"]
    assert report["status"] != "checked" or "Wxh" in {p["name"] for p in report["parameters"]}


SERIES_RNN = """\
import numpy as np


class Tanh:
    def forward(self, inputs):
        self.output = np.tanh(inputs)

    def backward(self, dvalues):
        self.dinputs = (1 - self.output**2) * dvalues


class SeriesRNN:
    # a many-to-many RNN over a series of scalars, trained with weight decay

    def __init__(self, n_neurons, decay=1e-2):
        self.Wx = 0.5 * np.random.randn(n_neurons, 1)
        self.Wh = 0.5 * np.random.randn(n_neurons, n_neurons)
        self.Wy = 0.5 * np.random.randn(1, n_neurons)
        self.bh = np.zeros((n_neurons, 1))
        self.decay = decay

    def forward(self, X_t):
        self.X_t = X_t
        self.T = len(X_t)
        self.H = [np.zeros((self.Wh.shape[0], 1))]
        self.acts = [Tanh() for _ in range(self.T)]
        self.Y_hat = np.zeros((self.T, 1))
        for t in range(self.T):
            x = X_t[t].reshape(1, 1)
            self.acts[t].forward(self.Wx @ x + self.Wh @ self.H[t] + self.bh)
            self.H.append(self.acts[t].output)
            self.Y_hat[t] = (self.Wy @ self.H[t + 1]).item()

    def backward(self, dvalues):
        self.dWx = np.zeros_like(self.Wx)
        self.dWh = np.zeros_like(self.Wh)
        self.dWy = np.zeros_like(self.Wy)
        self.dbh = np.zeros_like(self.bh)
        dh_next = np.zeros_like(self.bh)
        for t in reversed(range(self.T)):
            dy = dvalues[t].reshape(1, 1)
            self.dWy += dy @ self.H[t + 1].T
            dh = self.Wy.T @ dy + dh_next
            self.acts[t].backward(dh)
            draw = self.acts[t].dinputs
            self.dWx += draw @ self.X_t[t].reshape(1, 1)
            self.dWh += draw @ self.H[t].T
            self.dbh += draw
            dh_next = self.Wh.T @ draw
        self.dWx += 2 * self.decay * self.Wx
        self.dWh += 2 * self.decay * self.Wh
        self.dWy += 2 * self.decay * self.Wy
        self.dbh += 2 * self.decay * self.bh
"""


def test_a_layer_that_keeps_its_output_and_adds_weight_decay_is_checked_with_the_penalty(
    tmp_path: Path, capsys
) -> None:
    # forward returns nothing (its output is `self.Y_hat`), the input is a series of scalars,
    # and the backward adds weight decay to every gradient, the zero bias's too
    correct, buggy = _twins(
        tmp_path, SERIES_RNN, "self.dWh += draw @ self.H[t].T", "self.dWh += self.H[t] @ draw.T"
    )
    reports, _, out = _harness_report(capsys, tmp_path, correct, buggy)
    exact = reports["correct.py"]
    assert exact["status"] == "checked"
    assert "with the L2 penalty its backward adds on Wx, Wh, Wy, bh" in exact["inputs"]
    assert all(p["verdict"] == "PASS" for p in exact["parameters"])
    wrong = {p["name"]: p["verdict"] for p in reports["buggy.py"]["parameters"]}
    assert wrong == {"Wx": "PASS", "Wh": "FAIL", "Wy": "PASS", "bh": "PASS"}
    assert "correct.py:" not in out


def test_a_statement_that_does_not_parse_and_is_needed_is_named(tmp_path: Path, capsys) -> None:
    from lstmlint.rules._programs import STATES_AS_ARGUMENTS

    init = (
        "\n\ndef init_rnn(hidden_size, vocab_size):\n"
        "    U = np.zeros((, ))\n"
        "    V = np.random.randn(hidden_size, hidden_size) * 0.1\n"
        "    W = np.random.randn(vocab_size, hidden_size) * 0.1\n"
        "    b_hidden = np.zeros((hidden_size, 1))\n"
        "    b_out = np.zeros((vocab_size, 1))\n"
        "    return U, V, W, b_hidden, b_out\n"
    )
    path = tmp_path / "blank_init.py"
    path.write_text(STATES_AS_ARGUMENTS + init)
    line = (STATES_AS_ARGUMENTS + init).splitlines().index("    U = np.zeros((, ))") + 1
    reports, _, _ = _harness_report(capsys, tmp_path, str(path))
    assert reports["blank_init.py"]["reason"] == (
        f"a statement that does not parse is needed to run it: `U = np.zeros((, ))` (line {line})"
    )
