"""Forward inference: walk every scope in order and learn what each stored value holds.

The walk is repeated a few times so that facts cross function boundaries: what ``forward``
returns reaches the caller's tuple unpacking, the caller's arguments reach ``backward``'s
parameters, ``self.x`` written by one method is read by another. A scope is walked again only
when something it read from another has changed (``shared.py``). Each scope's last walk records,
for every statement, the facts in force there (rules read those).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from lstmlint.analysis import facts as F
from lstmlint.analysis.algebra import factors, is_call_to, matmul_operands, mentions, terms
from lstmlint.analysis.facts import Fact
from lstmlint.analysis.helpers import ModuleContext, call_mode
from lstmlint.analysis.loops import (
    BACKWARD,
    FORWARD,
    Affine,
    TimeLoop,
    affine,
    for_loop,
    index_offset,
    iterated,
    while_loop,
)
from lstmlint.analysis.names import (
    code_of,
    dotted,
    key_of,
    memoised,
    nodes_of,
    string_key,
    walk,
)
from lstmlint.analysis.shared import SharedTable, Versions
from lstmlint.parse import BLANK

MAX_PASSES = 8
BACKWARD_HINTS = ("backward", "backprop", "bptt", "bwd", "_grad", "grads")


@dataclass
class Scope:
    node: cst.FunctionDef | cst.Module
    name: str
    class_name: str | None
    params: list[str]
    body: list[cst.BaseStatement]
    returns: Fact | None = None
    has_backward_loop: bool = False


@dataclass
class LoopInfo:
    loop: TimeLoop
    shift: int | None
    scope: Scope
    before: list[cst.CSTNode] = field(
        default_factory=list
    )  # statements preceding the loop in its block


@dataclass
class Point:
    """A statement of a backward region and the facts in force there."""

    statement: cst.CSTNode  # a small statement (Assign, AugAssign, Expr, Return)
    env: dict[str, Fact]
    loop: LoopInfo | None  # the innermost backward time loop around it
    scope: Scope
    guarded: bool
    in_region: bool  # inside a backward loop or a backward (step) function
    time_loop: LoopInfo | None = None  # the innermost time loop, either direction


@dataclass
class FlowResult:
    scopes: list[Scope]
    loops: list[LoopInfo] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    backward_functions: set[str] = field(default_factory=set)
    envs: dict[str, dict[str, Fact]] = field(default_factory=dict)  # final env per scope


def collect_scopes(module: cst.Module) -> list[Scope]:
    scopes = [
        Scope(
            module,
            "<module>",
            None,
            [],
            [s for s in module.body if not isinstance(s, cst.FunctionDef | cst.ClassDef)],
        )
    ]

    def add(func: cst.FunctionDef, prefix: str, class_name: str | None) -> None:
        params = [p.name.value for p in func.params.params]
        if class_name and params and params[0] in ("self", "cls"):
            params = params[1:]
        params += [p.name.value for p in func.params.kwonly_params]
        body = list(func.body.body) if isinstance(func.body, cst.IndentedBlock) else []
        scopes.append(Scope(func, f"{prefix}{func.name.value}", class_name, params, body))
        for inner in body:
            if isinstance(inner, cst.FunctionDef):
                add(inner, f"{prefix}{func.name.value}.", class_name)

    def walk(statements, prefix: str, class_name: str | None) -> None:
        for statement in statements:
            if isinstance(statement, cst.FunctionDef):
                add(statement, prefix, class_name)
            elif isinstance(statement, cst.ClassDef) and isinstance(
                statement.body, cst.IndentedBlock
            ):
                walk(statement.body.body, f"{prefix}{statement.name.value}.", statement.name.value)
            elif isinstance(statement, cst.If | cst.Try | cst.With) and isinstance(
                statement.body, cst.IndentedBlock
            ):
                walk(statement.body.body, prefix, class_name)

    walk(module.body, "", None)
    return scopes


class Flow:
    def __init__(self, module: cst.Module, context: ModuleContext) -> None:
        self.module = module
        self.ctx = context
        self.scopes = collect_scopes(module)
        self.by_name = {s.name: s for s in self.scopes}
        self.method_names: dict[str, list[Scope]] = {}
        for scope in self.scopes:
            self.method_names.setdefault(scope.name.rsplit(".", 1)[-1], []).append(scope)
        self.versions = Versions()
        self.labels: dict[tuple[str, str], Fact] = SharedTable("labels", self.versions)
        self.param_facts: dict[tuple[str, str], Fact] = SharedTable("params", self.versions)
        self.class_attrs: dict[tuple[str, str], Fact] = SharedTable("attrs", self.versions)
        # per arity: (the id of the expression that built it, its fact) for each per-step cache,
        # every version the passes saw
        self.tuples: dict[int, tuple[tuple[int, Fact], ...]] = SharedTable("tuples", self.versions)
        self.called_in_backward: set[str] = set()
        # (scope, name) assigned a blank in an exercise template: known to be assigned there,
        # with a value only its uses can tell
        self.blanks: set[tuple[str, str]] = set()
        self.result = FlowResult(self.scopes)

    # driving ---------------------------------------------------------------------------
    def run(self) -> FlowResult:
        # walk until nothing a scope read has changed since its last walk (facts may need
        # several hops): each scope's last walk then equals a fresh one, so its record stands
        reads: dict[int, dict] = {}
        walks: dict[int, _ScopeWalk] = {}
        backward: set[str] = set()
        for _ in range(MAX_PASSES):
            now = {s.name for s in self.scopes if self._is_backward_function(s)}
            for name in now ^ backward:
                self.versions.changed(("backward", name))
            backward = self.result.backward_functions = now
            walked = False
            for i, scope in enumerate(self.scopes):
                if i in reads and not self.versions.stale(reads[i]):
                    continue  # checked here, not at the start of the pass: earlier walks count
                self.versions.reading = reads[i] = {}
                walks[i] = _ScopeWalk(self, scope)
                walks[i].run()
                self.versions.reading = None
                walked = True
            if not walked:
                break
        for i, scope in enumerate(self.scopes):
            if i in walks:
                self.result.points.extend(walks[i].points)
                self.result.loops.extend(walks[i].loops_seen)
                self.result.envs[scope.name] = dict(walks[i].env)
        return self.result

    def _is_backward_function(self, scope: Scope) -> bool:
        if not isinstance(scope.node, cst.FunctionDef) or scope.has_backward_loop:
            return False
        if scope.name in self.ctx.helpers:  # sigmoid(x, derivative=True) and friends
            return False
        if scope.name in self.called_in_backward:
            return True
        lowered = scope.node.name.value.lower()
        return any(hint in lowered for hint in BACKWARD_HINTS)

    def resolve(self, func: cst.BaseExpression, caller: Scope) -> Scope | None:
        name = dotted(func)
        if name is None:
            return None
        if name in self.by_name and "." not in name:
            return self.by_name[name]
        head, _, attr = name.rpartition(".")
        if head == "self" and caller.class_name:
            return self.by_name.get(f"{caller.class_name}.{attr}")
        if attr and head:
            candidates = self.method_names.get(attr, [])
            methods = [s for s in candidates if s.class_name]
            if len(methods) == 1:
                return methods[0]
        return None


class _ScopeWalk:
    def __init__(self, flow: Flow, scope: Scope) -> None:
        self.flow = flow
        self.scope = scope
        self.env: dict[str, Fact] = {}
        self.loops: list[LoopInfo] = []
        self.backward_depth = 0
        self.guard_depth = 0
        self.loop_depth = 0
        self.append_depth: dict[str, int] = {}
        self.initial_only: set[str] = set()  # histories holding just their initial element so far
        self._carried: frozenset[str] | set[str] = set()  # assigned in the forward loop around
        self._assigned_here: set[str] = set()  # assigned so far in the loop around
        for param in scope.params:
            fact = flow.param_facts.get((scope.name, param))
            label = flow.labels.get((scope.name, param))
            if fact is not None or label is not None:
                self.env[param] = _detached(_apply_label(fact, label) if fact else label)
        flow.versions.read(("backward", scope.name))
        self.in_backward_function = scope.name in flow.result.backward_functions
        self.points: list[Point] = []
        self.loops_seen: list[LoopInfo] = []

    def run(self) -> None:
        self._block(self.scope.body)

    # statements ------------------------------------------------------------------------
    def _block(self, statements) -> None:
        statements = list(statements)
        for index, statement in enumerate(statements):
            self._statement(statement, statements[:index])

    def _statement(self, statement: cst.CSTNode, preceding: list) -> None:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                self._small(small)
        elif isinstance(statement, cst.For):
            loop = for_loop(statement)
            self._loop(statement, loop, preceding)
            if statement.orelse:
                self._block(statement.orelse.body.body)
        elif isinstance(statement, cst.While):
            loop = while_loop(statement, preceding)
            self._loop(statement, loop, preceding)
        elif isinstance(statement, cst.If):
            guard = self._guards(statement.test)
            self.guard_depth += guard
            self._suite(statement.body)
            orelse = statement.orelse
            while orelse is not None:
                if isinstance(orelse, cst.If):
                    self._suite(orelse.body)
                    orelse = orelse.orelse
                else:
                    self._suite(orelse.body)
                    orelse = None
            self.guard_depth -= guard
        elif isinstance(statement, cst.With | cst.Try):
            self._suite(statement.body)
            for handler in getattr(statement, "handlers", ()):
                self._suite(handler.body)
        # nested functions and classes are their own scopes

    def _suite(self, suite: cst.BaseSuite) -> None:
        if isinstance(suite, cst.IndentedBlock):
            self._block(suite.body)
        elif isinstance(suite, cst.SimpleStatementSuite):
            for small in suite.body:
                self._small(small)

    def _guards(self, test: cst.BaseExpression) -> int:
        return int(any(info.loop.var and mentions(test, info.loop.var) for info in self.loops))

    def _loop(self, node: cst.For | cst.While, loop: TimeLoop | None, preceding: list) -> None:
        info = None
        if loop is not None:
            info = LoopInfo(loop, loop.shift(self._steps_symbol), self.scope, preceding)
            self.loops_seen.append(info)
            if loop.direction == BACKWARD:
                self.scope.has_backward_loop = True
        if isinstance(node, cst.For):
            self._bind_iteration(node)
        if info is not None:
            self.loops.append(info)
        backward = info is not None and info.loop.direction == BACKWARD
        self.backward_depth += backward
        self.loop_depth += 1
        carried = (
            _assigned_names(node.body)
            if info is not None and info.loop.direction == FORWARD
            else set()
        )
        self._carried, previous = carried, self._carried
        self._assigned_here, assigned_before = set(), self._assigned_here
        self._suite(node.body)
        self._carried, self._assigned_here = previous, assigned_before | self._assigned_here
        self.loop_depth -= 1
        self.backward_depth -= backward
        if info is not None:
            self.loops.pop()

    def _bind_iteration(self, node: cst.For) -> None:
        """``for cache in reversed(caches)``: the loop variable is one element of the history."""
        sources = iterated(node.iter)
        elements = (
            [e.value for e in node.target.elements]
            if isinstance(node.target, cst.Tuple)
            else [node.target]
        )
        if len(sources) == len(elements) and len(sources) > 0:
            for element, source in zip(elements, sources, strict=True):
                fact = (
                    self._fact(source)
                    if not is_call_to(source, "range", "arange", "enumerate")
                    else None
                )
                self._bind(element, fact.elem if fact is not None and fact.kind == F.SEQ else None)
        else:
            self._bind(node.target, None)

    def _steps_symbol(self, symbol: str) -> int:
        """A loop bound ``len(h_s)`` over a prepended history counts T + 1 steps."""
        if symbol.startswith("len(") and symbol.endswith(")"):
            inner = symbol[4:-1]
            fact = self.env.get(inner)
            if fact is not None and fact.kind == F.SEQ and fact.convention == F.PREPENDED:
                return 1
        return 0

    @property
    def time_loop(self) -> LoopInfo | None:
        return self.loops[-1] if self.loops else None

    @property
    def in_region(self) -> bool:
        return self.backward_depth > 0 or self.in_backward_function

    def _small(self, small: cst.BaseSmallStatement) -> None:
        region_loop = next((i for i in reversed(self.loops) if i.loop.direction == BACKWARD), None)
        self.points.append(
            Point(
                small,
                dict(self.env),
                region_loop,
                self.scope,
                self.guard_depth > 0,
                self.in_region,
                self.time_loop,
            )
        )
        if isinstance(small, cst.Assign):
            self._calls(small.value)
            value = self._fact(small.value)
            labels = self._recognise(small.targets[-1].target, small.value)
            labels |= self._reset_gate(small.value)
            for target in small.targets:
                self._bind(target.target, value, small.value)
            self._apply_labels(labels)
            self._label_pre_activation(small.targets[-1].target, small.value)
            self._register_tuple(small.value, value)
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            self._calls(small.value)
            self._bind(small.target, self._fact(small.value), small.value)
        elif isinstance(small, cst.AugAssign):
            self._calls(small.value)
            if isinstance(small.operator, cst.SubtractAssign) and _is_max(small.value):
                self.env[f"shifted:{code_of(small.target)}"] = Fact(F.SHIFTED)
            elif isinstance(small.operator, cst.DivideAssign) and _is_sum(small.value):
                # `probs = np.exp(...)` then `probs /= np.sum(probs, ...)`: now a softmax
                current = self._fact(small.target)
                if current is not None and current.kind == F.EXP:
                    normalised = Fact(F.PROB, stable=current.stable, origin=current.origin)
                    self._bind(small.target, normalised, small.value)
        elif isinstance(small, cst.Expr):
            self._calls(small.value)
            self._append(small.value)
            self._apply_layer(small.value)
        elif isinstance(small, cst.Return) and small.value is not None:
            self._calls(small.value)
            fact = self._fact(small.value)
            self.flow.versions.read(("returns", self.scope.name))
            if fact is not None and (
                self.scope.returns is None or _known(fact) >= _known(self.scope.returns)
            ):
                if fact != self.scope.returns:
                    self.flow.versions.changed(("returns", self.scope.name))
                self.scope.returns = fact
            self._register_tuple(small.value, fact)

    def _apply_layer(self, value: cst.BaseExpression) -> None:
        """``layer.forward(x)``: what the layer's output attributes now hold is x's activation."""
        reader = FactReader(self.flow, self.scope, self.env, self.time_loop, False)
        applied = reader.applied_layer(value)
        if applied is not None:
            owner, layer = applied
            argument = value.args[0].value
            self.env[applied_key(owner)] = Fact(F.PRE, act=layer.act, origin=argument)

    def _apply_labels(self, labels: dict[str, Fact]) -> None:
        for key, label in labels.items():
            self.flow.labels[(self.scope.name, key)] = _apply_label(
                self.flow.labels.get((self.scope.name, key)), label
            )
            if key in self.env or (label.kind == F.STATE and not key.endswith("[]")):
                self.env[key] = _apply_label(self.env.get(key), label)

    def _label_pre_activation(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        """``f = sigmoid(af)``: ``af`` holds the pre-activation of a sigmoid (of gate f, once known)."""
        if isinstance(value, cst.Tuple) and isinstance(target, cst.Tuple | cst.List):
            for element, part in zip(target.elements, value.elements, strict=False):
                self._label_pre_activation(element.value, part.value)
            return
        reader = FactReader(self.flow, self.scope, self.env, self.time_loop, False)
        act = reader.activation_call(value)
        argument = reader.call_argument(value) if act else None
        if act is None and _stacked(target) and isinstance(value, cst.BinaryOperation):
            argument = inline_sigmoid(value)
            act = "sigmoid" if argument is not None else None
        if isinstance(argument, cst.Subscript) and _stacked(argument):
            # gates_out[t, :, 3*H:] = np.tanh(gates[t, :, 3*H:]): that stretch of each step's
            # stacked pre-activations feeds tanh
            self._store_element(argument, Fact(F.PRE, act=act))
            return
        key = key_of(argument) if argument is not None else None
        if key is None:
            return
        target_key = key_of(target)
        label = self.flow.labels.get((self.scope.name, target_key)) if target_key else None
        gate = label.gate if label is not None else None
        if key not in self.env:
            self.env[key] = Fact(F.PRE, act=act, gate=gate)
        elif self.env[key].kind in (F.PRE, F.ZEROS):
            self.env[key] = self.env[key].with_(kind=F.PRE, act=act, gate=gate)

    # calls: argument facts for callees, and the call graph ------------------------------
    def _calls(self, node: cst.CSTNode) -> None:
        for call in nodes_of(node, cst.Call):
            self._call_site(call)

    def _call_site(self, call: cst.Call) -> None:
        callee = self.flow.resolve(call.func, self.scope)
        if callee is None or callee is self.scope:
            return
        if self.backward_depth > 0:
            self.flow.called_in_backward.add(callee.name)
        positional = [a for a in call.args if a.keyword is None and not a.star]
        for index, arg in enumerate(positional):
            if index < len(callee.params):
                self._pass(callee, callee.params[index], arg.value)
        for arg in call.args:
            if arg.keyword is not None and arg.keyword.value in callee.params:
                self._pass(callee, arg.keyword.value, arg.value)

    def _pass(self, callee: Scope, param: str, value: cst.BaseExpression) -> None:
        fact = self._fact(value)
        key = (callee.name, param)
        if fact is not None:
            self.flow.param_facts[key] = F.merge(self.flow.param_facts.get(key), fact)
        elif (
            isinstance(value, cst.Name)
            and value.value in self._carried
            and value.value not in self.env
        ):
            # a loop-carried state handed to a step function: the callee sees the previous step's state
            self.flow.labels.setdefault(key, F.state("h", -1))

    # binding ---------------------------------------------------------------------------
    def _bind(
        self, target: cst.BaseExpression, fact: Fact | None, value: cst.BaseExpression | None = None
    ) -> None:
        if isinstance(target, cst.Tuple | cst.List):
            elements = [e.value for e in target.elements]
            items = self._unpack(fact, len(elements), value)
            for element, item in zip(elements, items, strict=False):
                self._bind(
                    element.value if isinstance(element, cst.StarredElement) else element, item
                )
            return
        if (
            isinstance(target, cst.Subscript)
            and string_key(_index(target) or cst.Name("x")) is None
        ):
            if fact is None and _stacked(target) and isinstance(value, cst.BinaryOperation):
                # a sigmoid written out is read as one only where it fills a stretch of
                # stacked gates: elsewhere the same expression is often an output layer
                fact = Fact(F.ACT, act="sigmoid") if inline_sigmoid(value) is not None else None
            self._store_element(target, fact)
            return
        key = key_of(target)
        if key is None:
            return
        self._assigned_here.add(key)
        if isinstance(target, cst.Subscript):
            self._store_key(target, fact)
        label = self.flow.labels.get((self.scope.name, key))
        if isinstance(value, cst.Name) and value.value == BLANK:
            self.flow.blanks.add((self.scope.name, key))
            fact = label or BLANK_GATES.get(key)
        fact = (
            _apply_label(fact, label) if label and fact is not None and fact.kind != F.SEQ else fact
        )
        if fact is None and label is not None and label.kind == F.STATE:
            fact = label
        if fact is None:
            self.env.pop(key, None)
        else:
            aliased = isinstance(value, cst.Subscript | cst.Name | cst.IfExp | cst.Attribute)
            self.env[key] = fact if aliased else _detached(fact)
            if fact.kind == F.SEQ:
                self.append_depth.pop(key, None)
                self.initial_only.discard(key)
                if fact.convention == F.PREPENDED:  # [h0]: the initial state, appended to in a loop
                    self.append_depth[key] = self.loop_depth
                    self.initial_only.add(key)
        if key.startswith("self.") and self.scope.class_name and fact is not None:
            self.flow.class_attrs[(self.scope.class_name, key)] = fact

    def _store_key(self, target: cst.Subscript, fact: Fact | None) -> None:
        """``cache = {}`` then ``cache['IFOGf'] = IFOGf``: the dict now holds that key."""
        base = key_of(target.value)
        name = string_key(_index(target) or cst.Name("x"))
        held = self.env.get(base) if base is not None else None
        if name is None or held is None:
            return
        empty = held.kind == F.SEQ and held.container == "dict" and held.elem is None
        if not empty and held.kind != F.DICT:
            return
        kept = tuple((k, v) for k, v in held.keys if k != name)
        self.env[base] = Fact(F.DICT, keys=(*kept, (name, _detached(fact))))

    def _unpack(self, fact: Fact | None, arity: int, value) -> list[Fact | None]:
        if fact is not None and fact.kind == F.TUPLE and len(fact.items) == arity:
            return list(fact.items)
        if (
            fact is None
            and isinstance(value, cst.Name | cst.Attribute | cst.Subscript)
            and arity >= 4
        ):
            # a per-step cache unpacked far from where it was built: the one place that builds
            # a cache of this size, as the last pass saw it, unless passes disagree on it
            candidates = self.flow.tuples.get(arity, ())
            last = candidates[-1][1] if candidates else None
            if len({site for site, _ in candidates}) == 1 and all(
                _refined(held, last) for _, held in candidates
            ):
                return list(last.items)
        keyed = self._keyed_items(value) if fact is None else None
        if keyed is not None and len(keyed) == arity:
            return keyed
        return [None] * arity

    def _keyed_items(self, value) -> list[Fact | None] | None:
        """``h, c = (cache[k] for k in ("h", "c"))``: the dict's values under those keys."""
        if not isinstance(value, cst.GeneratorExp | cst.ListComp) or value.for_in.inner_for_in:
            return None
        element, loop = value.elt, value.for_in
        if (
            not isinstance(element, cst.Subscript)
            or not isinstance(loop.target, cst.Name)
            or not isinstance(loop.iter, cst.Tuple | cst.List)
            or loop.ifs
            or key_of(_index(element) or cst.Integer("0")) != loop.target.value
        ):
            return None
        keys = [string_key(e.value) for e in loop.iter.elements]
        base = self._fact(element.value)
        if base is None or base.kind != F.DICT or None in keys:
            return None
        return [base.key(k) for k in keys]

    def _register_tuple(self, value: cst.BaseExpression, fact: Fact | None) -> None:
        if fact is None or fact.kind != F.TUPLE or not isinstance(value, cst.Tuple | cst.List):
            return
        meaningful = sum(
            i is not None and i.kind in (F.ACT, F.STATE, F.PRE, F.PROB) for i in fact.items
        )
        if len(fact.items) >= 4 and meaningful >= 2:  # a per-step cache, not a tuple of gradients
            bucket = self.flow.tuples.get(len(fact.items), ())
            if (id(value), fact) not in bucket:
                self.flow.tuples[len(fact.items)] = (*bucket, (id(value), fact))

    def _store_element(self, target: cst.Subscript, fact: Fact | None) -> None:
        key = key_of(target.value)
        if key is None:
            return
        seq = self.env.get(key)
        index = _time_index(target, self.time_loop.loop if self.time_loop else None)
        if index is None:
            # a slice of stacked gates written in place: a[:, :3*H] = sigmoid(a[:, :3*H])
            if fact is not None and seq is not None and seq.kind != F.SEQ:
                span = _segment(target)
                if span is not None:
                    self.env[key] = seq.with_(segments=(*seq.segments, (span[0], span[1], fact)))
            return
        offset, constant = index
        container = "dict" if seq is not None and seq.container == "dict" else "list"
        if seq is None or seq.kind not in (F.SEQ, F.ZEROS):
            seq = Fact(
                F.SEQ, container="array" if seq is not None and seq.kind == F.ZEROS else "list"
            )
        elif seq.kind == F.ZEROS:
            seq = Fact(F.SEQ, container="array")
        convention = seq.convention
        label = self.flow.labels.get((self.scope.name, key + "[]"))
        elem_fact = _apply_label(fact, label) if fact is not None else label
        span = _segment(target)
        if fact is not None and span is not None and span != (0, 99):
            # gates[t, :, :3*H] = sigmoid(...): one stretch of a step's stacked gates
            known = seq.elem.segments if seq.elem is not None else ()
            kept = tuple(s for s in known if (s[0], s[1]) != span)
            elem_fact = Fact(F.PRE, segments=(*kept, (span[0], span[1], fact)))
            seq = seq.with_(elem=None)
        if constant is not None:
            if self.loop_depth <= self.append_depth.get(key, 99) and constant in (-1, 0):
                if constant == -1 and container != "array":
                    convention = F.FROM_MINUS_1
                elif constant == 0:
                    convention = convention or F.PREPENDED
            self.append_depth.setdefault(key, self.loop_depth)
            self.env[key] = seq.with_(convention=convention, elem=seq.elem or elem_fact)
            return
        shift = self.time_loop.shift if self.time_loop else None
        if shift is not None:
            relative = offset - shift
            if relative == 1:
                convention = F.PREPENDED
            elif relative == 0 and convention != F.FROM_MINUS_1:
                convention = F.ALIGNED
        self.env[key] = seq.with_(
            container=seq.container or container,
            convention=convention,
            elem=F.merge(seq.elem, elem_fact),
        )
        if key.startswith("self.") and self.scope.class_name:  # self.f[t] = sigmoid(...)
            self.flow.class_attrs[(self.scope.class_name, key)] = self.env[key]

    def _append(self, node: cst.BaseExpression) -> None:
        if not (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value == "append"
        ):
            return
        key = key_of(node.func.value)
        if key is None or not node.args:
            return
        # hs.append(o * np.tanh(cs[-1])): the update equation written inside the append
        self._apply_labels(self._recognise_key(f"{key}[]", node.args[0].value))
        fact = self._fact(node.args[0].value)
        label = self.flow.labels.get((self.scope.name, key + "[]"))
        fact = _apply_label(fact, label) if fact is not None else label
        seq = self.env.get(key)
        if seq is None and key.endswith("]"):  # hist["h"].append(h) with hist = {"h": [h0], ...}
            seq = self._fact(node.func.value)
            if (
                seq is not None
                and seq.kind == F.SEQ
                and seq.convention == F.PREPENDED
                and key not in self.append_depth
            ):
                self.append_depth[key] = self.loop_depth - 1 if self.loop_depth else 0
                self.initial_only.add(key)
        if seq is None or seq.kind != F.SEQ:
            seq = Fact(F.SEQ, container="list", convention=None)
        first_depth = self.append_depth.setdefault(key, self.loop_depth)
        argument = node.args[0].value
        if (
            isinstance(argument, cst.Name)
            and argument.value in self._carried
            and argument.value not in self._assigned_here
        ):
            # cs.append(c) before this step's c is computed: it keeps the previous step's state,
            # so step t is stored at index t + 1, as if the initial state came first
            convention, elem = F.PREPENDED, F.merge(seq.elem, fact)
        elif self.loop_depth > first_depth:
            # appended in a loop after an append (or a literal) outside it: that first one was the
            # initial state, and the steps' values say what the history holds
            convention = F.PREPENDED
            elem = fact if key in self.initial_only else F.merge(seq.elem, fact)
            self.initial_only.discard(key)
        else:
            if seq.elem is None:
                self.initial_only.add(key)
            convention = seq.convention or F.ALIGNED
            elem = F.merge(seq.elem, fact)
        self.env[key] = seq.with_(convention=convention, elem=elem)
        if key.startswith("self.") and self.scope.class_name:
            self.flow.class_attrs[(self.scope.class_name, key)] = self.env[key]

    # facts of expressions --------------------------------------------------------------
    def _fact(self, node: cst.BaseExpression) -> Fact | None:
        return FactReader(
            self.flow, self.scope, self.env, self.time_loop, self.guard_depth > 0
        ).fact(node)

    # recognising the cell equations ----------------------------------------------------
    def _recognise(self, target: cst.BaseExpression, value: cst.BaseExpression) -> dict[str, Fact]:
        target_key = label_key(target)
        return self._recognise_key(target_key, value) if target_key is not None else {}

    def _reset_gate(self, value: cst.BaseExpression) -> dict[str, Fact]:
        """A GRU's candidate, ``tanh(W x + U (r * h_prev) + b)`` or ``tanh(W x + r * (U h_prev +
        b))``: a sigmoid output multiplying the previous hidden state (or a product with it)
        inside the activation's argument is the reset gate."""
        reader = FactReader(self.flow, self.scope, self.env, self.time_loop, False)
        if reader.activation_call(value) != "tanh":
            return {}
        argument = reader.call_argument(value)
        labels: dict[str, Fact] = {}
        for node in walk(argument) if argument is not None else []:
            product = factors(node) if isinstance(node, cst.BaseExpression) else []
            if len(product) != 2:
                continue
            for gate, other in (product, product[::-1]):
                fact = reader.fact(gate)
                key = label_key(gate)
                if (
                    key is None
                    or fact is None
                    or fact.kind != F.ACT
                    or fact.act != "sigmoid"
                    or fact.gate not in (None, "r")
                ):
                    continue
                if any(self._hidden(reader, n) for n in walk(other)):
                    labels[key] = Fact(F.ACT, act="sigmoid", gate="r")
        return labels

    def _hidden(self, reader: FactReader, node: cst.CSTNode) -> bool:
        """A read of the hidden state, by its fact or by the label the update gave its
        history (``h[t]`` of a preallocated ``h = np.zeros((T + 1, N))``)."""
        if _hidden_state(reader.fact(node)):
            return True
        if not isinstance(node, cst.Subscript):
            return False
        return _hidden_state(self.flow.labels.get((self.scope.name, label_key(node))))

    def _recognise_key(self, target_key: str, value: cst.BaseExpression) -> dict[str, Fact]:
        reader = FactReader(self.flow, self.scope, self.env, self.time_loop, False)
        return recognise_equation(value, reader, target_key)


