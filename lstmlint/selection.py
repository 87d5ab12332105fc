"""Which codes a run reports: select / extend-select / ignore by code, code prefix or rule name.

A selection is a stack of layers (the configuration file, then the command line, then a
file's per-file-ignores). Each layer is applied in turn, like ruff's:

- ``select``, when the layer has one, starts afresh: only what it names is on;
- ``extend-select`` adds, ``ignore`` removes;
- within one layer the most specific selector decides (an exact code or a rule name beats a
  prefix, a longer prefix beats a shorter one, any of them beats ``ALL``); on a tie ``ignore``
  wins. So ``select = ["LST101"]`` with ``ignore = ["LST1"]`` keeps LST101.

Codes in ``OPT_IN`` (``LST002`` unused-noqa) are off unless a layer selects them: by code,
by a prefix such as ``LST0``, by name, or with ``ALL``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from lstmlint.registry import READ_ERROR, SYNTAX_ERROR, UNUSED_NOQA, all_rules

OPT_IN = frozenset({UNUSED_NOQA[0]})
BUILTIN = (SYNTAX_ERROR, READ_ERROR, UNUSED_NOQA)


class SelectionError(ValueError):
    pass


def known_codes() -> dict[str, str]:
    """Every code lstmlint can report, with its rule name."""
    table = {code: name for code, name, _ in BUILTIN}
    table.update({rule.code: rule.name for rule in all_rules()})
    return table


def _matches(selector: str, code: str, name: str) -> bool:
    return code.startswith(selector.upper()) or selector.lower() == name


def _specificity(selector: str, code: str, name: str) -> int | None:
    """How precisely ``selector`` names ``code`` (higher is more precise), or None."""
    if selector.upper() == "ALL":
        return 0
    if selector.lower() == name:
        return len(code)
    if code.startswith(selector.upper()):
        return len(selector)
    return None


def validate(selectors: list[str] | tuple[str, ...]) -> None:
    if not selectors:
        return  # nothing to check: the rules are not loaded (a plain run loads them lazily)
    known = known_codes()
    for selector in selectors:
        if not isinstance(selector, str) or not selector.strip():
            raise SelectionError(f"not a rule code, prefix or name: {selector!r}")
        if selector.upper() == "ALL":
            continue
        if not any(_matches(selector, code, name) for code, name in known.items()):
            raise SelectionError(f"unknown rule code, prefix or name: {selector!r}")


@dataclass(frozen=True)
class Layer:
    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()

    def apply(self, enabled: bool, code: str, name: str) -> bool:
        best: tuple[int, int] | None = None  # (specificity, 1 for ignore so that it wins ties)
        for selectors, is_ignore in (
            (self.select or (), 0),
            (self.extend_select, 0),
            (self.ignore, 1),
        ):
            for selector in selectors:
                rank = _specificity(selector, code, name)
                if rank is not None and (best is None or (rank, is_ignore) > best):
                    best = (rank, is_ignore)
        if best is None:
            return False if self.select is not None else enabled
        return best[1] == 0

    @property
    def selectors(self) -> tuple[str, ...]:
        return (*(self.select or ()), *self.extend_select, *self.ignore)


class Selection:
    """The rules a run (or one file) reports.

    ``Selection()`` is the default (every rule but the opt-in ones);
    ``Selection(select=("LST1",), ignore=("LST102",))`` is one layer; ``.then(layer)`` stacks
    another on top.
    """

    def __init__(
        self,
        select: tuple[str, ...] | list[str] | None = None,
        ignore: tuple[str, ...] | list[str] = (),
        extend_select: tuple[str, ...] | list[str] = (),
        *,
        layers: tuple[Layer, ...] | None = None,
    ) -> None:
        if layers is None:
            layers = (
                Layer(
                    tuple(select) if select is not None else None,
                    tuple(extend_select),
                    tuple(ignore),
                ),
            )
        self.layers = tuple(layers)

    def then(self, layer: Layer) -> Selection:
        if layer == Layer():
            return self
        return Selection(layers=(*self.layers, layer))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Selection) and other.layers == self.layers

    def __hash__(self) -> int:
        return hash(self.layers)

    def __repr__(self) -> str:
        return f"Selection(layers={self.layers!r})"

    def enabled(self, code: str, name: str) -> bool:
        return _enabled(self.layers, code, name)

    def enabled_codes(self) -> list[str]:
        return [code for code, name in sorted(known_codes().items()) if self.enabled(code, name)]

    def rules(self):
        return [rule for rule in all_rules() if self.enabled(rule.code, rule.name)]


@lru_cache(maxsize=4096)
def _enabled(layers: tuple[Layer, ...], code: str, name: str) -> bool:
    state = code not in OPT_IN
    for layer in layers:
        state = layer.apply(state, code, name)
    return state
