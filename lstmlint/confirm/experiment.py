"""Running one experiment spec against a reference model (this runs in the child process).

The user's expression is evaluated by lstmlint's own interpreter (arithmetic, NumPy functions
and the file's helpers, nothing else) with its names bound to the reference's values, and put
into the reference backward at the spec's slot. The gradient check then says whether that code
makes the gradients wrong, and whether the suggested fix makes them exact again.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import libcst as cst
import numpy as np

from lstmlint.analysis.helpers import ModuleContext, ModuleLoader
from lstmlint.analysis.interp import Interpreter, Unknown, bare_code
from lstmlint.gradcheck import Verdict, gradcheck
from lstmlint.reference import MODELS

VOCAB, HIDDEN, STEPS, SEED = 4, 3, 5, 7
SAMPLED_ENTRIES = 6  # per parameter: a bug moves most entries (gradcheck-recipe: 74-99 %)
HISTORIES = {
    "c": "cs",
    "h": "hs",
    "f": "fs",
    "i": "is_",
    "g": "gs",
    "o": "os_",
    "z": "zs",
    "r": "rs",
    "n": "ns",
    "p": "ps",
}
INITIAL = {"c": "c0", "h": "h0"}


class _ZeroDefault(dict):
    """A history dict whose missing steps read as zeros, as the defaultdict many such programs use."""

    def __missing__(self, key):
        return np.zeros_like(next(iter(self.values())))


class Unbound(Exception):
    """The experiment cannot be set up; the message is the reason shown to the user."""


def _context(spec: dict[str, Any]) -> ModuleContext:
    source = spec.get("file") or {}
    return _module_context(source.get("path"), source.get("text", ""))


@functools.lru_cache(maxsize=32)
def _module_context(path: str | None, text: str) -> ModuleContext:
    """One parse per file, however many of its findings are replayed."""
    return ModuleContext(cst.parse_module(text), Path(path) if path else None, ModuleLoader())


def _series(view, role: str, model: str) -> list[np.ndarray]:
    if model == "gru" and role == "z":
        return list(view.zs)
    values = getattr(view, HISTORIES[role], None)
    if values is None:
        raise Unbound(f"the reference {model.upper()} has no {role!r} history")
    return list(values)


def _value(view, role: str, step: int, model: str) -> np.ndarray:
    if role.startswith("a_") and step == 0:  # a stored pre-activation of this step
        value = getattr(view, role, None)
        if value is None:
            raise Unbound(f"the reference {model.upper()} has no {role!r}")
        return value
    index = view.t + step
    if index < 0:
        initial = getattr(view, INITIAL.get(role, ""), None)
        if initial is None:
            raise Unbound(f"no initial value for {role!r}")
        return initial
    return _series(view, role, model)[index]


def _history(view, spec: dict[str, Any], model: str):
    role, convention, container = spec["history"], spec["convention"], spec.get("container", "list")
    values = _series(view, role, model)
    initial = getattr(view, INITIAL.get(role, ""), None)
    if convention == "prepended":
        if initial is None:
            raise Unbound(f"no initial value for {role!r}")
        values = [initial, *values]
    if convention == "from_minus_1":
        table = _ZeroDefault(enumerate(values))
        if initial is not None:
            table[-1] = initial
        return table
    return np.stack(values) if container == "array" else values


def _environment(view, spec: dict[str, Any], model: str) -> dict[str, Any]:
    env: dict[str, Any] = {}
    for name, binding in spec.get("bind", {}).items():
        if "index" in binding:
            env[name] = view.t - binding["index"]
        elif "gradient" in binding:
            env[name] = getattr(view, binding["gradient"])
        elif "history" in binding:
            env[name] = _history(view, binding, model)
        else:
            env[name] = _value(view, binding["value"], binding["step"], model)
    return env


def evaluate(context: ModuleContext, expr: str, env: dict[str, Any], leaves: dict[str, Any]) -> Any:
    def leaf(node: cst.BaseExpression) -> Any:
        text = bare_code(node)
        if text in leaves:
            return leaves[text]
        raise Unknown(f"no value for `{text}`")

    interpreter = Interpreter(context.aliases, leaf, context.all_functions, known=leaves)
    return interpreter.eval(_parsed(expr), env)


@functools.lru_cache(maxsize=256)
def _parsed(expr: str) -> cst.BaseExpression:
    return cst.parse_expression(expr)


def _slot_hook(context: ModuleContext, spec: dict[str, Any], expr: str, model: str):
    def hook(view) -> np.ndarray:
        env = _environment(view, spec, model)
        leaves = {
            text: _value(view, b["value"], b["step"], model)
            for text, b in spec.get("leaves", {}).items()
        }
        with np.errstate(all="ignore"):
            return np.asarray(evaluate(context, expr, env, leaves), dtype=np.float64)

    return hook


def _constant_hook(slot: str, value: str):
    def hook(view) -> np.ndarray:
        if value == "dc":
            return view.dc
        if value == "carried":  # the incoming cell gradient alone, without the hidden path
            return view.dc_next * view.f
        if value == "untransposed":  # the recurrent weight as the forward multiplies it
            return _untransposed(view)
        like = view.dc if slot == "carry_c" else view.h
        return np.zeros_like(like) if value == "zeros" else np.ones_like(like)

    return hook


def _untransposed(view) -> np.ndarray:
    """The previous state's gradient with the recurrent weight left untransposed."""
    if view.f is not None:  # LSTM: the hidden part of each gate's matrix over [h_prev; x]
        hidden = view.h.shape[0]
        return sum(view.weights[f"W_{g}"][:, :hidden] @ view.dpre[g] for g in "figo")
    if view.r is None:  # vanilla RNN
        return view.weights["W_hh"] @ view.dpre["h"]
    raise Unbound("the reference GRU's recurrent products are not replayed untransposed")