def _hidden_state(fact: Fact | None) -> bool:
    return fact is not None and fact.kind == F.STATE and fact.state == "h"


def label_key(node: cst.BaseExpression) -> str | None:
    """Where a label on ``node`` is kept: its own key, or its history's (``z[t]`` -> ``z[]``)."""
    direct = key_of(node)
    if direct is not None:
        return direct
    if isinstance(node, cst.Subscript):
        base = key_of(node.value)
        return f"{base}[]" if base else None
    return None


def recognise_equation(
    value: cst.BaseExpression, reader: FactReader, target_key: str
) -> dict[str, Fact]:
    """Labels from the LSTM cell/hidden update, the GRU update or a vanilla RNN update."""
    parts = terms(value)
    labels: dict[str, Fact] = {}

    def act_of(node: cst.BaseExpression) -> str | None:
        fact = reader.fact(node)
        return fact.act if fact is not None and fact.kind in (F.ACT, F.STATE) else None

    if len(parts) == 2 and all(sign == 1 for sign, _ in parts):
        products = [factors(term) for _, term in parts]
        if all(len(p) == 2 for p in products):
            # LSTM cell: c = f * c_prev + i * g
            for gated, other in (products, products[::-1]):
                acts_gated = [act_of(n) for n in gated]
                acts_other = [act_of(n) for n in other]
                if (
                    sorted(a or "" for a in acts_other) == ["sigmoid", "tanh"]
                    and "sigmoid" in acts_gated
                ):
                    f_node = gated[acts_gated.index("sigmoid")]
                    prev = gated[1 - acts_gated.index("sigmoid")]
                    if act_of(prev) is not None:
                        continue
                    i_node = other[acts_other.index("sigmoid")]
                    g_node = other[acts_other.index("tanh")]
                    for node, gate in ((f_node, "f"), (i_node, "i"), (g_node, "g")):
                        k = label_key(node)
                        if k:
                            labels[k] = Fact(
                                F.ACT, act="sigmoid" if gate != "g" else "tanh", gate=gate
                            )
                    k = label_key(prev)
                    if k:
                        labels[k] = F.state("c", -1)
                    labels[target_key] = F.state("c", 0)
                    return labels
            # GRU: h = (1 - z) * n + z * h_prev  (either order)
            for first, second in (products, products[::-1]):
                for index, node in enumerate(first):
                    z_node = _one_minus(node)
                    if z_node is None or act_of(z_node) != "sigmoid":
                        continue
                    partner = first[1 - index]
                    z_key = label_key(z_node)
                    rest = [n for n in second if label_key(n) != z_key]
                    if len(rest) != 1 or not z_key:
                        continue
                    n_node, prev = (
                        (partner, rest[0]) if act_of(partner) == "tanh" else (rest[0], partner)
                    )
                    if act_of(n_node) != "tanh":
                        continue
                    labels[z_key] = Fact(F.ACT, act="sigmoid", gate="z")
                    if label_key(n_node):
                        labels[label_key(n_node)] = Fact(F.ACT, act="tanh", gate="n")
                    if label_key(prev):
                        labels[label_key(prev)] = F.state("h", -1)
                    labels[target_key] = F.state("h", 0)
                    return labels
    if len(parts) == 1:
        product = factors(parts[0][1])
        if len(product) == 2:
            # LSTM hidden: h = o * tanh(c)
            for gate_node, squashed in (product, product[::-1]):
                if act_of(gate_node) == "sigmoid" and reader.tanh_of_cell(squashed):
                    if label_key(gate_node):
                        labels[label_key(gate_node)] = Fact(F.ACT, act="sigmoid", gate="o")
                    labels[target_key] = F.state("h", 0)
                    return labels
        # the same, where the template left o or c blank: what is blank is what the update needs
        for gate_node, squashed in (product, product[::-1]) if len(product) == 2 else ():
            inner = (
                reader.call_argument(squashed)
                if reader.activation_call(squashed) == "tanh"
                else None
            )
            if inner is None:
                continue
            gate_ok = act_of(gate_node) == "sigmoid" or reader.is_blank(gate_node)
            inner_fact = reader.fact(inner)
            inner_ok = inner_fact is not None and inner_fact.state == "c" or reader.is_blank(inner)
            if gate_ok and inner_ok and (reader.is_blank(gate_node) or reader.is_blank(inner)):
                if label_key(gate_node):
                    labels[label_key(gate_node)] = Fact(F.ACT, act="sigmoid", gate="o")
                if reader.is_blank(inner) and label_key(inner):
                    labels[label_key(inner)] = F.state("c", 0)
                    # the cell update c = f * c_prev + i * g was the blank: the one other tanh
                    # output of the step is its candidate
                    candidates = [
                        k
                        for k, v in reader.env.items()
                        if v.kind == F.ACT and v.act == "tanh" and not v.gate and "[" not in k
                    ]
                    if len(candidates) == 1:
                        labels[candidates[0]] = Fact(F.ACT, act="tanh", gate="g")
                labels[target_key] = F.state("h", 0)
                return labels
        # vanilla RNN: h = tanh(W x + U h_prev + b)
        if reader.activation_call(value) == "tanh":
            inner = reader.call_argument(value)
            if inner is not None:
                for _, term in terms(inner):
                    operands = matmul_operands(term)
                    if operands is None:
                        continue
                    for operand in operands:
                        fact = reader.fact(operand)
                        operand_key = label_key(operand)
                        same = operand_key is not None and operand_key == target_key
                        if same or (
                            fact is not None and fact.state == "h" and fact.step in (-1, None)
                        ):
                            if operand_key and not same:
                                labels[operand_key] = F.state("h", -1, act="tanh")
                            labels[target_key] = F.state("h", 0, act="tanh")
                            return labels
    return labels


