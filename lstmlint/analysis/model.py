"""``RnnModel``: everything the rules ask about one file, computed once and on demand."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import libcst as cst

from lstmlint.analysis import facts as F
from lstmlint.analysis.flow import FactReader, Flow, FlowResult, Point
from lstmlint.analysis.helpers import ModuleContext, ModuleLoader
from lstmlint.analysis.positions import Positions
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
    @cached_property
    def positions(self) -> Positions:
        return Positions(self.module, self.code)

    def span(self, node: cst.CSTNode) -> Span:
        return self.positions.span(node)

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
