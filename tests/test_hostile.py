"""Hostile inputs: each one's exact behaviour through the command line and ``engine.check_file``.

A file only reaches the parser when its bytes mention tanh, sigmoid, expit, lstm, gru or rnn
(the prefilter), so the inputs that should be parsed carry one of those words.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import pytest

from lstmlint.cli import main
from lstmlint.engine import FileResult, check_file
from lstmlint.selection import Selection

ROOT = Path(__file__).resolve().parent.parent
REVIEWED = ROOT / "fixtures" / "reviewed"
LSTM = (REVIEWED / "lstm_scratch.py").read_text(encoding="utf-8")
NOTEBOOK = json.loads((REVIEWED / "lstm_scratch.ipynb").read_text(encoding="utf-8"))
LATIN1_HINT = (
    "a file in another encoding needs a coding declaration on its first or second line, "
    "such as '# -*- coding: latin-1 -*-'"
)


def lint(capsys, *paths: Path) -> tuple[int, list[dict]]:
    status = main(["--format", "json", "--no-confirm", *map(str, paths)])
    return status, json.loads(capsys.readouterr().out)


def check(path: Path) -> FileResult:
    return check_file(path, path.name, Selection())


def where(records: list[dict]) -> list[tuple]:
    return sorted((r["code"], r["cell"], r["line"], r["column"]) for r in records)


def shifted(records: list[dict], lines: int = 0, cells_from: int | None = None) -> list[tuple]:
    """Positions of ``records`` with lines moved down, or cells from an index moved right."""
    moved = []
    for code, cell, line, column in where(records):
        if cells_from is not None and cell is not None and cell >= cells_from:
            cell += 1
        moved.append((code, cell, line + (lines if cell is None else 0), column))
    return sorted(moved)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder with the reviewed program's helper modules, which the LSTM code imports."""
    for name in ("utils.py", "data.py"):
        shutil.copy(REVIEWED / name, tmp_path / name)
    return tmp_path


@pytest.fixture
def plain(project: Path, capsys) -> list[dict]:
    """The findings of the reviewed program as it is: the reference for every variant."""
    path = project / "plain.py"
    path.write_text(LSTM, encoding="utf-8")
    status, records = lint(capsys, path)
    assert status == 1
    assert ("LST101", None, 188, 18) in where(records)  # C_prev = C[t - 1]
    return records


# --- single files: the whole JSON report is fixed ----------------------------------------------


@dataclass
class Case:
    name: str  # file name written in tmp
    content: bytes
    status: int
    records: list[tuple]  # (code, line, column, message after the path) of every finding


RNN_TAIL = b"import numpy as np\nh = np.tanh(1)\n"