# a gate left blank in a template is known by its conventional name alone
BLANK_GATES = {
    name: Fact(F.ACT, act="tanh" if gate == "g" else "sigmoid", gate=gate)
    for gate, names in (
        ("f", ("f", "f_t", "ft", "forget_gate")),
        ("i", ("i", "i_t", "it", "input_gate")),
        ("o", ("o", "o_t", "ot", "output_gate")),
        ("g", ("g", "g_t", "gt", "candidate")),
    )
    for name in names
}


def applied_key(owner: cst.BaseExpression) -> str:
    """The env key of what an activation layer was last applied to."""
    return f"applied:{code_of(owner)}"


def _one_minus(node: cst.BaseExpression) -> cst.BaseExpression | None:
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Subtract):
        left = affine(node.left)
        if left.symbol is None and left.const == 1:
            return node.right
    return None


def _index(node: cst.Subscript) -> cst.BaseExpression | None:
    if len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
        return node.slice[0].slice.value
    return None


def _time_index(node: cst.Subscript, loop: TimeLoop | None) -> tuple[int | None, int | None] | None:
    """(offset from the loop's step, or None; constant index, or None) of a time subscript."""
    elements = [e.slice for e in node.slice]
    indices = [e.value for e in elements if isinstance(e, cst.Index)]
    if loop is not None and loop.var is not None:
        for index in indices:
            offset = index_offset(index, loop.var, loop.mirror)
            if offset is not None:
                return offset, None
    if len(elements) == 1 and len(indices) == 1:
        value = affine(indices[0])
        if value.symbol is None:
            return None, value.const
    return None


