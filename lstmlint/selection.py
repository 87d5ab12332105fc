"""Which codes a run reports: --select / --ignore by code, code prefix or rule name."""

from __future__ import annotations

from dataclasses import dataclass

from lstmlint.registry import READ_ERROR, SYNTAX_ERROR, all_rules


class SelectionError(ValueError):
    pass


def _known() -> dict[str, str]:
    table = {code: name for code, name, _ in (SYNTAX_ERROR, READ_ERROR)}
    table.update({rule.code: rule.name for rule in all_rules()})
    return table


def _matches(selector: str, code: str, name: str) -> bool:
    return code.startswith(selector.upper()) or selector.lower() == name


def validate(selectors: list[str]) -> None:
    known = _known()
    for selector in selectors:
        if selector.upper() == "ALL":
            continue
        if not any(_matches(selector, code, name) for code, name in known.items()):
            raise SelectionError(f"unknown rule code, prefix or name: {selector!r}")


@dataclass(frozen=True)
class Selection:
    select: tuple[str, ...] = ("ALL",)
    ignore: tuple[str, ...] = ()

    def enabled(self, code: str, name: str) -> bool:
        chosen = any(s.upper() == "ALL" or _matches(s, code, name) for s in self.select)
        return chosen and not any(_matches(s, code, name) for s in self.ignore)

    def rules(self):
        return [rule for rule in all_rules() if self.enabled(rule.code, rule.name)]