def _problem(model: str):
    module = MODELS[model]
    rng = np.random.default_rng(SEED)
    params = module.init_params(VOCAB, HIDDEN, SEED)
    inputs = [int(v) for v in rng.integers(0, VOCAB, STEPS)]
    targets = [int(v) for v in rng.integers(0, VOCAB, STEPS)]
    # non-zero initial states, so that reading the initial state where a step's state belongs shows
    h0 = rng.normal(0, 0.5, (HIDDEN, 1))
    c0 = rng.normal(0, 0.5, (HIDDEN, 1))
    return module, params, inputs, targets, h0, c0


def _check(model: str, hooks: dict | None = None, loss_term=None):
    module, params, inputs, targets, h0, c0 = _problem(model)
    return gradcheck(
        lambda p: module.loss(p, inputs, targets, h0, c0, loss_term=loss_term),
        lambda p: module.backward(p, module.forward(p, inputs, h0, c0), targets, hooks),
        params,
        max_entries=SAMPLED_ENTRIES,
        steps=(1e-5, 1e-4),  # a wrong gradient fails at both; the third retry only costs time
    )


def _evidence(before, after) -> list[dict[str, Any]]:
    fixed = {r.name: r.max_rel_error for r in after.results} if after is not None else {}
    worst = sorted(before.results, key=lambda r: -r.max_rel_error)[:3]
    return [
        {
            "param": r.name,
            "error": float(r.max_rel_error),
            "fixed_error": float(fixed[r.name]) if r.name in fixed else None,
        }
        for r in worst
        if r.verdict is not Verdict.PASS
    ]