def _segment(node: cst.Subscript) -> tuple[int, int] | None:
    """(start, end) in units of H of the last slice of a subscript: ``[:, H:2*H]`` is (1, 2)."""
    slices = [e.slice for e in node.slice if isinstance(e.slice, cst.Slice)]
    if not slices:
        return None
    part = slices[-1]

    def units(bound: cst.BaseExpression | None, default: int | None) -> int | None:
        if bound is None:
            return default
        if isinstance(bound, cst.Integer) and bound.value == "0":
            return 0
        if isinstance(bound, cst.Name | cst.Attribute):
            return 1
        if isinstance(bound, cst.BinaryOperation) and isinstance(bound.operator, cst.Multiply):
            for number, _ in ((bound.left, bound.right), (bound.right, bound.left)):
                if isinstance(number, cst.Integer):
                    return int(number.value)
        return None

    start, end = units(part.lower, 0), units(part.upper, 99)
    if start is None or end is None:
        return None
    return start, end


def _apply_label(fact: Fact | None, label: Fact | None) -> Fact | None:
    if label is None or fact is not None and fact.kind in (F.SEQ, F.TUPLE, F.DICT):
        return fact
    if fact is None:
        return label
    if label.kind == F.STATE:
        return fact.with_(
            kind=F.STATE,
            state=label.state,
            step=label.step,
            act=label.act or (fact.act if fact.kind == F.ACT else None),
        )
    return fact.with_(
        gate=label.gate or fact.gate,
        act=label.act or fact.act,
        kind=label.kind if fact.kind in (F.ACT, F.PRE) else fact.kind,
    )


