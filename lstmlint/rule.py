"""What a rule is: metadata, documentation, embedded examples and a check over the RNN model."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from lstmlint.diagnostics import Severity

if TYPE_CHECKING:
    import libcst as cst

    from lstmlint.analysis.model import RnnModel


@dataclass
class Report:
    """What a rule yields: the node it points at, what is wrong, and what the fix is."""

    node: cst.CSTNode
    message: str
    fix: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    # the machine-applicable form of ``fix``: nodes and the code that replaces each (only
    # where the fix is unambiguous; as small as possible, so that fixes of other findings on
    # the same line do not overlap it)
    edits: list[tuple[cst.CSTNode, str]] = field(default_factory=list)


BUG_MARKER = "# bug"


@dataclass(frozen=True)
class Invalid:
    """An example the rule must flag on exactly the lines that end with ``# bug``; with
    ``fixed``, applying the edits of its findings must give exactly that code."""

    code: str
    files: dict[str, str] = field(default_factory=dict)  # sibling modules, e.g. a utils.py
    fixed: str | None = None

    @property
    def lines(self) -> tuple[int, ...]:
        return tuple(
            n
            for n, line in enumerate(self.code.splitlines(), 1)
            if line.rstrip().endswith(BUG_MARKER)
        )


@dataclass(frozen=True)
class Valid:
    """An example the rule must leave alone."""

    code: str
    files: dict[str, str] = field(default_factory=dict)


def experiment_facts(
    experiment: dict | None, why: str = "no reference experiment matches this code yet"
) -> dict[str, Any]:
    """The ``facts`` of a report: the experiment that can prove it, or why there is none."""
    return {"experiment": experiment} if experiment is not None else {"unconfirmed": why}


def reports_for(code: str, problems: Iterable[Any]) -> Iterator[Report]:
    """The reports of the rule ``code`` among an analysis's problems (each with ``code``,
    ``node``, ``message``, ``fix``, ``experiment`` and ``edits``)."""
    for problem in problems:
        if problem.code == code:
            yield Report(
                problem.node,
                problem.message,
                problem.fix,
                experiment_facts(problem.experiment),
                problem.edits,
            )


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]
    severity: ClassVar[Severity] = Severity.ERROR
    dynamic: ClassVar[bool] = False  # found by running the user's code; ``check`` finds nothing
    doc: ClassVar[str]
    valid: ClassVar[list[Valid]] = []
    invalid: ClassVar[list[Invalid]] = []

    def check(self, model: RnnModel) -> Iterator[Report]:
        raise NotImplementedError
