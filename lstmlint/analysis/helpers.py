"""Activation helpers: which functions are sigmoid, tanh or softmax, and what their derivative mode expects.

The answer comes from interpreting each helper's body on sample inputs (see ``interp``), so
``s = sigmoid(x); return s * (1 - s)`` (expects the pre-activation) and ``return x * (1 - x)``
(expects the stored output) are told apart whatever the names or flags are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import libcst as cst
import numpy as np

from lstmlint.analysis.interp import Interpreter, Unknown, close
from lstmlint.analysis.names import dotted, self_attribute

SAMPLES = np.array([-1.7, -0.6, 0.25, 0.9, 2.2])
PRE, OUT = "pre", "out"
FLAG_HINTS = ("deriv", "grad", "backward", "prime", "diff")


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def dsigmoid(x):
    s = sigmoid(x)
    return s * (1 - s)


def dtanh(x):
    return 1 - np.tanh(x) ** 2


def softmax(x, axis):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


@dataclass(frozen=True)
class FunctionRef:
    node: cst.FunctionDef
    context: ModuleContext


@dataclass(frozen=True)
class HelperSpec:
    act: str  # "sigmoid", "tanh" or "softmax"
    flag: str | None = None  # the derivative flag parameter
    flag_index: int | None = None  # its position among the parameters (self excluded)
    expects: str | None = None  # what derivative mode expects: PRE or OUT
    derivative_only: bool = False  # dsigmoid(y) style: the function is the derivative
    stable: bool = True  # softmax: finite on large logits
    clamped: bool = False  # softmax: never exactly 0
    ref: FunctionRef | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ActivationClass:
    """A layer object that applies an activation (``Sigmoid().forward(x)``, then ``.output``)."""

    act: str  # "sigmoid" or "tanh"
    method: str  # the method that applies it
    outputs: frozenset[str]  # the attributes of ``self`` it leaves the result in
    returns: bool  # whether the method also returns the result


class ModuleContext:
    """One module's import aliases and top-level functions (and those it imports from siblings)."""

    def __init__(self, module: cst.Module, path: Path | None, loader: ModuleLoader) -> None:
        self.module = module
        self.path = path
        self.loader = loader
        self.aliases: dict[str, str] = {}
        self.functions: dict[str, FunctionRef] = {}
        self._imports: list[
            tuple[str, str | None, str, int]
        ] = []  # (module, name or None, alias, level)
        for statement in module.body:
            self._scan(statement)

    def _scan(self, statement: cst.CSTNode) -> None:
        if isinstance(statement, cst.FunctionDef):
            self.functions[statement.name.value] = FunctionRef(statement, self)
            return
        if isinstance(statement, cst.ClassDef):
            for item in statement.body.body:
                if isinstance(item, cst.FunctionDef):
                    self.functions.setdefault(
                        f"{statement.name.value}.{item.name.value}", FunctionRef(item, self)
                    )
            return
        if isinstance(statement, cst.If | cst.Try):
            for inner in statement.body.body:
                self._scan(inner)
            return
        if not isinstance(statement, cst.SimpleStatementLine):
            return
        for small in statement.body:
            lambda_def = _lambda_function(small)
            if lambda_def is not None:
                self.functions[lambda_def.name.value] = FunctionRef(lambda_def, self)
            elif isinstance(small, cst.Import):
                for alias in small.names:
                    full = dotted(alias.name) or ""
                    local = (
                        alias.asname.name.value
                        if alias.asname and isinstance(alias.asname.name, cst.Name)
                        else full.split(".")[0]
                    )
                    self.aliases[local] = full if alias.asname else local
                    self._imports.append((full, None, local, 0))
            elif isinstance(small, cst.ImportFrom):
                source = dotted(small.module) if small.module is not None else ""
                level = len(small.relative)
                if isinstance(small.names, cst.ImportStar):
                    self._imports.append((source or "", "*", "*", level))
                    continue
                for alias in small.names:
                    name = (
                        alias.name.value
                        if isinstance(alias.name, cst.Name)
                        else dotted(alias.name) or ""
                    )
                    local = (
                        alias.asname.name.value
                        if alias.asname and isinstance(alias.asname.name, cst.Name)
                        else name
                    )
                    if level == 0 and source:
                        self.aliases[local] = f"{source}.{name}"
                    self._imports.append((source or "", name, local, level))

    @cached_property
    def imported_functions(self) -> dict[str, FunctionRef]:
        """Functions this module takes from sibling modules of the same project, by local name."""
        found: dict[str, FunctionRef] = {}
        for source, name, local, level in self._imports:
            other = self.loader.load_sibling(self.path, source, level)
            if other is None:
                if name is None or name == "*":
                    continue
                other = self.loader.load_sibling(
                    self.path, f"{source}.{name}" if source else name, level
                )
                if other is not None and name is not None:
                    for fname, ref in other.functions.items():
                        found[f"{local}.{fname}"] = ref
                continue
            if name is None:
                for fname, ref in other.functions.items():
                    found[f"{local}.{fname}"] = ref
            elif name == "*":
                for fname, ref in other.functions.items():
                    found.setdefault(fname, ref)
            elif name in other.functions:
                found[local] = other.functions[name]
        return found

    @cached_property
    def all_functions(self) -> dict[str, FunctionRef]:
        merged = dict(self.imported_functions)
        merged.update(self.functions)
        return merged

    def interpreter(self, leaf=None) -> Interpreter:
        return Interpreter(self.aliases, leaf, self.all_functions)

    @cached_property
    def helpers(self) -> dict[str, HelperSpec]:
        specs = {}
        for name, ref in self.all_functions.items():
            spec = classify(ref)
            if spec is not None:
                specs[name] = spec
        return specs

    @cached_property
    def activation_classes(self) -> dict[str, ActivationClass]:
        """The classes whose method applies sigmoid or tanh to its one argument, by class name."""
        found: dict[str, ActivationClass] = {}
        for name, ref in self.functions.items():
            owner, _, method = name.partition(".")
            if method and "." not in method and owner not in found:
                applied = _activation_method(ref, method)
                if applied is not None:
                    found[owner] = applied
        return found