def _refined(earlier: Fact, later: Fact) -> bool:
    """``later`` knows each item of the cache as ``earlier`` did, naming at most more (a gate's
    name): no item known in one pass and unknown in the other, none that changes what it is,
    which state or which step it holds."""
    return all(
        a is None
        and b is None
        or a is not None
        and b is not None
        and (a.kind, a.state, a.step, a.act) == (b.kind, b.state, b.step, b.act)
        for a, b in zip(earlier.items, later.items, strict=True)
    )


def _detached(fact: Fact | None) -> Fact | None:
    """The fact without the place it was read from: a value bound anew is read where it is used."""
    return (
        fact.with_(origin=None)
        if fact is not None and fact.origin is not None and fact.kind == F.STATE
        else fact
    )


def _known(fact: Fact) -> int:
    return sum(i is not None for i in fact.items) if fact.kind == F.TUPLE else 1


def _assigned_names(body: cst.BaseSuite) -> frozenset[str]:
    return memoised("assigned", body, _find_assigned_names)


def _find_assigned_names(body: cst.BaseSuite) -> frozenset[str]:
    return frozenset(
        name for n in nodes_of(body, cst.AssignTarget) for name in _target_names(n.target)
    )


def _target_names(target: cst.BaseExpression) -> list[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, cst.Tuple | cst.List):
        return [n for e in target.elements for n in _target_names(e.value)]
    return []


