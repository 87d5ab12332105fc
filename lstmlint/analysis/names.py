"""Small helpers for naming expressions: dotted call names and keys for values that flow."""

from __future__ import annotations

import libcst as cst


def dotted(node: cst.BaseExpression) -> str | None:
    """``np.tanh`` for an attribute chain of names, ``sigmoid`` for a name, else None."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr.value}" if base else None
    return None


def string_key(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def key_of(node: cst.BaseExpression) -> str | None:
    """A stable key for a storage location: ``h``, ``self.hs``, ``cache['h']``, ``self.params['Wf']``."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = key_of(node.value)
        return f"{base}.{node.attr.value}" if base else None
    if isinstance(node, cst.Subscript) and len(node.slice) == 1:
        element = node.slice[0].slice
        if isinstance(element, cst.Index):
            text = string_key(element.value)
            base = key_of(node.value)
            if text is not None and base:
                return f"{base}[{text!r}]"
    return None


def last_name(key: str | None) -> str | None:
    """The final component of a key: ``bf`` for ``self.params['bf']``, ``b_f`` for ``b_f``."""
    if not key:
        return None
    if key.endswith("]"):
        inner = key[key.rfind("[") + 1 : -1]
        return inner.strip("'\"")
    return key.rsplit(".", 1)[-1]


def code_of(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)