def _activation_method(ref: FunctionRef, method: str) -> ActivationClass | None:
    params = _params(ref.node)
    if method == "__init__" or len(params) != 1 or params[0].default is not None:
        return None
    plain = ref.node.visit(_SelfAsNames())
    returned = classify(FunctionRef(plain, ref.context))
    acts = {returned.act} if returned is not None and returned.flag is None else set()
    outputs = set()
    for attr in _self_assigned(ref.node):
        spec = classify(FunctionRef(_returning(plain, attr), ref.context))
        if spec is not None and spec.flag is None and not spec.derivative_only:
            acts.add(spec.act)
            outputs.add(attr)
    acts &= {"sigmoid", "tanh"}
    if len(acts) != 1:
        return None
    act = acts.pop()
    returns = returned is not None and returned.act == act
    return ActivationClass(act, method, frozenset(outputs), returns)


def _self_assigned(func: cst.FunctionDef) -> list[str]:
    """The attributes ``self.x = ...`` assigned at the top of a method's body."""
    if not isinstance(func.body, cst.IndentedBlock):
        return []
    lines = [s for s in func.body.body if isinstance(s, cst.SimpleStatementLine)]
    assigns = [small for line in lines for small in line.body if isinstance(small, cst.Assign)]
    names = [self_attribute(target.target) for small in assigns for target in small.targets]
    return [name for name in names if name]


class _SelfAsNames(cst.CSTTransformer):
    """``self.x`` as a plain name, so the interpreter can follow a method's stores."""

    def leave_Attribute(self, original, updated):
        attr = self_attribute(updated)
        return cst.Name(f"self__{attr}") if attr else updated


def _returning(plain: cst.FunctionDef, attr: str) -> cst.FunctionDef:
    """A method with ``self.x`` read as names, ending in ``return self.attr``."""
    ending = cst.SimpleStatementLine(body=[cst.Return(cst.Name(f"self__{attr}"))])
    return plain.with_changes(body=plain.body.with_changes(body=[*plain.body.body, ending]))


def _lambda_function(small: cst.BaseSmallStatement) -> cst.FunctionDef | None:
    """``sigmoid = lambda x: 1 / (1 + np.exp(-x))`` read as the ``def`` it stands for."""
    if (
        not isinstance(small, cst.Assign)
        or len(small.targets) != 1
        or not isinstance(small.targets[0].target, cst.Name)
        or not isinstance(small.value, cst.Lambda)
    ):
        return None
    body = cst.IndentedBlock(body=[cst.SimpleStatementLine(body=[cst.Return(small.value.body)])])
    return cst.FunctionDef(name=small.targets[0].target, params=small.value.params, body=body)


class ModuleLoader:
    """Parses sibling modules once per run of the model, for following ``from utils import sigmoid``."""

    def __init__(self) -> None:
        self._cache: dict[Path, ModuleContext | None] = {}

    def load_sibling(self, origin: Path | None, module: str, level: int) -> ModuleContext | None:
        if origin is None or not module:  # `from . import x` is looked up as module x
            return None
        base = origin.parent
        for _ in range(max(level - 1, 0)):
            base = base.parent
        relative = Path(*module.split(".")) if module else Path()
        for candidate in (base / relative.with_suffix(".py"), base / relative / "__init__.py"):
            if module and candidate.is_file():
                return self._load(candidate)
        return None

    def _load(self, path: Path) -> ModuleContext | None:
        path = path.resolve()
        if path not in self._cache:
            self._cache[path] = None  # guards against import cycles
            try:
                if path.stat().st_size > 2_000_000:
                    return None
                from lstmlint.sources import decode_python, normalise_newlines

                text = normalise_newlines(decode_python(path.read_bytes()))
                self._cache[path] = ModuleContext(cst.parse_module(text), path, self)
            except Exception:  # a sibling that cannot be read or parsed just isn't followed
                self._cache[path] = None
        return self._cache[path]


