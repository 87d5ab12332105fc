"""What several test modules share: running the CLI and a small buggy program."""

from __future__ import annotations

import json

from lstmlint.rules._programs import LSTM_PREPENDED, swap

from lstmlint.cli import main

# LST101 on line 46 (`C_prev = C[t - 1]`) and LST303 on line 10 (`e = np.exp(v)`)
PROGRAM = swap(
    swap(LSTM_PREPENDED, "        C_prev = C[t]\n", "        C_prev = C[t - 1]\n"),
    "e = np.exp(v - np.max(v))",
    "e = np.exp(v)",
)


def run(capsys, *args: str) -> tuple[int, str, str]:
    """Exit status, standard output and standard error of one `lstmlint` run."""
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def findings(capsys, *args: str) -> list[dict]:
    """The JSON findings of a run without confirmation."""
    _, out, _ = run(capsys, "--format", "json", "--no-confirm", *args)
    return json.loads(out)
