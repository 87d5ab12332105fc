"""The built-in rules, found in the ``lstmlint.rules`` package, one module per rule."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from lstmlint.rule import Rule

SYNTAX_ERROR = ("LST000", "syntax-error", "The file (or a notebook cell) does not parse.")
READ_ERROR = (
    "LST001",
    "unreadable-file",
    "The file cannot be read as Python source or as a notebook.",
)
UNUSED_NOQA = (
    "LST002",
    "unused-noqa",
    "A `# noqa: LST...` comment names a code that suppresses nothing there, or no such code.",
)


@cache
def all_rules() -> tuple[type[Rule], ...]:
    import lstmlint.rules as package

    found = []
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Rule)
                and value is not Rule
                and value.__module__ == module.__name__
            ):
                found.append(value)
    return tuple(sorted(found, key=lambda rule: rule.code))


def rule_by_code(code: str) -> type[Rule] | None:
    wanted = code.strip().upper()
    for rule in all_rules():
        if rule.code == wanted or rule.name == code.strip().lower():
            return rule
    return None
