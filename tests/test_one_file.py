"""What the harness decides for one file before and after its child runs (``_one_file``).

The child is replaced by a stand-in that records the job it is given and answers as written
here, so each decision is pinned in this process: whether the code is run at all (auto mode's
refusals, files with nothing to run), what the job carries (the text as the analysis read it,
the text with every known fix and with every fix but one, the limits, the sibling modules, the
repair budget), and what an answer becomes (notes, the ``--harness-report`` record). What the
child does with a job is tested in ``test_harness_child.py``; the whole path in
``test_harness.py`` and ``test_sandbox.py``.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

import lstmlint.harness as harness
from lstmlint.config import HarnessConfig
from lstmlint.diagnostics import Diagnostic, Severity, Span
from lstmlint.edits import Edit
from lstmlint.engine import FileResult, check_file
from lstmlint.harness.variants import with_fixes
from lstmlint.parse import BLANK
from lstmlint.registry import rule_by_code
from lstmlint.selection import Selection

# min-char-rnn's lossFun (the LST900 example) with its log unguarded (LST302, line 23) and the
# tanh derivative's square left out (LST205, line 33)
PROGRAM = (
    rule_by_code("LST900")
    .invalid[0]
    .code.replace("dhraw = (1 - hs[t] ** 2) * dh", "dhraw = (1 - hs[t]) * dh")
)
PAYLOAD = "open('/tmp/lstmlint-never', 'w')"
assert "dhraw = (1 - hs[t]) * dh" in PROGRAM
# a second entry point, a model class whose forward carries the payload
SQUASHER = (
    "\n\nclass Squasher:\n"
    "    def __init__(self, hidden_size):\n"
    "        self.W = np.zeros((hidden_size, hidden_size))\n\n"
    "    def forward(self, x):\n"
    f"        {PAYLOAD}\n"
    "        self.h = np.tanh(self.W @ x)\n"
    "        return self.h\n\n"
    "    def backward(self, dh):\n"
    "        self.dW = ((1 - self.h ** 2) * dh) @ self.h.T\n"
    "        return self.dW\n"
)


class Child:
    """Stands in for ``_launch``: records each job and its time limit, answers ``answer``."""

    def __init__(self, answer: dict | None = None) -> None:
        self.jobs: list[dict] = []
        self.timeouts: list[float] = []
        self.answer = answer if answer is not None else {"error": "not run in this test"}

    def __call__(self, job: dict, timeout: float) -> dict:
        self.jobs.append(job)
        self.timeouts.append(timeout)
        return self.answer


def _settings(
    confirm: str = "auto",
    selection: Selection | None = None,
    repair_timeout: float = 3.5,
    **harness_config,
):
    config = {"timeout": 7.0, "memory_mb": 256, **harness_config}
    return SimpleNamespace(
        confirm=confirm,
        harness=HarnessConfig(**config),
        selection=selection or Selection(),
        repair_timeout=repair_timeout,
    )


def _checked(tmp_path: Path, text: str, name: str = "rnn.py") -> FileResult:
    path = tmp_path / name
    path.write_text(text)
    return check_file(path, str(path), Selection())


def _run(monkeypatch, result: FileResult, settings=None, answer: dict | None = None) -> Child:
    child = Child(answer)
    monkeypatch.setattr(harness, "_launch", child)
    harness._one_file(result, settings or _settings())
    return child


def test_the_job_carries_the_text_the_fixes_and_the_limits(tmp_path: Path, monkeypatch) -> None:
    result = _checked(tmp_path, PROGRAM)
    assert [(d.code, d.line) for d in result.diagnostics] == [("LST302", 23), ("LST205", 33)]
    child = _run(monkeypatch, result)
    [job] = child.jobs
    assert child.timeouts == [7.0]
    assert job["path"] == str((tmp_path / "rnn.py").absolute())
    assert job["keep_imports"] is False
    assert (job["memory_mb"], job["time_limit"]) == (256, 7.0)
    assert job["siblings"] == {}
    assert job["original"] == PROGRAM
    assert [p["function"] for p in job["problems"]] == ["lossFun"]
    assert job["entries"][0] == "lossFun" and "Whh" in job["entries"]
    log, square = result.diagnostics
    assert job["all_fixed"] == with_fixes(PROGRAM, [*log.edits, *square.edits])[0]
    assert job["all_fixed"] != PROGRAM
    # every fix but the one of each gradient finding (LST302 is no gradient finding)
    assert job["without"] == {"1": with_fixes(PROGRAM, log.edits)[0]}
    assert job["repair_budget"] == 3.5  # the settings' repair-timeout


def test_without_fixes_there_is_no_fixed_text(tmp_path: Path, monkeypatch) -> None:
    text = PROGRAM.replace("dhraw = (1 - hs[t]) * dh", "dhraw = (1 - hs[t] ** 2) * dh")
    text = text.replace("np.log(ps[t][targets[t], 0])", "np.log(ps[t][targets[t], 0] + 1e-12)")
    result = _checked(tmp_path, text)
    assert result.diagnostics == []
    [job] = _run(monkeypatch, result).jobs
    assert job["all_fixed"] is None
    assert job["without"] == {}


def test_fixes_that_cannot_all_be_applied_are_not_sent(tmp_path: Path, monkeypatch) -> None:
    result = _checked(tmp_path, PROGRAM)
    log, square = result.diagnostics
    [edit] = square.edits
    span = edit.span
    # a second edit that begins inside the first and ends after it: no way to apply both
    across = Edit(Span(span.line, span.column + 1, span.end_line, span.end_column + 2), "x")
    log.edits = [*log.edits, across]
    [job] = _run(monkeypatch, result).jobs
    assert job["all_fixed"] is None
    assert job["without"] == {}


def test_only_the_fixes_of_gradient_and_numeric_findings_are_run(
    tmp_path: Path, monkeypatch
) -> None:
    result = _checked(tmp_path, PROGRAM)
    log, square = result.diagnostics
    line = PROGRAM.splitlines().index("hidden_size, vocab_size = 6, 5") + 1
    other = Diagnostic(
        str(tmp_path / "rnn.py"),
        "LST402",
        "rule",
        "message",
        Span(line, 1, line, 2),
        Severity.WARNING,
        edits=[Edit(Span(line, 1, line, 12), "HIDDEN_SIZE")],
    )
    result.diagnostics.append(other)
    [job] = _run(monkeypatch, result).jobs
    assert job["all_fixed"] == with_fixes(PROGRAM, [*log.edits, *square.edits])[0]


def test_no_repair_is_searched_when_its_rule_is_off(tmp_path: Path, monkeypatch) -> None:
    settings = _settings(selection=Selection(ignore=("LST901",)))
    [job] = _run(monkeypatch, _checked(tmp_path, PROGRAM), settings).jobs
    assert job["repair_budget"] == 0


def test_exec_mode_keeps_the_imports_and_runs_what_auto_refuses(
    tmp_path: Path, monkeypatch
) -> None:
    planted = PROGRAM.replace(
        "    xs, hs, ps = {}, {}, {}\n", f"    {PAYLOAD}\n    xs, hs, ps = {{}}, {{}}, {{}}\n"
    )
    assert planted != PROGRAM
    refused = _checked(tmp_path, planted)
    child = _run(monkeypatch, refused)
    assert child.jobs == []
    assert refused.harness == {
        "status": "not-run",
        "reason": "refused by --confirm=auto: it uses `open` in lossFun",
    }
    assert refused.notes == [
        "your code was not run (`open` in lossFun); `--confirm=exec` runs it anyway"
    ]
    ran = _checked(tmp_path, planted)
    [job] = _run(monkeypatch, ran, _settings("exec")).jobs
    assert job["keep_imports"] is True


def _unconfirmed(result: FileResult) -> None:
    for diag in result.diagnostics:
        diag.confirmation = {"status": "unconfirmed", "reason": "no reference experiment"}


def test_a_refusal_is_said_on_the_findings_it_leaves_unconfirmed(
    tmp_path: Path, monkeypatch
) -> None:
    planted = PROGRAM.replace(
        "    xs, hs, ps = {}, {}, {}\n",
        "    open('a')\n    eval('1')\n    xs, hs, ps = {}, {}, {}\n",
    )
    result = _checked(tmp_path, planted)
    _unconfirmed(result)
    _run(monkeypatch, result)
    assert result.harness["reason"] == (
        "refused by --confirm=auto: it uses `open` in lossFun; `eval` in lossFun"
    )
    assert result.notes == [
        "your code was not run (`open` in lossFun; `eval` in lossFun); "
        "`--confirm=exec` runs it anyway"
    ]
    log, square = result.diagnostics
    assert square.confirmation["reason"] == (
        "no reference experiment; your code was not run: it uses `open` in lossFun"
    )
    assert log.confirmation["reason"] == "no reference experiment"  # no gradient finding


def test_a_child_s_failure_is_said_on_the_findings_it_leaves_unconfirmed(
    tmp_path: Path, monkeypatch
) -> None:
    result = _checked(tmp_path, PROGRAM)
    _unconfirmed(result)
    _run(monkeypatch, result, answer={"error": "the time limit of 7 s"})
    assert result.diagnostics[1].confirmation["reason"] == (
        "no reference experiment; the time limit of 7 s"
    )


def test_a_refusal_names_at_most_three_uses(tmp_path: Path, monkeypatch) -> None:
    uses = ["open('a')", "eval('1')", "exec('1')", "input()"]
    planted = PROGRAM.replace(
        "    xs, hs, ps = {}, {}, {}\n",
        "".join(f"    {u}\n" for u in uses) + "    xs, hs, ps = {}, {}, {}\n",
    )
    result = _checked(tmp_path, planted)
    _run(monkeypatch, result)
    assert result.harness["status"] == "not-run"
    named = result.harness["reason"].removeprefix("refused by --confirm=auto: it uses ")
    assert named.count(" in lossFun") == 3
    assert result.notes[0].count(" in lossFun") == 3


def test_only_the_entry_points_whose_reach_is_safe_are_run(tmp_path: Path, monkeypatch) -> None:
    other = SQUASHER
    result = _checked(tmp_path, PROGRAM + other)
    [job] = _run(monkeypatch, result).jobs
    assert [p["kind"] for p in job["problems"]] == ["lossfun"]
    assert "Squasher" not in job["entries"]
    # without the payload both are run
    clean = _checked(tmp_path, PROGRAM + other.replace(f"        {PAYLOAD}\n", ""))
    [job] = _run(monkeypatch, clean).jobs
    assert sorted(p["kind"] for p in job["problems"]) == ["class", "lossfun"]


def test_every_entry_point_unsafe_means_the_file_is_not_run(tmp_path: Path, monkeypatch) -> None:
    other = (
        "\n\nclass Squasher:\n"
        "    def __init__(self, hidden_size):\n"
        "        self.W = np.zeros((hidden_size, hidden_size))\n\n"
        "    def forward(self, x):\n"
        f"        {PAYLOAD}\n"
        "        return np.tanh(self.W @ x)\n\n"
        "    def backward(self, dh):\n"
        "        self.dW = dh\n"
        "        return dh\n"
    )
    planted = PROGRAM.replace(
        "    xs, hs, ps = {}, {}, {}\n", f"    {PAYLOAD}\n    xs, hs, ps = {{}}, {{}}, {{}}\n"
    )
    result = _checked(tmp_path, planted + other)
    assert _run(monkeypatch, result).jobs == []
    assert result.harness["status"] == "not-run"


def test_a_file_without_gradient_code_or_with_none_recognised(tmp_path: Path, monkeypatch) -> None:
    plain = _checked(
        tmp_path, "import numpy as np\n\n\ndef step(h, W):\n    return np.tanh(W @ h)\n"
    )
    plain.analysed, plain.document = True, plain.document or _document(tmp_path / "rnn.py")
    assert _run(monkeypatch, plain).jobs == []
    assert plain.harness == {"status": "no-backward", "reason": "no hand-written gradient code"}
    unknown = _checked(
        tmp_path,
        "import numpy as np\n\n\ndef step(h, W, dh):\n    dW = dh @ h.T\n    return dW\n",
    )
    unknown.document = unknown.document or _document(tmp_path / "rnn.py")
    assert _run(monkeypatch, unknown).jobs == []
    assert unknown.harness == {
        "status": "not-callable",
        "reason": "no loss-and-gradients function, forward/backward pair, layer pair or model "
        "class was recognised; [tool.lstmlint.harness] can name them",
    }


def _document(path: Path):
    from lstmlint.sources import read_document

    return read_document(path, str(path))


def test_a_file_the_engine_did_not_keep_is_left_alone(monkeypatch) -> None:
    result = FileResult(path="m.py")
    assert _run(monkeypatch, result).jobs == []
    assert result.harness is None and result.notes == []


def test_a_statement_that_does_not_parse_is_blanked_as_the_analysis_read_it(
    tmp_path: Path, monkeypatch
) -> None:
    broken = PROGRAM.replace("    loss = 0.0\n", "    loss = 0.0\n    unused = np.zeros((, ))\n")
    result = _checked(tmp_path, broken)
    [job] = _run(monkeypatch, result).jobs
    assert job["original"] != broken
    assert "np.zeros((, ))" not in job["original"]
    assert len(job["original"].splitlines()) == len(broken.splitlines())


def test_definitions_that_cannot_be_read_are_said_so(tmp_path: Path, monkeypatch) -> None:
    result = _checked(tmp_path, PROGRAM)

    def unreadable(*args, **kwargs):
        raise ValueError("too deep")

    monkeypatch.setattr(harness.extract, "reduce_module", unreadable)
    assert _run(monkeypatch, result).jobs == []
    assert result.harness == {
        "status": "not-callable",
        "reason": "its definitions could not be read (too deep)",
    }


def test_the_configured_entry_point_is_the_one_run(tmp_path: Path, monkeypatch) -> None:
    renamed = PROGRAM.replace("def lossFun(", "def step_all(")
    result = _checked(tmp_path, renamed)
    assert _run(monkeypatch, result).jobs == []  # not recognised without the configuration
    assert result.harness["status"] == "not-callable"
    settings = _settings(entries=(("kind", "lossfun"), ("function", "step_all")))
    [job] = _run(monkeypatch, result, settings).jobs
    assert [p["function"] for p in job["problems"]] == ["step_all"]


@pytest.mark.parametrize("transient", [True, False])
def test_a_child_that_could_not_answer_is_reported(
    tmp_path: Path, monkeypatch, transient: bool
) -> None:
    result = _checked(tmp_path, PROGRAM)
    _run(monkeypatch, result, answer={"error": "the time limit of 7 s", "transient": transient})
    assert result.transient is transient
    assert result.harness == {"status": "not-run", "reason": "the time limit of 7 s"}
    assert "your code could not be checked: the time limit of 7 s" in result.notes
    assert all(
        "your code was not run" not in (d.confirmation or {}).get("reason", "")
        for d in result.diagnostics
    )


def test_a_failure_not_said_to_be_transient_is_not(tmp_path: Path, monkeypatch) -> None:
    result = _checked(tmp_path, PROGRAM)
    _run(monkeypatch, result, answer={"error": "NameError: name 'x' is not defined"})
    assert result.transient is False


def test_a_transient_failure_seen_before_is_kept(tmp_path: Path, monkeypatch) -> None:
    result = _checked(tmp_path, PROGRAM)
    result.transient = True
    _run(monkeypatch, result, answer={"error": "stopped"})
    assert result.transient is True


def _answer(original: dict) -> dict:
    return {"problems": [{"original": original, "all_fixed": None, "without": {}}]}


def test_a_blank_the_code_needs_is_named_in_the_record(tmp_path: Path, monkeypatch) -> None:
    blank = PROGRAM.replace("    loss = 0.0\n", "    loss = 0.0\n    extra = \n")
    result = _checked(tmp_path, blank)
    [job] = _run(
        monkeypatch,
        result,
        answer=_answer({"status": "error", "reason": f"NameError: name '{BLANK}' is not defined"}),
    ).jobs
    assert BLANK in job["original"]  # the blank is run as the analysis read it
    assert result.harness["status"] == "not-callable"
    assert result.harness["reason"] == (
        "a statement left blank is needed to run it: `extra =` (line 17)"
    )


def test_a_name_only_a_broken_statement_assigns_is_traced_to_it(
    tmp_path: Path, monkeypatch
) -> None:
    broken = PROGRAM.replace(
        "    loss = 0.0\n", "    loss = 0.0\n    extra = np.zeros((, ))\n    loss += extra.sum()\n"
    )
    result = _checked(tmp_path, broken)
    reason = "NameError: name 'extra' is not defined"
    _run(monkeypatch, result, answer=_answer({"status": "error", "reason": reason}))
    assert result.harness["reason"] == (
        "a statement that does not parse is needed to run it: `extra = np.zeros((, ))` (line 17)"
    )


def test_another_failure_of_a_read_text_keeps_its_reason(tmp_path: Path, monkeypatch) -> None:
    broken = PROGRAM.replace("    loss = 0.0\n", "    loss = 0.0\n    extra = np.zeros((, ))\n")
    result = _checked(tmp_path, broken)
    reason = "TypeError: no way to call it"
    _run(monkeypatch, result, answer=_answer({"status": "error", "reason": reason}))
    assert result.harness["reason"] == reason


def test_a_failure_of_the_text_as_written_keeps_its_reason(tmp_path: Path, monkeypatch) -> None:
    result = _checked(tmp_path, PROGRAM)
    reason = "NameError: name 'extra' is not defined"
    _run(monkeypatch, result, answer=_answer({"status": "error", "reason": reason}))
    assert result.harness == {"status": "not-callable", "reason": reason, "entry": "lossFun(...)"}


def test_a_failure_without_a_reason_of_a_read_text_gets_the_general_one(
    tmp_path: Path, monkeypatch
) -> None:
    broken = PROGRAM.replace("    loss = 0.0\n", "    loss = 0.0\n    extra = np.zeros((, ))\n")
    result = _checked(tmp_path, broken)
    _run(monkeypatch, result, answer=_answer({"status": "error"}))
    assert result.harness["reason"] == "no input it accepts"


def _real_child(job: dict, timeout: float) -> dict:
    from lstmlint.harness import child

    return child.run(job)


def test_the_answer_of_the_real_child_confirms_the_fix_it_needs(
    tmp_path: Path, monkeypatch
) -> None:
    # the square is the file's only gradient bug; its softmax comes from a module that is not
    # there, and lstmlint's own stands in
    text = PROGRAM.replace(" + 0.5 * Whh", "").replace(
        "ps[t] = np.exp(y - y.max()) / np.sum(np.exp(y - y.max()))", "ps[t] = softmax(y)"
    )
    text = "from rnn_utils import *\n" + text
    result = _checked(tmp_path, text)
    assert [d.code for d in result.diagnostics] == ["LST302", "LST205"]
    _unconfirmed(result)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(harness, "_launch", _real_child)
    harness._one_file(result, _settings())
    assert result.harness["status"] == "checked"
    assert result.harness["entry"] == "lossFun(...)"
    assert (
        "lstmlint's own `softmax` standing in for those of `rnn_utils`"
        in (result.harness["inputs"])
    )
    wrong = {p["name"] for p in result.harness["parameters"] if p["verdict"] == "FAIL"}
    assert wrong == {"Wxh", "Whh", "bh"}
    square = result.diagnostics[1]
    assert square.confirmation["status"] == "confirmed"
    assert square.confirmation["method"] == "your-code"
    assert [d.code for d in result.diagnostics].count("LST900") == 0


def test_a_repair_found_in_the_fixed_text_is_placed_in_the_user_s(
    tmp_path: Path, monkeypatch
) -> None:
    # besides the square a rule fixes, dWhh is doubled: the search repairs it in the text with
    # every fix applied, and the repair is reported at its line of the user's text
    text = PROGRAM.replace(
        "        dWhh += dhraw @ hs[t - 1].T + 0.5 * Whh\n",
        "        dWhh += 2 * dhraw @ hs[t - 1].T\n",
    )
    assert text != PROGRAM
    result = _checked(tmp_path, text)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(harness, "_launch", _real_child)
    harness._one_file(result, _settings())
    line = text.splitlines().index("        dWhh += 2 * dhraw @ hs[t - 1].T") + 1
    assert [(d.code, d.line) for d in result.diagnostics if d.code == "LST901"] == [
        ("LST901", line)
    ]


def test_exec_mode_runs_every_entry_point_whatever_it_reaches(tmp_path: Path, monkeypatch) -> None:
    other = SQUASHER
    result = _checked(tmp_path, PROGRAM + other)
    [job] = _run(monkeypatch, result, _settings("exec")).jobs
    assert sorted(p["kind"] for p in job["problems"]) == ["class", "lossfun"]


def test_the_sibling_modules_the_file_imports_go_with_the_job(tmp_path: Path, monkeypatch) -> None:
    acts = "import numpy as np\n\n\ndef tanh(z):\n    return np.tanh(z)\n"
    (tmp_path / "acts.py").write_text(acts)
    text = "from acts import tanh\n" + PROGRAM.replace("np.tanh(", "tanh(")
    [job] = _run(monkeypatch, _checked(tmp_path, text)).jobs
    assert job["siblings"] == {"acts": acts}
    # also when a statement of the file does not parse
    broken = text.replace("    loss = 0.0\n", "    loss = 0.0\n    extra = np.zeros((, ))\n")
    [job] = _run(monkeypatch, _checked(tmp_path, broken)).jobs
    assert job["siblings"] == {"acts": acts}


def test_a_wrong_gradient_no_fix_explains_is_reported_on_the_backward(
    tmp_path: Path, monkeypatch
) -> None:
    # with the square fixed, dWhh is still wrong by a term no rule knows and no repair removes
    result = _checked(tmp_path, PROGRAM)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(harness, "_launch", _real_child)
    harness._one_file(result, _settings())
    [unexplained] = [d for d in result.diagnostics if d.code == "LST900"]
    assert (
        unexplained.line
        == PROGRAM.splitlines().index("def lossFun(inputs, targets, hprev):  # bug") + 1
    )
    assert unexplained.confirmation["status"] == "confirmed"
    assert [e["param"] for e in unexplained.confirmation["evidence"]] == ["Whh"]