class FactReader:
    """What an expression holds, given the facts in force."""

    def __init__(
        self, flow: Flow, scope: Scope, env: dict[str, Fact], loop: LoopInfo | None, guarded: bool
    ) -> None:
        self.flow = flow
        self.ctx = flow.ctx
        self.scope = scope
        self.env = env
        self.loop = loop
        self.guarded = guarded

    def lookup(self, key: str) -> Fact | None:
        fact = self.env.get(key)
        if fact is None and key.startswith("self.") and self.scope.class_name:
            fact = self.flow.class_attrs.get((self.scope.class_name, key))
        return fact

    def is_blank(self, node: cst.BaseExpression) -> bool:
        """Whether ``node`` names a value an exercise template left blank in this scope."""
        key = key_of(node)
        return key is not None and (self.scope.name, key) in self.flow.blanks

    def qualified(self, name: str) -> str:
        """``self.tanh_derivative`` as the method of the class the call is made in."""
        if name.startswith("self.") and self.scope.class_name:
            return f"{self.scope.class_name}.{name[5:]}"
        return name

    @property
    def functions(self) -> dict:
        """The functions a call here can reach by name, the class's own methods as ``self.x``."""
        found = dict(self.ctx.all_functions)
        prefix = f"{self.scope.class_name}."
        if self.scope.class_name:
            for name, ref in self.ctx.all_functions.items():
                if name.startswith(prefix):
                    found.setdefault(f"self.{name[len(prefix) :]}", ref)
        return found

    def helper(self, call: cst.Call):
        name = dotted(call.func)
        return self.ctx.helpers.get(self.qualified(name)) if name else None

    def activation_call(self, node: cst.BaseExpression) -> str | None:
        """ "sigmoid"/"tanh" when ``node`` applies that activation (not its derivative), or
        reads what an activation layer applied (``layer.output``)."""
        if isinstance(node, cst.Attribute):
            layer = self.layer_output(node)
            return layer.act if layer is not None else None
        if not isinstance(node, cst.Call):
            return None
        applied = self.applied_layer(node)
        if applied is not None and applied[1].returns:
            return applied[1].act
        name = dotted(node.func) or ""
        leaf = name.rsplit(".", 1)[-1]
        head = name.split(".")[0]
        if leaf == "tanh" and (
            head in ("np", "numpy", "math", "torch")
            or self.ctx.aliases.get(name, "").startswith("numpy")
        ):
            return "tanh"
        if leaf == "expit":
            return "sigmoid"
        spec = self.helper(node)
        if spec is not None and spec.act in ("sigmoid", "tanh") and call_mode(node, spec) == "act":
            return spec.act
        if (
            leaf in ("sigmoid", "tanh")
            and name not in self.ctx.all_functions
            and len(node.args) == 1
            and node.args[0].keyword is None
        ):
            # a helper from a module that cannot be read (`from rnn_utils import *`): its name
            # is all there is, and a one-argument `sigmoid` computes the sigmoid
            return leaf
        return None

    def tanh_of_cell(self, node: cst.BaseExpression) -> bool:
        """``np.tanh(c)`` of the cell state, or a value that holds it (``tc`` after
        ``tc = np.tanh(c_next)``)."""
        if self.activation_call(node) == "tanh":
            argument = self.call_argument(node)
            inner = self.fact(argument) if argument is not None else None
            return inner is not None and inner.kind == F.STATE and inner.state == "c"
        fact = (
            self.fact(node) if isinstance(node, (cst.Name, cst.Attribute, cst.Subscript)) else None
        )
        return fact is not None and fact.kind == F.ACT and fact.applied_to == "c"

    def call_argument(self, call: cst.BaseExpression) -> cst.BaseExpression | None:
        if isinstance(call, cst.Call) and call.args:
            return call.args[0].value
        if isinstance(call, cst.Attribute) and self.layer_output(call) is not None:
            applied = self.env.get(applied_key(call.value))
            return applied.origin if applied is not None else None
        return None

    def layer_of(self, owner: cst.BaseExpression):
        """The activation layer class (``helpers.ActivationClass``) of an object, if known."""
        base = self.fact(owner)
        if base is None or base.kind != F.LAYER:
            return None
        return self.ctx.activation_classes[base.layer]

    def applied_layer(self, node: cst.BaseExpression):
        """(the object, its class) when ``node`` applies an activation layer to one argument:
        ``layer.forward(x)``, or ``layer(x)`` for a layer applied by ``__call__``."""
        if not isinstance(node, cst.Call) or len(node.args) != 1 or node.args[0].keyword:
            return None
        func = node.func
        owner, method = (
            (func.value, func.attr.value) if type(func) is cst.Attribute else (func, "__call__")
        )
        layer = self.layer_of(owner)
        return (owner, layer) if layer is not None and layer.method == method else None

    def layer_output(self, node: cst.Attribute):
        """The layer class when ``node`` reads the attribute an activation layer keeps its
        result in (``layer.output``)."""
        layer = self.layer_of(node.value)
        return layer if layer is not None and node.attr.value in layer.outputs else None

    def fact(self, node: cst.BaseExpression) -> Fact | None:
        kind = type(node)  # not isinstance: see names.dotted
        if kind is cst.Name or kind is cst.Attribute:
            key = key_of(node)
            if key is not None:
                fact = self.lookup(key)
                if fact is not None and fact.kind == F.STATE and fact.origin is None:
                    fact = fact.with_(origin=node)
                if fact is not None:
                    return fact
            if kind is cst.Attribute:
                if node.attr.value == "T":
                    return self.fact(node.value)
                layer = self.layer_output(node)
                return Fact(F.ACT, act=layer.act) if layer is not None else None
            return None
        if kind is cst.Subscript:
            return self._subscript(node)
        if kind is cst.Call:
            return self._call(node)
        if kind is cst.List and len(node.elements) <= 1:
            # [] starts a history; [h0] starts one with the initial state in front
            if not node.elements:
                return Fact(F.SEQ, container="list")
            return Fact(
                F.SEQ,
                container="list",
                convention=F.PREPENDED,
                elem=self.fact(node.elements[0].value),
            )
        if kind is cst.Tuple or kind is cst.List:
            items = tuple(
                _detached(self.fact(e.value)) if not isinstance(e, cst.StarredElement) else None
                for e in node.elements
            )
            return Fact(F.TUPLE, items=items)
        if kind is cst.Dict:
            if not node.elements:
                return Fact(F.SEQ, container="dict")
            first = node.elements[0]
            if isinstance(first, cst.DictElement) and affine(first.key) == Affine(None, -1):
                # {-1: h0}: a history keyed from -1 with its initial state
                return Fact(F.SEQ, container="dict", convention=F.FROM_MINUS_1)
            keys = []
            for element in node.elements:
                if isinstance(element, cst.DictElement):
                    text = string_key(element.key)
                    if text is not None:
                        keys.append((text, _detached(self.fact(element.value))))
            return Fact(F.DICT, keys=tuple(keys))
        if kind is cst.BinaryOperation:
            return self._binary(node)
        if kind is cst.ListComp:
            elem = self.fact(node.elt)
            if elem is not None and elem.kind == F.LAYER:  # one activation layer per step
                return Fact(F.SEQ, container="list", elem=elem)
            return None
        if kind is cst.IfExp:
            inner = FactReader(
                self.flow,
                self.scope,
                self.env,
                self.loop,
                self.guarded or self._mentions_loop(node.test),
            )
            body, other = inner.fact(node.body), inner.fact(node.orelse)
            return body if body is not None else other
        return None

    def _mentions_loop(self, test: cst.BaseExpression) -> bool:
        return bool(self.loop and self.loop.loop.var and mentions(test, self.loop.loop.var))

    def _subscript(self, node: cst.Subscript) -> Fact | None:
        key = key_of(node)
        if key is not None:
            fact = self.lookup(key)
            if fact is not None:
                return fact
            base = self.fact(node.value)
            if base is not None and base.kind == F.DICT:
                found = base.key(string_key(_index(node)))
                if found is not None and found.kind == F.STATE:
                    found = found.with_(origin=node)  # read here, from a cache dict
                return found
            return None
        base = self.fact(node.value)
        if base is None:
            return None
        if base.kind == F.SEQ:
            found = self._element(node, base)
            span = _segment(node) if found is not None and found.segments else None
            if span is not None:  # gates[t, :, H:2*H]: one gate out of a step's stacked gates
                return next(
                    (f for a, b, f in found.segments if a <= span[0] and span[1] <= b), None
                )
            return found
        if base.kind == F.TUPLE:
            index = _index(node)
            if isinstance(index, cst.Integer):
                return base.item(int(index.value))
            return None
        if base.segments:
            span = _segment(node)
            for start, end, fact in base.segments:
                if span is not None and start <= span[0] and span[1] <= end:
                    return fact
            return None
        if base.kind in (F.ACT, F.STATE, F.PROB, F.PRE):
            return base
        return None

    def _element(self, node: cst.Subscript, seq: Fact) -> Fact | None:
        elem = seq.elem
        if elem is None:
            return None
        if elem.kind != F.STATE:
            return elem
        index = _time_index(node, self.loop.loop if self.loop else None)
        if index is None:
            return elem.with_(step=None, origin=node)
        offset, _ = index
        if offset is None:
            return elem.with_(step=None, origin=node, wraps=False)
        shift = self.loop.shift if self.loop else None
        if shift is None or seq.convention is None:
            return elem.with_(step=None, origin=node)
        stored = offset - 1 if seq.convention == F.PREPENDED else offset
        elem = elem.with_(convention=seq.convention, container=seq.container)
        lowest = self.loop.loop.lowest
        wraps = (
            seq.container != "dict"
            and seq.convention != F.FROM_MINUS_1
            and lowest is not None
            and lowest + offset < 0
            and not self.guarded
        )
        return elem.with_(step=stored - shift, wraps=wraps, origin=node)

    def _call(self, node: cst.Call) -> Fact | None:
        name = dotted(node.func) or ""
        leaf = name.rsplit(".", 1)[-1]
        act = self.activation_call(node)
        if act is not None:
            return Fact(F.ACT, act=act, applied_to="c" if self.tanh_of_cell(node) else None)
        spec = self.helper(node)
        if spec is not None:
            if spec.act == "softmax":
                return Fact(F.PROB, safe=spec.clamped, stable=spec.stable, origin=node)
            if call_mode(node, spec) == "deriv":
                return Fact(F.DERIV, act=spec.act)
        if leaf == "softmax" and name.split(".")[0] not in self.ctx.functions:
            return Fact(F.PROB, safe=False, stable=True, origin=node)
        if leaf == "exp" and self._numpy(name):
            argument = node.args[0].value if node.args else None
            shifted = argument is not None and (
                _max_shifted(argument) or self._is_shifted(argument)
            )
            return Fact(F.EXP, stable=shifted, origin=node)
        if leaf in ("copy", "array", "asarray", "deepcopy", "list") and node.args:
            return self.fact(node.args[0].value)
        if isinstance(node.func, cst.Attribute) and leaf == "copy" and not node.args:
            return self.fact(node.func.value)
        if leaf in ("clip", "maximum") and self._numpy(name) and node.args:
            inner = self.fact(node.args[0].value)
            if inner is not None and inner.kind == F.PROB:
                return inner.with_(safe=True)
            return inner
        if leaf in ("zeros", "zeros_like", "empty", "empty_like", "ones", "full") and self._numpy(
            name
        ):
            return Fact(F.ZEROS)
        if name == "dict" and node.args and all(a.keyword is not None for a in node.args):
            # dict(h=h, c=c): a cache dict, as {"h": h, "c": c}
            keys = [(a.keyword.value, _detached(self.fact(a.value))) for a in node.args]
            return Fact(F.DICT, keys=tuple(keys))
        if leaf in ("vstack", "hstack", "concatenate", "row_stack", "column_stack") and node.args:
            parts = node.args[0].value
            if isinstance(parts, cst.Tuple | cst.List):
                segments = []
                for position, element in enumerate(parts.elements):
                    fact = self.fact(element.value)
                    if fact is not None:
                        segments.append((position, position + 1, fact))
                if segments:
                    return Fact(F.PRE, segments=tuple(segments))
            return None
        layer = self.ctx.activation_classes.get(name)
        if layer is not None:
            return Fact(F.LAYER, act=layer.act, layer=name)
        callee = self.flow.resolve(node.func, self.scope)
        if callee is not None:
            self.flow.versions.read(("returns", callee.name))
            return callee.returns
        return None

    def _is_shifted(self, node: cst.BaseExpression) -> bool:
        if f"shifted:{code_of(node)}" in self.env:  # ys[t] -= np.max(ys[t]) came before
            return True
        fact = self.fact(node)
        return fact is not None and fact.kind == F.SHIFTED

    def _numpy(self, name: str) -> bool:
        """A NumPy (or math) function: through ``np.``, an alias of numpy, or ``from numpy import``."""
        head = name.split(".")[0]
        target = self.ctx.aliases.get(head, head if head in ("np", "numpy", "math") else "")
        return target.split(".")[0] in ("np", "numpy", "math", "scipy", "cupy", "jax")

    def _binary(self, node: cst.BinaryOperation) -> Fact | None:
        op = node.operator
        left = self.fact(node.left)
        if (
            isinstance(op, cst.Divide)
            and left is not None
            and left.kind == F.EXP
            and _is_sum(node.right)
        ):
            return Fact(F.PROB, stable=left.stable, safe=False, origin=left.origin)
        if isinstance(op, cst.Subtract) and is_call_to(node.right, "max", "amax", "logsumexp"):
            return Fact(F.SHIFTED)
        if isinstance(op, cst.Subtract) and left is not None and left.kind == F.PROB:
            return Fact(F.PROB, safe=True, origin=None)  # y - onehot: the gradient of the logits
        if isinstance(op, cst.Add):
            right = self.fact(node.right)
            if left is not None and left.kind == F.PROB:
                return left.with_(safe=True)
            if right is not None and right.kind == F.PROB:
                return right.with_(safe=True)
        return None