def _verdict(before, after) -> dict[str, Any]:
    if before.verdict is Verdict.PASS:
        return {
            "status": "refuted",
            "method": "reference",
            "reason": "in context this code gives exact gradients",
            "evidence": [],
        }
    evidence = _evidence(before, after)
    if before.verdict is Verdict.FAIL and after is not None and after.verdict is Verdict.PASS:
        return {"status": "confirmed", "method": "reference", "reason": None, "evidence": evidence}
    reason = (
        "the gradient check was inconclusive"
        if before.verdict is Verdict.INCONCLUSIVE
        else "the suggested fix did not make the gradients exact"
    )
    return {"status": "unconfirmed", "method": "reference", "reason": reason, "evidence": evidence}


def run(spec: dict[str, Any]) -> dict[str, Any]:
    kind = spec["kind"]
    if kind == "slot":
        model, context = spec["model"], _context(spec)
        before = _check(model, {spec["slot"]: _slot_hook(context, spec, spec["expr"], model)})
        if before.verdict is Verdict.PASS:
            return _verdict(before, None)
        if spec["fix"] is None:  # the fix is what the reference itself computes there
            return _verdict(before, _check(model))
        after = _check(model, {spec["slot"]: _slot_hook(context, spec, spec["fix"], model)})
        return _verdict(before, after)
    if kind == "constant":
        before = _check(spec["model"], {spec["slot"]: _constant_hook(spec["slot"], spec["value"])})
        verdict = _verdict(before, _check(spec["model"]))
        if spec.get("read_only") and verdict["status"] == "confirmed":
            return _cost_only(spec["model"], verdict)
        return verdict
    if kind == "loss":
        context = _context(spec)
        sign = spec.get("sign", 1.0)

        def term(p, y):
            leaves = {text: (p if b["value"] == "p" else y) for text, b in spec["leaves"].items()}
            return float(sign * evaluate(context, spec["expr"], {}, leaves))

        return _verdict(_check(spec["model"], loss_term=term), _check(spec["model"]))
    if kind in ("log-probe", "softmax-probe"):
        return _probe(spec)
    raise Unbound(f"unknown experiment {kind!r}")


def _cost_only(model: str, verdict: dict[str, Any]) -> dict[str, Any]:
    """A claim that something is missing which only the analysis's reading makes: the
    reference shows what it would cost, but no code of the user's took part, so it proves
    nothing about that code."""
    worst = verdict["evidence"][0] if verdict["evidence"] else None
    cost = f" (d{worst['param']} rel. error {worst['error']:.1e})" if worst else ""
    return {
        "status": "unconfirmed",
        "method": "reference",
        "reason": f"the reference {model.upper()} shows what this mistake costs{cost}, but "
        "none of your code is replayed, so whether your code makes it rests on reading it "
        "alone",
        "evidence": verdict["evidence"],
    }


def _probe(spec: dict[str, Any]) -> dict[str, Any]:
    context = _context(spec)
    if spec["kind"] == "log-probe":
        value = np.array([[0.0], [0.25], [0.75]])  # a probability of exactly 0
        what = "a probability of exactly 0"
    else:
        value = np.array([[1000.0], [1.0], [0.0]])  # logits of a confident model
        what = "logits of 1000"
    leaves = {text: value for text in spec["leaves"]}
    env = {name: value for name in spec.get("free", [])}
    with np.errstate(all="ignore"):
        before = np.asarray(evaluate(context, spec["expr"], env, leaves), dtype=np.float64)
        after = np.asarray(evaluate(context, spec["fix"], env, leaves), dtype=np.float64)
    if np.all(np.isfinite(before)):
        return {
            "status": "refuted",
            "method": "probe",
            "reason": f"finite on {what}",
            "evidence": [],
        }
    bad = "NaN" if np.any(np.isnan(before)) else "inf"
    status = "confirmed" if np.all(np.isfinite(after)) else "unconfirmed"
    reason = None if status == "confirmed" else "the suggested fix is not finite either"
    evidence = [
        {
            "probe": what,
            "result": bad,
            "fixed_result": "finite" if status == "confirmed" else "not finite",
        }
    ]
    return {"status": status, "method": "probe", "reason": reason, "evidence": evidence}


__all__ = ["Unbound", "run"]