SINGLE_FILES = [
    Case("empty.py", b"", 0, []),
    Case("comments.py", b"# an lstm with tanh and sigmoid\n# and nothing else\n", 0, []),
    Case("comment_no_newline.py", b"# tanh", 0, []),
    Case("blank_lines.py", b"\n\n   \n\t\n", 0, []),
    Case(
        "python2.py",
        b"import numpy as np\n\n"
        b"def rnn_step(h, x, W):\n"
        b'    print "step", h.shape\n'
        b"    return np.tanh(np.dot(W, h) + x)\n",
        1,
        [
            (
                "LST000",
                4,
                5,
                "syntax error: Missing parentheses in call to 'print'. Did you mean print(...)?",
            )
        ],
    ),
    Case(  # no tanh/sigmoid/lstm/...: the prefilter skips it unparsed, by design
        "python2_not_rnn.py",
        b'import sys\nprint "hello"\nexec "x = 1"\n',
        0,
        [],
    ),
    Case(
        "python2_except.py",
        b"import numpy as np\n"
        b"try:\n"
        b"    h = np.tanh(1)\n"
        b"except ValueError, e:\n"
        b"    print >>sys.stderr, e\n",
        1,
        [("LST000", 4, 8, "syntax error: multiple exception types must be parenthesized")],
    ),
    Case(
        "nul.py",
        b"import numpy as np\nh = np.tanh(1)\x00\n",
        2,
        [
            (
                "LST001",
                1,
                1,
                "contains NUL bytes (the first on line 2); it looks like a binary file, "
                "not Python source",
            )
        ],
    ),
    Case(
        "latin1_no_cookie.py",
        "import numpy as np\n# caf\xe9 tanh\n".encode("latin-1"),
        2,
        [
            (
                "LST001",
                1,
                1,
                f"cannot be decoded: it is not valid UTF-8 (byte 0xe9 on line 2); {LATIN1_HINT}",
            )
        ],
    ),
    Case(
        "latin1_late_byte.py",  # past the two lines tokenize looks at for a declaration
        "import numpy as np\n\n\n# caf\xe9 tanh\n".encode("latin-1"),
        2,
        [
            (
                "LST001",
                1,
                1,
                f"cannot be decoded: it is not valid UTF-8 (byte 0xe9 on line 4); {LATIN1_HINT}",
            )
        ],
    ),
    Case(
        "ascii_cookie.py",
        "# coding: ascii\nx = 1\n# caf\xe9 tanh\n".encode("latin-1"),
        2,
        [
            (
                "LST001",
                1,
                1,
                "cannot be decoded as ascii, the encoding its coding declaration names "
                "(byte 0xe9 on line 3)",
            )
        ],
    ),
    Case(
        "unknown_cookie.py",
        b"# -*- coding: klingon -*-\nh = tanh(1)\n",
        2,
        [
            (
                "LST001",
                1,
                1,
                "cannot be decoded: its coding declaration names an unknown encoding (klingon)",
            )
        ],
    ),
    Case(
        "bom_and_cookie.py",
        b"\xef\xbb\xbf# coding: latin-1\nh = tanh(1)\n",
        2,
        [
            (
                "LST001",
                1,
                1,
                "cannot be decoded: it starts with a UTF-8 byte-order mark but declares another "
                "encoding",
            )
        ],
    ),
    Case(
        "nested_parentheses.py",
        RNN_TAIL + b"x = " + b"(" * 5000 + b"1" + b")" * 5000 + b"\n",
        1,
        [("LST000", 3, 205, "syntax error: too many nested parentheses")],
    ),
    Case(
        "nested_unary.py",
        RNN_TAIL + b"x = " + b"-" * 5000 + b"1\n",
        1,
        [("LST000", 3, 1, "syntax error: too deeply nested for Python's parser (RecursionError)")],
    ),
    Case(
        "long_sum.py",
        RNN_TAIL + b"x = " + b" + ".join([b"h"] * 5000) + b"\n",
        1,
        [("LST000", 3, 1, "syntax error: too deeply nested for Python's parser (RecursionError)")],
    ),
    Case(
        "tabs_and_spaces.py",
        b"import numpy as np\nfor t in range(3):\n        h = np.tanh(1)\n\th = np.tanh(h)\n",
        1,
        [("LST000", 4, 1, "syntax error: inconsistent use of tabs and spaces in indentation")],
    ),
    Case(
        "unterminated_docstring.py",
        b'import numpy as np\n"""an lstm\nh = np.tanh(1)\n',
        1,
        [
            (
                "LST000",
                2,
                1,
                "syntax error: unterminated triple-quoted string literal (detected at line 3)",
            )
        ],
    ),
    Case(
        "lone_carriage_returns.py",  # old Mac line endings: three lines, the error on the third
        b"import numpy as np\rh = np.tanh(1)\rx = (\r",
        1,
        [("LST000", 3, 5, "syntax error: '(' was never closed")],
    ),
    Case(
        "notebook_not_json.ipynb",
        b"{cells: [tanh]}",
        2,
        [
            (
                "LST001",
                1,
                1,
                "is not a valid notebook: invalid JSON at line 1, column 2 "
                "(Expecting property name enclosed in double quotes)",
            )
        ],
    ),
    Case(
        "notebook_json_list.ipynb",
        b'["tanh"]',
        2,
        [("LST001", 1, 1, "is not a valid notebook: the top level is not a JSON object")],
    ),
    Case(
        "notebook_without_cells.ipynb",
        b'{"metadata": {}, "nbformat": 4}',
        2,
        [("LST001", 1, 1, "is not a valid notebook: it has no 'cells' list")],
    ),
    Case(
        "notebook_deep_json.ipynb",
        b"[" * 100_000 + b"]" * 100_000,
        2,
        [("LST001", 1, 1, "is not a valid notebook: its JSON is nested too deeply")],
    ),
    Case(
        "notebook_not_utf8.ipynb",
        b'{"cells": "caf\xe9"}',
        2,
        [("LST001", 1, 1, "is not a notebook: it is not UTF-8 text")],
    ),
    Case(
        "notebook_cells_not_a_list_v3.ipynb",
        b'{"worksheets": [{"cells": 5}, "x", {"cells": {"a": 1}}], "nbformat": 3}',
        0,
        [],
    ),
    Case(
        "notebook_nul_in_cell.ipynb",
        json.dumps(
            {
                "cells": [
                    {"cell_type": "code", "source": ["import numpy as np\n", "x = 1\n"]},
                    {"cell_type": "code", "source": ["h = np.tanh(1)\n", "y = 2\u0000\n"]},
                ],
                "metadata": {},
            }
        ).encode(),
        1,
        [
            (
                "LST000",
                2,
                6,
                "syntax error: the line contains a NUL byte, which Python source cannot contain",
            )
        ],
    ),
]