def _stacked(node: cst.BaseExpression) -> bool:
    """``gates[t, :, H:3*H]``: a stretch of stacked gates (not the whole last axis)."""
    return isinstance(node, cst.Subscript) and _segment(node) not in (None, (0, 99))


def inline_sigmoid(node: cst.BinaryOperation) -> cst.BaseExpression | None:
    """The argument ``x`` of a sigmoid written out: ``1 / (1 + np.exp(-x))``."""
    if not isinstance(node.operator, cst.Divide) or not _is_one(node.left):
        return None
    total = node.right
    if not isinstance(total, cst.BinaryOperation) or not isinstance(total.operator, cst.Add):
        return None
    for one, exp in ((total.left, total.right), (total.right, total.left)):
        if (
            _is_one(one)
            and is_call_to(exp, "exp")
            and len(exp.args) == 1
            and isinstance(exp.args[0].value, cst.UnaryOperation)
            and isinstance(exp.args[0].value.operator, cst.Minus)
        ):
            return exp.args[0].value.expression
    return None


def _is_one(node: cst.BaseExpression) -> bool:
    if not isinstance(node, cst.Integer | cst.Float):
        return False
    try:
        return float(node.value) == 1.0
    except ValueError:  # 0x1, 1_0
        return False


def _is_max(node: cst.BaseExpression) -> bool:
    if (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value in ("max", "amax")
    ):
        return True
    return is_call_to(node, "max", "amax", "logsumexp")


def _is_sum(node: cst.BaseExpression) -> bool:
    """``np.sum(e)``, ``e.sum(...)`` or ``sum(e)``: the denominator of a softmax."""
    if (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "sum"
    ):
        return True
    return is_call_to(node, "sum", "nansum")


def _max_shifted(node: cst.BaseExpression) -> bool:
    """``v - np.max(v)`` or ``v - v.max(...)``: the exp cannot overflow."""
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Subtract):
        right = node.right
        if (
            isinstance(right, cst.Call)
            and isinstance(right.func, cst.Attribute)
            and right.func.attr.value in ("max", "amax")
        ):
            return True
        return is_call_to(right, "max", "amax", "logsumexp") or isinstance(
            right, cst.Name | cst.Subscript | cst.Attribute
        )
    return False
