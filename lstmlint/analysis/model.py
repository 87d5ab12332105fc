"""``RnnModel``: everything the rules ask about one file, computed once and on demand."""

from __future__ import annotations

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
        self, module: cst.Module, path: Path | None = None, loader: ModuleLoader | None = None
    ) -> None:
        self._wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        self.module = module
        self.path = path
        self.context = ModuleContext(module, path, loader or ModuleLoader())
        self._memo: dict[str, object] = {}

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
    # top-level statements, so positions are tracked in those alone and shifted by the lines
    # of the statements before them.
    @cached_property
    def _statement_starts(self) -> list[int] | None:
        """Lines before each top-level statement, or None when the pieces do not add up."""
        module = self.module
        pieces = [module.code_for_node(line) for line in module.header]
        starts, lines = [], sum(p.count("\n") for p in pieces)
        for statement in module.body:
            starts.append(lines)
            code = module.code_for_node(statement)
            pieces.append(code)
            lines += code.count("\n")
        pieces += [module.code_for_node(line) for line in module.footer]
        return starts if "".join(pieces) == self.code else None

    @cached_property
    def _statement_of(self) -> dict[int, int]:
        from lstmlint.analysis.names import walk

        return {id(n): i for i, statement in enumerate(self.module.body) for n in walk(statement)}

    def _positions_in(self, index: int):
        cache = self.__dict__.setdefault("_statement_positions", {})
        if index not in cache:
            alone = self.module.with_changes(body=[self.module.body[index]], header=[], footer=[])
            cache[index] = MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider)
        return cache[index]

    @cached_property
    def _positions(self):
        return self._wrapper.resolve(PositionProvider)

    def span(self, node: cst.CSTNode) -> Span:
        index = self._statement_of.get(id(node))
        starts = self._statement_starts if index is not None else None
        if starts is not None:
            shift, position = starts[index], self._positions_in(index).get(node)
        else:
            shift, position = 0, self._positions.get(node)
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
