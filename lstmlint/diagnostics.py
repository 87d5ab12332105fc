"""The finding a rule reports, and where it points."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Span:
    """A 1-based, end-exclusive-column range in the analysed source text."""

    line: int
    column: int
    end_line: int
    end_column: int


@dataclass
class Diagnostic:
    """One finding. ``facts`` carries what the analysis knew, for a later dynamic confirmation."""

    path: str
    code: str
    name: str
    message: str
    span: Span
    severity: Severity
    fix: str | None = None
    cell: int | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    confirmation: dict[str, Any] | None = None
    edits: list = field(default_factory=list)  # edits.Edit, in the analysed text's coordinates

    @property
    def line(self) -> int:
        return self.span.line

    @property
    def column(self) -> int:
        return self.span.column

    def sort_key(self) -> tuple:
        return (
            self.path,
            self.cell if self.cell is not None else -1,
            self.span.line,
            self.span.column,
            self.code,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "code": self.code,
            "name": self.name,
            "message": self.message,
            "fix": self.fix,
            "line": self.span.line,
            "column": self.span.column,
            "end_line": self.span.end_line,
            "end_column": self.span.end_column,
            "cell": self.cell,
            "severity": self.severity.value,
            "confirmation": self.confirmation,
        }