@pytest.mark.parametrize("case", SINGLE_FILES, ids=lambda case: case.name)
def test_single_file(tmp_path: Path, capsys, case: Case) -> None:
    path = tmp_path / case.name
    path.write_bytes(case.content)
    status, records = lint(capsys, path)
    got = [(r["code"], r["line"], r["column"], r["message"]) for r in records]
    want = [
        (code, line, column, f"{path} {message}") for code, line, column, message in case.records
    ]
    if case.records and case.records[0][0] == "LST000":  # a syntax error is "path"-free
        want = [(code, line, column, message) for code, line, column, message in case.records]
    assert (status, got) == (case.status, want)
    result = check(path)
    assert result.unreadable == (case.status == 2)
    assert [d.code for d in result.diagnostics] == [r[0] for r in case.records]


def test_nul_in_a_notebook_cell_points_at_its_cell(tmp_path: Path, capsys) -> None:
    case = next(c for c in SINGLE_FILES if c.name == "notebook_nul_in_cell.ipynb")
    path = tmp_path / case.name
    path.write_bytes(case.content)
    _, [record] = lint(capsys, path)
    assert (record["cell"], record["line"]) == (1, 2)


# --- the reviewed LSTM program in other encodings and line endings: positions unchanged -------


@pytest.mark.parametrize(
    ("name", "encode"),
    [
        ("bom.py", lambda text: b"\xef\xbb\xbf" + text.encode("utf-8")),
        ("crlf.py", lambda text: text.replace("\n", "\r\n").encode("utf-8")),
        ("cr.py", lambda text: text.replace("\n", "\r").encode("utf-8")),
        (
            "mixed.py",
            lambda text: "".join(
                line + ("\r\n", "\n", "\r")[number % 3]
                for number, line in enumerate(text.split("\n"))
            ).encode("utf-8"),
        ),
    ],
)
def test_line_endings_and_bom_keep_positions(
    project: Path, plain: list[dict], capsys, name: str, encode
) -> None:
    path = project / name
    path.write_bytes(encode(LSTM))
    status, records = lint(capsys, path)
    assert status == 1
    assert where(records) == where(plain)
    doc = check(path).document
    assert doc is not None and doc.display_lines[187] == "        C_prev = C[t - 1]"


