"""Where nodes sit in the text, from as little generated code as possible.

libcst finds positions by generating the code of a whole module while tracking every node,
which costs more than the analysis of a small file. A finding sits in one statement, so its
position is tracked in the smallest piece of code that holds it, generated alone at its own
indentation: the simple statement line around it (a line or two), else its top-level
statement. Python's own parser says where that piece starts; the piece's own first and last
line and its indentation are checked against it, and the whole module is tracked only when
they do not agree.
"""

from __future__ import annotations

import ast
import warnings
from functools import cached_property

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from lstmlint.analysis.names import nodes_of, walk
from lstmlint.diagnostics import Span
from lstmlint.pytree import python_tree

# where Python's parser puts a statement: first line, last line, column of its first character
_Where = tuple[int, int, int]


class Positions:
    def __init__(self, module: cst.Module, code: str) -> None:
        self.module = module
        self.code = code  # the text libcst parsed
        self._pieces: dict[int, dict[cst.CSTNode, CodeRange] | None] = {}

    def span(self, node: cst.CSTNode) -> Span:
        for root in (self._line_of.get(id(node)), self._statement_of.get(id(node))):
            found = self._in_piece(root, node) if root is not None else None
            if found is not None:
                return found
        position = self._whole.get(node)
        if position is None:
            return Span(1, 1, 1, 1)
        return Span(
            position.start.line,
            position.start.column + 1,
            position.end.line,
            position.end.column + 1,
        )

    def _in_piece(self, root: cst.CSTNode, node: cst.CSTNode) -> Span | None:
        """``node``'s span from the code of ``root`` alone, or None when it cannot be vouched for."""
        where = self._lines.get(id(root))
        positions = self._piece(root, where[2]) if where is not None else None
        if positions is None:
            return None
        first, last, indent = where
        alone = positions[root]
        shift = first - alone.start.line
        if alone.end.line + shift != last or alone.start.column != indent:
            return None
        position = positions.get(node)
        if position is None:
            return None
        return Span(
            position.start.line + shift,
            position.start.column + 1,
            position.end.line + shift,
            position.end.column + 1,
        )

    def _piece(self, root: cst.CSTNode, indent: int) -> dict[cst.CSTNode, CodeRange] | None:
        if id(root) not in self._pieces:
            # leading comments and blank lines stay out, so the piece starts with the statement
            bare = root.with_changes(leading_lines=())
            piece = self._module_of([bare])
            if indent:
                # inside a block, so that continuation lines that follow the block's indentation
                # get it (libcst keeps their whitespace relative to it)
                prefix = self._text_lines[self._lines[id(root)][0] - 1][:indent]
                if prefix.strip():
                    self._pieces[id(root)] = None
                    return None
                block = cst.IndentedBlock(body=[bare], indent=prefix)
                piece = self._module_of([cst.If(test=cst.Name("_"), body=block)])
            computed = _positions(piece)
            computed[root] = computed.pop(bare)
            self._pieces[id(root)] = computed
        return self._pieces[id(root)]

    def _module_of(self, body: list[cst.BaseStatement]) -> cst.Module:
        """A module of ``body`` alone, with the file's default indentation and line ending."""
        return self.module.with_changes(body=body, header=(), footer=())

    @cached_property
    def _text_lines(self) -> list[str]:
        return self.code.split("\n")

    @cached_property
    def _whole(self) -> dict[cst.CSTNode, CodeRange]:
        return _positions(self.module)

    @cached_property
    def _statement_of(self) -> dict[int, cst.CSTNode]:
        """The top-level statement around each node."""
        return {id(n): statement for statement in self.module.body for n in walk(statement)}

    @cached_property
    def _line_of(self) -> dict[int, cst.CSTNode]:
        """The simple statement line around each node that has one (these never nest)."""
        return {
            id(n): line
            for line in nodes_of(self.module, cst.SimpleStatementLine)
            for n in walk(line)
        }

    @cached_property
    def _lines(self) -> dict[int, _Where]:
        """Where Python's parser puts each statement it pairs up with one of libcst's."""
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # SyntaxWarnings are not ours to print
                body = python_tree(self.code).body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return {}
        found: dict[int, _Where] = {}
        _pair(self.module.body, body, found)
        return found


def _pair(statements, nodes: list[ast.stmt], found: dict[int, _Where]) -> None:
    """Pairs libcst's statements with ``ast``'s: a simple statement line holds as many of
    Python's statements as it has small statements, a compound statement is one."""
    position = 0
    for statement in statements:
        count = len(statement.body) if type(statement) is cst.SimpleStatementLine else 1
        group = nodes[position : position + count]
        if len(group) != count:
            return
        first, last = group[0], group[-1]
        found[id(statement)] = (first.lineno, last.end_lineno or last.lineno, first.col_offset)
        for inner, inner_nodes in _blocks(statement, first):
            _pair(inner, inner_nodes, found)
        position += count


def _blocks(statement: cst.CSTNode, node: ast.stmt):
    """The indented blocks of a compound statement, each with the statements ``ast`` sees there."""
    pairs = []
    body = getattr(statement, "body", None)
    if isinstance(body, cst.IndentedBlock) and isinstance(getattr(node, "body", None), list):
        pairs.append((body.body, node.body))
    orelse = getattr(statement, "orelse", None)
    if type(statement) is cst.If and type(orelse) is cst.If:  # elif: ast nests it in orelse
        pairs.append(([orelse], node.orelse))
    elif orelse is not None and isinstance(orelse.body, cst.IndentedBlock):
        pairs.append((orelse.body.body, getattr(node, "orelse", [])))
    if type(statement) is cst.Try and isinstance(node, ast.Try):
        for handler, handled in zip(statement.handlers, node.handlers, strict=False):
            if isinstance(handler.body, cst.IndentedBlock):
                pairs.append((handler.body.body, handled.body))
        final = statement.finalbody
        if final is not None and isinstance(final.body, cst.IndentedBlock):
            pairs.append((final.body.body, node.finalbody))
    return pairs


def _positions(module: cst.Module) -> dict[cst.CSTNode, CodeRange]:
    """Where each node of ``module`` sits. ``MetadataWrapper.resolve`` would also visit (and so
    rebuild) the whole tree for the batched providers, of which there are none here: the
    provider is asked directly, and the wrapper is used only if libcst's internals differ."""
    try:
        provider = PositionProvider()
        provider._gen_impl(module)
        return provider._computed
    except (AttributeError, TypeError):
        return dict(MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider))
