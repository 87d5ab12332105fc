"""A tiny numeric interpreter for arithmetic expressions and activation helpers.

It never runs user code: it walks the syntax tree itself and knows only arithmetic, comparisons,
``if``/``return`` and a fixed table of NumPy/math functions. Anything else raises ``Unknown``.
That is enough to learn what ``sigmoid(x, derivative=True)`` computes, or what
``f[t] * (1 - f[t])`` is as a function of the gate's pre-activation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import libcst as cst
import numpy as np

from lstmlint.analysis.names import code_of, dotted

MAX_STEPS = 400


class Unknown(Exception):
    """The expression uses something the interpreter does not know."""


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _clip(x, lo=None, hi=None, *args, **kwargs):
    return np.clip(x, lo, hi)


def _reduce(func):
    def apply(x, axis=None, keepdims=False, **_):
        return func(np.asarray(x), axis=axis, keepdims=keepdims)

    return apply


NUMPY_FUNCTIONS: dict[str, Callable] = {
    "exp": np.exp,
    "tanh": np.tanh,
    "log": np.log,
    "sqrt": np.sqrt,
    "square": np.square,
    "power": np.power,
    "multiply": np.multiply,
    "add": np.add,
    "subtract": np.subtract,
    "divide": np.divide,
    "true_divide": np.divide,
    "abs": np.abs,
    "absolute": np.abs,
    "maximum": np.maximum,
    "minimum": np.minimum,
    "clip": _clip,
    "copy": np.copy,
    "array": np.asarray,
    "asarray": np.asarray,
    "ones_like": np.ones_like,
    "zeros_like": np.zeros_like,
    "empty_like": np.zeros_like,  # helpers fill every entry before reading it
    "negative": np.negative,
    "reciprocal": np.reciprocal,
    "sum": _reduce(np.sum),
    "max": _reduce(np.max),
    "amax": _reduce(np.amax),
    "min": _reduce(np.min),
    "mean": _reduce(np.mean),
    "cosh": np.cosh,
    "sinh": np.sinh,
    "log1p": np.log1p,
    "expm1": np.expm1,
    "expit": _sigmoid,
    "float64": np.float64,
    "float32": np.float64,
    "sign": np.sign,
    "where": np.where,
    "logaddexp": np.logaddexp,
    "exp2": np.exp2,
}
MATH_FUNCTIONS: dict[str, Callable] = {
    "exp": np.exp,
    "tanh": np.tanh,
    "log": np.log,
    "sqrt": np.sqrt,
}
NUMPY_MODULES = {"np", "numpy", "onp", "jnp", "cp", "xp"}
NUMPY_SUBMODULES = {"special", "scipy.special", "math"}


def numpy_function(name: str | None, aliases: Mapping[str, str]) -> Callable | None:
    """The NumPy/math function a dotted call name denotes, given the module's import aliases."""
    if not name:
        return None
    head, _, rest = name.partition(".")
    target = aliases.get(head, head)
    full = f"{target}.{rest}" if rest else target
    parts = full.split(".")
    if len(parts) >= 2 and parts[0] in NUMPY_MODULES | {"numpy", "scipy", "math"}:
        leaf = parts[-1]
        if parts[0] == "math":
            return MATH_FUNCTIONS.get(leaf)
        return NUMPY_FUNCTIONS.get(leaf)
    if len(parts) == 1 and full != name:  # from numpy import exp
        return NUMPY_FUNCTIONS.get(full.rsplit(".", 1)[-1])
    return None


class _Return(Exception):
    def __init__(self, value: Any) -> None:
        self.value = value