def test_latin1_with_a_coding_cookie_is_decoded_and_analysed(
    project: Path, plain: list[dict], capsys
) -> None:
    text = "# -*- coding: latin-1 -*-\n" + LSTM.replace(
        "        C_prev = C[t - 1]\n", "        C_prev = C[t - 1]  # précédent\n"
    )
    path = project / "latin1.py"
    path.write_bytes(text.encode("latin-1"))
    status, records = lint(capsys, path)
    assert status == 1
    assert where(records) == shifted(plain, lines=1)  # the cookie line moves everything down
    doc = check(path).document
    assert doc is not None and doc.display_lines[188].endswith("# précédent")


def test_exercise_template_blanks_in_a_function_body(
    project: Path, plain: list[dict], capsys
) -> None:
    """``dv = `` / ``do = `` left for the student: one LST000, and the rest is still analysed."""
    text = LSTM.replace("        dv = np.copy(outputs[t])\n", "        dv = \n").replace(
        "        do = dh * tanh(C[t])\n", "        do = \n"
    )
    path = project / "exercise.py"
    path.write_text(text, encoding="utf-8")
    status, records = lint(capsys, path)
    assert status == 1
    syntax = [r for r in records if r["code"] == "LST000"]
    assert [(r["line"], r["column"], r["message"]) for r in syntax] == [
        (191, 14, "syntax error: invalid syntax")
    ]
    # findings away from the blanked statements are untouched, at their exact positions
    kept = [p for p in where(plain) if p[2] < 186 or p[2] >= 202]
    assert kept and set(kept) <= set(where(records))


def test_syntax_errors_do_not_cost_the_rest_of_the_file(project: Path, plain, capsys) -> None:
    """A missing colon or a stray indent loses its own block at most, never the whole file."""
    for name, text, line in [
        (
            "colon.py",
            LSTM.replace(
                "    for t in reversed(range(len(outputs))):\n",
                "    for t in reversed(range(len(outputs)))\n",
            ),
            183,
        ),
        (
            "indent.py",
            LSTM.replace(
                "        dv = np.copy(outputs[t])\n", "            dv = np.copy(outputs[t])\n"
            ),
            191,
        ),
    ]:
        path = project / name
        path.write_text(text, encoding="utf-8")
        _, records = lint(capsys, path)
        assert [r["line"] for r in records if r["code"] == "LST000"] == [line]
        for finding in [("LST401", None, 36, 11), ("LST303", None, 132, 18)]:
            assert finding in where(records), name


def test_deep_expressions_are_reported_on_their_line_and_the_rest_analysed(
    project: Path, plain: list[dict], capsys
) -> None:
    for name, tail in [
        ("unary.py", "x = " + "-" * 5000 + "1\n"),
        ("sum.py", "x = " + " + ".join(["h"] * 5000) + "\n"),
        ("parentheses.py", "x = " + "(" * 5000 + "1" + ")" * 5000 + "\n"),
    ]:
        path = project / name
        path.write_text(LSTM + tail, encoding="utf-8")
        status, records = lint(capsys, path)
        line = len(LSTM.split("\n"))
        assert status == 1
        assert [r["line"] for r in records if r["code"] == "LST000"] == [line], name
        assert [p for p in where(records) if p[0] != "LST000"] == where(plain), name


# --- size, permissions, symlinks --------------------------------------------------------------


