"""``RnnModel``: everything the rules ask about one file, computed once and on demand."""

from __future__ import annotations

import ast
import warnings
from functools import cached_property
from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from lstmlint.analysis import facts as F
from lstmlint.analysis.flow import FactReader, Flow, FlowResult, Point
from lstmlint.analysis.helpers import ModuleContext, ModuleLoader
from lstmlint.diagnostics import Span


class RnnModel:
    def __init__(
        self,
        module: cst.Module,
        path: Path | None = None,
        loader: ModuleLoader | None = None,
        text: str | None = None,
    ) -> None:
        self.module = module
        self.path = path
        self.context = ModuleContext(module, path, loader or ModuleLoader())
        self._memo: dict[str, object] = {}
        if text is not None:  # what libcst parsed, so equal to what it would generate
            self.code = text

    def memo(self, name: str, compute):
        """An analysis result shared by every rule that asks for it (computed once per file)."""
        if name not in self._memo:
            self._memo[name] = compute(self)
        return self._memo[name]

    @cached_property
    def code(self) -> str:
        """The module's source text (libcst regenerates it on every ``module.code``)."""
        return self.module.code

    # positions -------------------------------------------------------------------------
    # libcst finds positions by generating the code of the whole module while tracking every
    # node, which costs more than the analysis of a small file. Findings sit in one or two
    # top-level statements, so positions are tracked in those alone and shifted to where
    # Python's own parser places the statement (checked at both ends).
    @cached_property
    def _statement_lines(self) -> list[tuple[int, int]] | None:
        """The first and last line of each top-level statement (after its decorators), as
        ``ast`` sees them; None when the two parsers' statements do not pair up."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # SyntaxWarnings are not ours to print
                body = ast.parse(self.code).body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
        lines, position = [], 0
        for statement in self.module.body:
            count = len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
            group = body[position : position + count]
            if len(group) != count:
                return None
            lines.append((group[0].lineno, group[-1].end_lineno or group[-1].lineno))
            position += count
        return lines if position == len(body) else None

    def _shift(self, index: int) -> int | None:
        """Lines before top-level statement ``index``, or None when that cannot be vouched for."""
        lines = self._statement_lines
        where = self._positions_in(index).get(self.module.body[index]) if lines else None
        if where is None:
            return None
        first, last = lines[index]
        shift = first - where.start.line
        return shift if where.end.line + shift == last else None

    @cached_property
    def _statement_of(self) -> dict[int, int]:
        from lstmlint.analysis.names import walk

        return {id(n): i for i, statement in enumerate(self.module.body) for n in walk(statement)}

    def _positions_in(self, index: int):
        cache = self.__dict__.setdefault("_statement_positions", {})
        if index not in cache:
            alone = self.module.with_changes(body=[self.module.body[index]], header=[], footer=[])
            cache[index] = _positions(alone)
        return cache[index]

    @cached_property
    def _module_positions(self):
        return _positions(self.module)

    def span(self, node: cst.CSTNode) -> Span:
        index = self._statement_of.get(id(node))
        shift = self._shift(index) if index is not None else None
        if shift is not None:
            position = self._positions_in(index).get(node)
        else:
            shift, position = 0, self._module_positions.get(node)
        if position is None:
            return Span(1, 1, 1, 1)
        return Span(
            position.start.line + shift,
            position.start.column + 1,
            position.end.line + shift,
            position.end.column + 1,
        )

    # the model -------------------------------------------------------------------------
    @cached_property
    def _flow(self) -> Flow:
        return Flow(self.module, self.context)

    @cached_property
    def flow(self) -> FlowResult:
        return self._flow.run()

    def reader(self, point: Point) -> FactReader:
        """What expressions hold at ``point``."""
        self.flow  # noqa: B018 - the walk must have run
        return FactReader(self._flow, point.scope, point.env, point.time_loop, point.guarded)

    @property
    def points(self) -> list[Point]:
        return self.flow.points

    @property
    def region_points(self) -> list[Point]:
        return [p for p in self.flow.points if p.in_region]

    @cached_property
    def is_rnn(self) -> bool:
        """The file holds recurrent code: a recognised cell or state update (LSTM, GRU, vanilla RNN)."""
        for env in self.flow.envs.values():
            for fact in env.values():
                if fact.kind == F.STATE or (
                    fact.kind == F.SEQ and fact.elem is not None and fact.elem.kind == F.STATE
                ):
                    return True
                if fact.gate is not None:
                    return True
        return False


def _positions(module: cst.Module):
    """Where each node of ``module`` sits. ``MetadataWrapper.resolve`` would also visit (and so
    rebuild) the whole tree for the batched providers, of which there are none here: the
    provider is asked directly, and the wrapper is used only if libcst's internals differ."""
    try:
        provider = PositionProvider()
        provider._gen_impl(module)
        return provider._computed
    except (AttributeError, TypeError):
        return MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