def _params(func: cst.FunctionDef) -> list[cst.Param]:
    params = list(func.params.params)
    if params and params[0].name.value in ("self", "cls"):
        params = params[1:]
    return params


def _flag(params: list[cst.Param]) -> tuple[str | None, int | None]:
    for index, param in enumerate(params[1:], start=1):
        default = param.default
        is_bool_default = isinstance(default, cst.Name) and default.value in ("False", "True")
        if is_bool_default or any(hint in param.name.value.lower() for hint in FLAG_HINTS):
            return param.name.value, index
    return None, None


def classify(ref: FunctionRef) -> HelperSpec | None:
    func = ref.node
    params = _params(func)
    if not params or len(params) > 4 or any(p.default is None for p in params[1:]):
        return None
    flag, flag_index = _flag(params)
    interp = Interpreter(ref.context.aliases, None, ref.context.all_functions)

    def run(x, **kwargs):
        interp.steps = 0
        try:
            return interp.apply(func, [x], kwargs)
        except (
            Unknown,
            ArithmeticError,
            ValueError,
            TypeError,
            IndexError,
            KeyError,
            RecursionError,
        ):
            return None

    value = run(SAMPLES.copy())
    act = (
        "sigmoid"
        if close(value, sigmoid(SAMPLES))
        else "tanh"
        if close(value, np.tanh(SAMPLES))
        else None
    )
    if act is not None:
        if flag is None:
            return HelperSpec(act, ref=ref)
        derived = run(SAMPLES.copy(), **{flag: True})
        if act == "sigmoid":
            expects = (
                PRE
                if close(derived, dsigmoid(SAMPLES))
                else OUT
                if close(derived, SAMPLES * (1 - SAMPLES))
                else None
            )
        else:
            expects = (
                PRE
                if close(derived, dtanh(SAMPLES))
                else OUT
                if close(derived, 1 - SAMPLES**2)
                else None
            )
        return HelperSpec(act, flag, flag_index, expects, ref=ref)
    if flag is None and len(params) == 1:
        for act_name, at_pre, at_out in (
            ("sigmoid", dsigmoid(SAMPLES), SAMPLES * (1 - SAMPLES)),
            ("tanh", dtanh(SAMPLES), 1 - SAMPLES**2),
        ):
            if close(value, at_pre):
                return HelperSpec(act_name, expects=PRE, derivative_only=True, ref=ref)
            if close(value, at_out):
                return HelperSpec(act_name, expects=OUT, derivative_only=True, ref=ref)
    return _classify_softmax(run, ref)


def _classify_softmax(run, ref: FunctionRef) -> HelperSpec | None:
    logits = np.array([0.5, -1.2, 2.0])
    for shape, axis in (((3, 1), 0), ((1, 3), 1), ((3,), 0)):
        value = run(logits.reshape(shape))
        if value is None or not close(value, softmax(logits.reshape(shape), axis)):
            continue
        big = run((logits + 1000.0).reshape(shape))
        stable = big is not None and close(big, softmax(logits.reshape(shape), axis), tol=1e-6)
        tiny = run(np.array([0.0, -800.0, -1600.0]).reshape(shape))
        with np.errstate(all="ignore"):
            clamped = tiny is not None and bool(np.all(np.asarray(tiny, dtype=float) > 0))
        return HelperSpec("softmax", stable=stable, clamped=clamped, ref=ref)
    return None


def call_mode(call: cst.Call, spec: HelperSpec) -> str | None:
    """ "act" or "deriv" for a call of a helper, or None when the flag's value is not a literal."""
    if spec.derivative_only:
        return "deriv"
    if spec.flag is None:
        return "act"
    flag_arg = None
    positional = [a for a in call.args if a.keyword is None]
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == spec.flag:
            flag_arg = arg.value
    if flag_arg is None and spec.flag_index is not None and len(positional) > spec.flag_index:
        flag_arg = positional[spec.flag_index].value
    if flag_arg is None:
        return "act"
    if isinstance(flag_arg, cst.Name) and flag_arg.value in ("True", "False"):
        return "deriv" if flag_arg.value == "True" else "act"
    if isinstance(flag_arg, cst.Integer):
        return "deriv" if flag_arg.value != "0" else "act"
    return None