def test_a_20_mb_file_is_skipped_unread(tmp_path: Path, capsys) -> None:
    path = tmp_path / "huge.py"
    line = b"h = np.tanh(hh)\n"  # 16 bytes
    with open(path, "wb") as handle:
        for _ in range(20):
            handle.write(line * (2**20 // len(line)))
    assert path.stat().st_size == 20 * 2**20
    tracemalloc.start()
    try:
        result = check(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2**20  # the file was never read into memory
    assert result.unreadable
    status, records = lint(capsys, path)
    assert status == 2
    assert [(r["code"], r["message"]) for r in records] == [
        (
            "LST001",
            f"{path} is 20.0 MiB, larger than the 10 MiB limit for Python files; skipped",
        )
    ]


def test_a_20_mb_notebook_with_big_outputs_is_still_checked(tmp_path: Path, capsys) -> None:
    image = "A" * (20 * 2**20)
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "source": ["import numpy as np\n", "for t in range(3):\n", "    h = np.tanh(\n"],
                "outputs": [{"output_type": "display_data", "data": {"image/png": image}}],
            }
        ],
        "metadata": {},
        "nbformat": 4,
    }
    path = tmp_path / "plots.ipynb"
    path.write_text(json.dumps(notebook), encoding="utf-8")
    status, records = lint(capsys, path)
    assert status == 1
    assert where(records) == [("LST000", 0, 3, 16)]


def test_a_pipe_named_like_a_python_file_is_not_read(tmp_path: Path, capsys) -> None:
    pipe = tmp_path / "fifo.py"
    os.mkfifo(pipe)
    (tmp_path / "real.py").write_text("import numpy as np\nh = np.tanh(\n")
    status, records = lint(capsys, tmp_path)  # walked: the pipe is not a source file
    assert status == 1 and [Path(r["path"]).name for r in records] == ["real.py"]
    status, records = lint(capsys, pipe)  # named: refused without blocking on it
    assert status == 2
    assert [r["message"] for r in records] == [
        f"{pipe} is not a regular file (a device, pipe or socket); skipped"
    ]


def test_unreadable_file_reports_permission_denied(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "secret.py"
    path.write_text("import numpy as np\nh = np.tanh(1)\n")
    path.chmod(0)
    if os.access(path, os.R_OK):  # root reads anything: simulate what other users get
        real = Path.read_bytes

        def refuse(self: Path) -> bytes:
            if self.name == "secret.py":
                raise PermissionError(13, "Permission denied", str(self))
            return real(self)

        monkeypatch.setattr(Path, "read_bytes", refuse)
    status, records = lint(capsys, path)
    assert status == 2
    assert [(r["code"], r["line"], r["message"]) for r in records] == [
        ("LST001", 1, f"{path} cannot be read: Permission denied")
    ]


@pytest.mark.skipif(os.geteuid() != 0, reason="only root reads a file with mode 000")
def test_mode_000_file_is_read_as_root(tmp_path: Path, capsys) -> None:
    path = tmp_path / "secret.py"
    path.write_text("import numpy as np\nh = np.tanh(\n")
    path.chmod(0)
    status, records = lint(capsys, path)
    assert status == 1 and where(records) == [("LST000", None, 2, 12)]


def test_symlink_loops_terminate_and_each_file_is_checked_once(tmp_path: Path, capsys) -> None:
    broken = "import numpy as np\nh = np.tanh(\n"  # one LST000 per file: easy to count
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "model.py").write_text(broken)
    (tree / "sub" / "cell.py").write_text(broken)
    (tree / "sub" / "loop").symlink_to(tree, target_is_directory=True)  # tree/sub/loop -> tree
    (tree / "sub" / "self").symlink_to(tree / "sub", target_is_directory=True)
    (tree / "alias.py").symlink_to(tree / "model.py")  # a second name for a file of the tree
    (tree / "dangling.py").symlink_to(tmp_path / "missing.py")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "lib.py").write_text(broken)
    (outside / "back").symlink_to(tree, target_is_directory=True)  # outside/back -> tree
    (tree / "ext").symlink_to(outside, target_is_directory=True)  # tree/ext -> outside
    status, records = lint(capsys, tree)
    assert status == 1
    assert sorted(Path(r["path"]).relative_to(tree).as_posix() for r in records) == [
        "ext/lib.py",
        "model.py",
        "sub/cell.py",
    ]
    # named twice, and once through a link: still one report per file
    status, records = lint(capsys, tree, tree / "sub", tree / "alias.py")
    assert len(records) == 3