class Interpreter:
    """Evaluates expressions; ``leaf`` resolves names it cannot bind, ``call`` resolves user helpers."""

    def __init__(
        self,
        aliases: Mapping[str, str],
        leaf: Callable[[cst.BaseExpression], Any] | None = None,
        functions: Mapping[str, Any] | None = None,
        known: Mapping[str, Any] | None = None,
    ) -> None:
        self.aliases = aliases
        self.leaf = leaf
        self.functions = functions or {}
        self.known = known or {}  # values for whole subexpressions, by their source text
        self.steps = 0
        self.depth = 0

    # expressions -------------------------------------------------------------------------
    def eval(self, node: cst.BaseExpression, env: dict[str, Any] | None = None) -> Any:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise Unknown("too long")
        env = env if env is not None else {}
        if self.known and not isinstance(node, cst.Integer | cst.Float):
            text = bare_code(node)
            if text in self.known:
                return self.known[text]
        if isinstance(node, cst.Integer):
            return int(node.evaluated_value)
        if isinstance(node, cst.Float):
            return float(node.evaluated_value)
        if isinstance(node, cst.Name):
            if node.value in env:
                return env[node.value]
            if node.value in ("True", "False"):
                return node.value == "True"
            if node.value == "None":
                return None
            return self._leaf(node)
        if isinstance(node, cst.UnaryOperation):
            value = self.eval(node.expression, env)
            if isinstance(node.operator, cst.Minus):
                return -value
            if isinstance(node.operator, cst.Plus):
                return value
            if isinstance(node.operator, cst.Not):
                return not value
            if (
                isinstance(node.operator, cst.BitInvert)
                and isinstance(value, np.ndarray)
                and value.dtype == bool
            ):
                return ~value  # the complement of a mask
            raise Unknown("unary")
        if isinstance(node, cst.BinaryOperation):
            return self._binary(node, env)
        if isinstance(node, cst.Call):
            return self._call(node, env)
        if isinstance(node, cst.Attribute):
            if node.attr.value == "T":
                return self.eval(node.value, env)
            return self._leaf(node)
        if isinstance(node, cst.IfExp):
            return self.eval(node.body if self.eval(node.test, env) else node.orelse, env)
        if isinstance(node, cst.Comparison):
            return self._compare(node, env)
        if isinstance(node, cst.BooleanOperation):
            left = self.eval(node.left, env)
            if isinstance(node.operator, cst.And):
                return left and self.eval(node.right, env)
            return left or self.eval(node.right, env)
        if isinstance(node, cst.Subscript):
            if isinstance(node.value, cst.Name) and node.value.value in env:
                return self._index(env[node.value.value], node, env)
            return self._leaf(node)
        raise Unknown(type(node).__name__)

    def _index(self, base: Any, node: cst.Subscript, env: dict[str, Any]) -> Any:
        """``x[mask]`` and ``x[i]`` on an array the interpreter computed itself (masked helpers)."""
        if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
            raise Unknown("slice")
        index = self.eval(node.slice[0].slice.value, env)
        if isinstance(base, dict | list):  # a history as the user's code keeps it
            try:
                return base[int(index)]
            except (KeyError, IndexError, TypeError, ValueError) as exc:
                raise Unknown(f"index {index!r}: {exc.__class__.__name__}") from None
        try:
            return np.asarray(base)[index]
        except (IndexError, TypeError, ValueError) as exc:
            raise Unknown(str(exc)) from None

    def _leaf(self, node: cst.BaseExpression) -> Any:
        if self.leaf is None:
            raise Unknown("free name")
        return self.leaf(node)

    def _binary(self, node: cst.BinaryOperation, env: dict[str, Any]) -> Any:
        left, right = self.eval(node.left, env), self.eval(node.right, env)
        op = node.operator
        with np.errstate(all="ignore"):
            if isinstance(op, cst.Add):
                return left + right
            if isinstance(op, cst.Subtract):
                return left - right
            if isinstance(op, cst.Multiply | cst.MatrixMultiply):
                return left * right
            if isinstance(op, cst.Divide):
                return np.divide(left, right)
            if isinstance(op, cst.Power):
                return np.power(left, right)
        raise Unknown("operator")

    def _compare(self, node: cst.Comparison, env: dict[str, Any]) -> Any:
        left = self.eval(node.left, env)
        for target in node.comparisons:
            right = self.eval(target.comparator, env)
            op = target.operator
            if isinstance(op, cst.Is | cst.Equal):
                ok = left is right if isinstance(op, cst.Is) else left == right
            elif isinstance(op, cst.IsNot | cst.NotEqual):
                ok = left is not right if isinstance(op, cst.IsNot) else left != right
            elif isinstance(
                op, cst.LessThan | cst.GreaterThan | cst.LessThanEqual | cst.GreaterThanEqual
            ):
                ordering = {
                    cst.LessThan: np.less,
                    cst.GreaterThan: np.greater,
                    cst.LessThanEqual: np.less_equal,
                }
                ok = ordering.get(type(op), np.greater_equal)(left, right)
                if isinstance(ok, np.ndarray) and len(node.comparisons) == 1:
                    return ok  # a mask, as in sigmoid helpers that treat x >= 0 and x < 0 apart
                ok = bool(ok) if np.ndim(ok) == 0 else None
                if ok is None:
                    raise Unknown("array comparison")
            else:
                raise Unknown("comparison")
            if not isinstance(ok, bool):
                raise Unknown("array comparison")
            if not ok:
                return False
            left = right
        return True

    def _call(self, node: cst.Call, env: dict[str, Any]) -> Any:
        name = dotted(node.func)
        if isinstance(node.func, cst.Attribute) and node.func.attr.value in (
            "copy",
            "sum",
            "max",
            "mean",
        ):
            base_name = dotted(node.func.value)
            if base_name is None or numpy_function(name, self.aliases) is None:
                base = self.eval(node.func.value, env)
                kwargs = self._kwargs(node, env)
                method = node.func.attr.value
                if method == "copy":
                    return np.copy(base)
                return NUMPY_FUNCTIONS[method](base, **kwargs)
        func = numpy_function(name, self.aliases)
        if func is not None:
            args = [self.eval(a.value, env) for a in node.args if a.keyword is None and not a.star]
            kwargs = self._kwargs(node, env)
            with np.errstate(all="ignore"):
                try:
                    return func(*args, **kwargs)
                except (TypeError, ValueError) as exc:
                    raise Unknown(str(exc)) from None
        if name in self.functions:
            return self.call_function(self.functions[name], node, env)
        if self.leaf is not None:
            return self.leaf(node)
        raise Unknown(f"call {name}")

    def _kwargs(self, node: cst.Call, env: dict[str, Any]) -> dict[str, Any]:
        return {
            a.keyword.value: self.eval(a.value, env) for a in node.args if a.keyword is not None
        }

    # user helpers ------------------------------------------------------------------------
    def call_function(self, ref: Any, call: cst.Call, env: dict[str, Any]) -> Any:
        """Call a helper; ``ref`` has ``node`` and the ``context`` of the module that defines it."""
        args = [self.eval(a.value, env) for a in call.args if a.keyword is None and not a.star]
        kwargs = {
            a.keyword.value: self.eval(a.value, env) for a in call.args if a.keyword is not None
        }
        inner = Interpreter(ref.context.aliases, None, ref.context.all_functions)
        inner.steps, inner.depth = self.steps, self.depth + 1
        try:
            return inner.apply(ref.node, args, kwargs)
        finally:
            self.steps = inner.steps

    def apply(self, func: cst.FunctionDef, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if self.depth > 8:
            raise Unknown("recursion")
        params = [p for p in func.params.params]
        local: dict[str, Any] = {}
        positional = list(args)
        for param in params:
            pname = param.name.value
            if pname in ("self", "cls") and param is params[0]:
                continue
            if positional:
                local[pname] = positional.pop(0)
            elif pname in kwargs:
                local[pname] = kwargs[pname]
            elif param.default is not None:
                local[pname] = self.eval(param.default, {})
            else:
                raise Unknown("missing argument")
        for kw in func.params.kwonly_params:
            local[kw.name.value] = kwargs.get(
                kw.name.value, self.eval(kw.default, {}) if kw.default else None
            )
        self.depth += 1
        try:
            self._block(func.body, local)
        except _Return as ret:
            return ret.value
        finally:
            self.depth -= 1
        return None

    def _block(self, body: cst.BaseSuite, env: dict[str, Any]) -> None:
        if isinstance(body, cst.SimpleStatementSuite):
            for small in body.body:
                self._small(small, env)
            return
        for statement in body.body:
            self._statement(statement, env)

    def _statement(self, statement: cst.CSTNode, env: dict[str, Any]) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise Unknown("too long")
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                self._small(small, env)
        elif isinstance(statement, cst.If):
            test = self.eval(statement.test, env)
            if not isinstance(test, bool | np.bool_):
                raise Unknown("array condition")
            if test:
                self._block(statement.body, env)
            elif isinstance(statement.orelse, cst.If):
                self._statement(statement.orelse, env)
            elif isinstance(statement.orelse, cst.Else):
                self._block(statement.orelse.body, env)
        else:
            raise Unknown(type(statement).__name__)

    def _store(self, target: cst.Subscript, value: Any, env: dict[str, Any]) -> None:
        name = target.value.value
        if (
            name not in env
            or len(target.slice) != 1
            or not isinstance(target.slice[0].slice, cst.Index)
        ):
            raise Unknown("subscript assignment")
        index = self.eval(target.slice[0].slice.value, env)
        array = np.array(env[name], dtype=float, copy=True)
        try:
            array[index] = value
        except (IndexError, TypeError, ValueError) as exc:
            raise Unknown(str(exc)) from None
        env[name] = array

    def _small(self, small: cst.BaseSmallStatement, env: dict[str, Any]) -> None:
        if isinstance(small, cst.Return):
            raise _Return(self.eval(small.value, env) if small.value is not None else None)
        if isinstance(small, cst.Assign):
            value = self.eval(small.value, env)
            for target in small.targets:
                if isinstance(target.target, cst.Name):
                    env[target.target.value] = value
                elif isinstance(target.target, cst.Subscript) and isinstance(
                    target.target.value, cst.Name
                ):
                    self._store(target.target, value, env)
                else:
                    raise Unknown("assignment target")
            return
        if isinstance(small, cst.AugAssign) and isinstance(small.target, cst.Name):
            fake = cst.BinaryOperation(small.target, _AUG[type(small.operator)], small.value)
            env[small.target.value] = self._binary(fake, env)
            return
        if isinstance(small, cst.Expr) and isinstance(
            small.value, cst.SimpleString | cst.ConcatenatedString
        ):
            return
        if isinstance(small, cst.Pass):
            return
        raise Unknown(type(small).__name__)


_AUG = {
    cst.AddAssign: cst.Add(),
    cst.SubtractAssign: cst.Subtract(),
    cst.MultiplyAssign: cst.Multiply(),
    cst.DivideAssign: cst.Divide(),
    cst.PowerAssign: cst.Power(),
}


def bare_code(node: cst.CSTNode) -> str:
    """Source text of a node without its own enclosing parentheses."""
    if getattr(node, "lpar", None):
        node = node.with_changes(lpar=[], rpar=[])
    return code_of(node)


def close(a: Any, b: Any, tol: float = 1e-7) -> bool:
    try:
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    except (TypeError, ValueError):
        return False
    if a.shape != b.shape or not np.all(np.isfinite(a)) or not np.all(np.isfinite(b)):
        return False
    return bool(np.all(np.abs(a - b) <= tol * (1.0 + np.abs(b))))


__all__ = ["Interpreter", "Unknown", "close", "numpy_function"]