# --- notebooks --------------------------------------------------------------------------------


def _write_notebook(folder: Path, name: str, notebook: dict) -> Path:
    path = folder / name
    path.write_text(json.dumps(notebook), encoding="utf-8")
    return path


@pytest.fixture
def notebook_plain(project: Path, capsys) -> list[dict]:
    status, records = lint(capsys, _write_notebook(project, "plain.ipynb", NOTEBOOK))
    assert status == 1
    assert ("LST101", 12, 51, 18) in where(records)  # C_prev = C[t - 1], cell 12
    return records


def test_notebook_with_a_broken_cell_keeps_the_others(
    project: Path, notebook_plain: list[dict], capsys
) -> None:
    cells = list(NOTEBOOK["cells"])
    cells.insert(10, {"cell_type": "code", "metadata": {}, "outputs": [], "source": ["z = "]})
    path = _write_notebook(project, "broken.ipynb", {**NOTEBOOK, "cells": cells})
    status, records = lint(capsys, path)
    assert status == 1
    syntax = [r for r in records if r["code"] == "LST000"]
    assert [(r["cell"], r["line"], r["column"], r["message"]) for r in syntax] == [
        (10, 1, 5, "syntax error: invalid syntax")
    ]
    others = [r for r in records if r["code"] != "LST000"]
    assert where(others) == shifted(notebook_plain, cells_from=10)


def test_notebook_cell_ending_in_an_open_block_is_reported_in_that_cell(
    project: Path, capsys
) -> None:
    cells = [
        {"cell_type": "code", "source": "import numpy as np\nfor t in range(3):"},
        {"cell_type": "code", "source": "h = np.tanh(1)\nx = (\n"},
    ]
    path = _write_notebook(project, "open.ipynb", {"cells": cells, "metadata": {}})
    status, records = lint(capsys, path)
    assert status == 1
    assert [(r["cell"], r["line"], r["message"]) for r in records] == [
        (0, 2, "syntax error: expected an indented block after 'for' statement on line 2"),
        (1, 2, "syntax error: '(' was never closed"),
    ]


def test_notebook_sources_as_strings(project: Path, notebook_plain: list[dict], capsys) -> None:
    cells = [
        {**cell, "source": "".join(cell["source"])} if isinstance(cell["source"], list) else cell
        for cell in NOTEBOOK["cells"]
    ]
    path = _write_notebook(project, "strings.ipynb", {**NOTEBOOK, "cells": cells})
    status, records = lint(capsys, path)
    assert status == 1 and where(records) == where(notebook_plain)


def test_nbformat_3_notebook(project: Path, notebook_plain: list[dict], capsys) -> None:
    cells = []
    for cell in NOTEBOOK["cells"]:
        if cell["cell_type"] == "code":
            cells.append(
                {
                    "cell_type": "code",
                    "collapsed": False,
                    "input": cell["source"],
                    "language": "python",
                    "metadata": {},
                    "outputs": [],
                }
            )
        else:
            cells.append({"cell_type": "markdown", "metadata": {}, "source": cell["source"]})
    v3 = {
        "metadata": {"name": "lstm"},
        "nbformat": 3,
        "nbformat_minor": 0,
        "worksheets": [{"cells": cells, "metadata": {}}],
    }
    status, records = lint(capsys, _write_notebook(project, "v3.ipynb", v3))
    assert status == 1 and where(records) == where(notebook_plain)


def test_notebook_without_code_cells(tmp_path: Path, capsys) -> None:
    cells = [{"cell_type": "markdown", "source": ["an LSTM with tanh"]}, {"cell_type": "raw"}]
    path = _write_notebook(tmp_path, "prose.ipynb", {"cells": cells, "metadata": {}})
    assert lint(capsys, path) == (0, [])
    result = check(path)
    assert not result.unreadable and result.diagnostics == []
    assert result.notes == ["notebook has no code cells; nothing to check"]


def test_notebook_in_another_language(tmp_path: Path, capsys) -> None:
    meta = {"kernelspec": {"language": "R", "name": "ir"}, "language_info": {"name": "R"}}
    cells = [{"cell_type": "code", "source": ["h <- tanh(x)\n", "x = (\n"]}]
    path = _write_notebook(tmp_path, "r.ipynb", {"cells": cells, "metadata": meta})
    assert lint(capsys, path) == (0, [])
    assert check(path).notes == ["notebook language is 'r', not Python; nothing to check"]


def test_notebook_with_odd_cells(tmp_path: Path, capsys) -> None:
    """Cells that are not objects, sources of the wrong type, list items that are not strings."""
    cells = [
        "not a cell",
        None,
        {"cell_type": "code"},
        {"cell_type": "code", "source": None},
        {"cell_type": "code", "source": {"a": 1}},
        {"cell_type": "code", "source": ["import numpy as np\n", 7, None, "h = np.tanh(\n"]},
    ]
    path = _write_notebook(tmp_path, "odd.ipynb", {"cells": cells, "metadata": []})
    status, records = lint(capsys, path)
    assert status == 1
    assert where(records) == [("LST000", 5, 2, 12)]


def test_valid_python_that_libcst_rejects_is_no_syntax_error(tmp_path: Path, capsys) -> None:
    """``(h): int = ...`` is valid Python that libcst 1.0 cannot parse: no false LST000."""
    from lstmlint.parse import parse_document
    from lstmlint.sources import SourceDocument

    text = "import numpy as np\nfor t in range(3):\n    (h): int = np.tanh(1)\n    x = (\n"
    path = tmp_path / "annotated.py"
    path.write_text(text)
    status, records = lint(capsys, path)
    assert status == 1
    assert where(records) == [("LST000", None, 4, 9)]  # only the real error
    parsed = parse_document(SourceDocument("annotated.py", text, text.split("\n")))
    assert parsed.module is not None and len(parsed.problems) == 1
    for note in parsed.notes:  # empty once libcst learns this syntax
        assert note.startswith("line 3 is left out of the analysis: libcst cannot parse it")


def test_lone_backslash_lines_keep_later_positions(tmp_path: Path) -> None:
    """libcst drops a line holding only a continuation; positions after it must not move up."""
    from lstmlint.parse import parse_document
    from lstmlint.sources import SourceDocument

    text = "\\\nimport numpy as np\n\\\nh = np.tanh(1)\n"
    parsed = parse_document(SourceDocument("x.py", text, text.split("\n")))
    assert parsed.problems == [] and parsed.module is not None
    assert parsed.module.code.split("\n")[3] == "h = np.tanh(1)"


@pytest.mark.parametrize("text", ["x = (1,\n", "def f(:\n", "y = 2\n"])
def test_libcst_checks_the_nodes_it_builds_again_after_a_parse(text: str) -> None:
    import libcst

    from lstmlint.parse import _parse_cst

    with contextlib.suppress(Exception):  # a syntax error: the check must come back all the same
        _parse_cst(text)
    with pytest.raises(libcst.CSTValidationError):
        libcst.Name("not a name")


def test_libcst_checks_nodes_again_after_parses_in_several_threads() -> None:
    import threading

    import libcst

    from lstmlint.parse import _parse_cst

    text = "import numpy as np\n" + "h = np.tanh(h)\n" * 400
    barrier = threading.Barrier(6)

    def parse() -> None:
        barrier.wait()
        for _ in range(5):
            _parse_cst(text)

    threads = [threading.Thread(target=parse) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with pytest.raises(libcst.CSTValidationError):
        libcst.Name("not a name")
