"""What of a user's file may run: its definitions and simple constants, never its top level.

A module is reduced to its imports, function and class definitions and assignments whose value
is a pure expression (literals, arithmetic, NumPy/math calls, earlier kept names); every other
top-level statement (a training loop, file reading, plotting, ``if __name__ == ...``) is blanked
out, line for line, so positions stay those of the original text. Imports of sibling modules
(``from utils import sigmoid``) are blanked too and recorded, so the child process can bind the
names from the sibling's own reduced module.

``unsafe_uses`` then says whether the code that would run, the definitions reachable from the
entry points, uses anything but NumPy, math and builtins without I/O.
"""

from __future__ import annotations

import ast
import builtins
import copy
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from lstmlint.pytree import python_tree

SAFE_MODULES = ("numpy", "math", "scipy.special", "functools", "itertools", "collections", "copy")
# importable, but no attribute of theirs may be used: several hold `sys`, `os` or `builtins`
HARMLESS_MODULES = ("__future__", "typing", "dataclasses")
# attributes of a module that lead to the operating system, whatever module holds them
FORBIDDEN_MODULE_ATTRIBUTES = {
    "os",
    "sys",
    "builtins",
    "subprocess",
    "shutil",
    "pathlib",
    "io",
    "ctypes",
    "importlib",
    "socket",
    "pickle",
}
FORBIDDEN_BUILTINS = {
    "open",
    "exec",
    "eval",
    "compile",
    "__import__",
    "input",
    "breakpoint",
    "exit",
    "quit",
    "globals",
    "locals",
    "vars",
    "memoryview",
    "help",
    "delattr",
}
# NumPy names that read or write files, or reach outside the process
FORBIDDEN_NUMPY = {
    "save",
    "savez",
    "savez_compressed",
    "savetxt",
    "load",
    "loadtxt",
    "genfromtxt",
    "fromfile",
    "tofile",
    "memmap",
    "fromregex",
    "DataSource",
    "dump",
    "dumps",
    "lib",
    "ctypeslib",
    "f2py",
    "distutils",
    "testing",
}
# what a frame, generator or traceback holds: the globals and builtins of running code
FRAME_ATTRIBUTES = {
    "f_builtins",
    "f_globals",
    "f_locals",
    "f_back",
    "f_code",
    "gi_frame",
    "gi_code",
    "cr_frame",
    "ag_frame",
    "tb_frame",
    "tb_next",
    "inspect",
}
# the submodules of an allowed module that code may name (np.random.randn); any other chain
# of two or more names (np.ma.core.inspect) walks into modules that hold the operating system
SUBMODULES_ALLOWED = {"linalg", "random", "fft", "emath", "special"}
UFUNC_METHODS = {"at", "reduce", "accumulate", "outer", "reduceat"}
PURE_BUILTINS = {
    name for name in dir(builtins) if not name.startswith("_") and name not in FORBIDDEN_BUILTINS
}


@dataclass
class Reduced:
    """A module reduced to what may run."""

    text: str  # the original text with every dropped top-level statement blanked
    defined: dict[str, ast.AST] = field(default_factory=dict)  # top-level name -> its statement
    siblings: list[tuple[str, str | None, str]] = field(default_factory=list)  # module, name, as
    safe_aliases: set[str] = field(default_factory=set)  # names bound to NumPy, math, ...
    other_imports: dict[str, str] = field(default_factory=dict)  # name -> module, not allowed
    tree: ast.Module | None = None  # the kept statements: what the child process executes
    stand_ins: list[str] = field(default_factory=list)  # helpers of STAND_IN_HELPERS put in
    star_modules: list[str] = field(default_factory=list)  # `from M import *`, every M
    module: ast.Module | None = None  # the whole module as parsed: where its own calls are read


def _module_allowed(module: str) -> bool:
    if any(part in FORBIDDEN_NUMPY for part in module.split(".")[1:]):
        return False  # numpy.f2py, numpy.lib.format, numpy.ctypeslib, ...
    return any(module == m or module.startswith(m + ".") for m in SAFE_MODULES + HARMLESS_MODULES)


ANCESTORS_SEARCHED = 3  # a package root this far above the file: `common/` beside `ch05/`


def sibling_file(module: str, folder: Path | None) -> Path | None:
    """The file of the user's own module ``module`` (leading dots for a relative import), or
    None. An absolute import is looked for beside the file and then in the folders above it,
    as a script run from the project's root, or with `sys.path.append('..')`, finds it."""
    name = module.lstrip(".")
    if folder is None or not name:
        return None
    level = len(module) - len(name)
    if level:
        bases = [folder.parents[level - 2] if level > 1 else folder]
    else:
        bases = [folder, *list(folder.parents)[:ANCESTORS_SEARCHED]]
    relative = Path(*name.split("."))
    for base in bases:
        for candidate in (base / relative.with_suffix(".py"), base / relative / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


def _pure(node: ast.AST, known: set[str]) -> bool:
    """Whether an expression only combines literals, known names, builtins and NumPy/math.
    It may call the module's own functions: ``loaded_unsafe`` checks what those reach."""
    for sub in ast.walk(node):
        if isinstance(sub, (ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr)):
            return False
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load):
            if (
                sub.id not in known
                and sub.id not in PURE_BUILTINS
                and not _comprehension_var(node, sub.id)
            ):
                return False
        if isinstance(sub, ast.Attribute) and (
            sub.attr.startswith("_")
            or sub.attr in FORBIDDEN_NUMPY
            or sub.attr in FORBIDDEN_MODULE_ATTRIBUTES
        ):
            return False
    return True


def _comprehension_var(node: ast.AST, name: str) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.comprehension):
            for target in ast.walk(sub.target):
                if isinstance(target, ast.Name) and target.id == name:
                    return True
        if isinstance(sub, ast.Lambda) and name in {a.arg for a in sub.args.args}:
            return True
    return False


STAND_IN_SIZE = 5
DYNAMIC_ATTRIBUTES = ("getattr", "setattr", "hasattr")


def _plain_attribute(node: ast.AST | None) -> bool:
    """An attribute name that is a plain literal or a variable (``getattr(self, "W")``,
    ``getattr(self, name)``), not a private or I/O name or a string built on the spot."""
    if isinstance(node, ast.Constant):
        value = node.value
        return (
            isinstance(value, str)
            and not value.startswith("_")
            and value not in FORBIDDEN_NUMPY
            and value not in FORBIDDEN_MODULE_ATTRIBUTES
        )
    return isinstance(node, ast.Name)


def _root(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _a_size(node: ast.AST) -> bool:
    """Whether an expression computes a size: ``len(...)``, ``x.shape[0]``, sums and tuples of
    those and numbers."""
    if isinstance(node, ast.Tuple):
        return all(_a_size(e) for e in node.elts)
    if isinstance(node, ast.BinOp):  # a number on one side may be a float: len(x) * 0.5
        left, right = node.left, node.right
        return (
            _a_size(left)
            and _a_size(right)
            or isinstance(left, ast.Constant)
            and _a_size(right)
            or isinstance(right, ast.Constant)
            and _a_size(left)
        )
    if isinstance(node, ast.Call):
        return isinstance(node.func, ast.Name) and node.func.id == "len"
    if isinstance(node, ast.Subscript):
        return isinstance(node.value, ast.Attribute) and node.value.attr == "shape"
    return isinstance(node, ast.Constant) and isinstance(node.value, int)


def _numpy_branch(stmt: ast.If | ast.Try) -> list[ast.stmt]:
    """The first branch of a top-level ``if`` or ``try`` that only imports allowed modules
    (NumPy where the other branch imports CuPy), or an empty list."""
    if isinstance(stmt, ast.If):
        branches = [stmt.body, stmt.orelse]
    else:
        branches = [stmt.body, *(handler.body for handler in stmt.handlers), stmt.orelse]
    for branch in branches:
        modules = [
            name
            for imported in branch
            for name in (
                [alias.name for alias in imported.names]
                if isinstance(imported, ast.Import)
                else [imported.module or "."]
                if isinstance(imported, ast.ImportFrom)
                else [""]
            )
        ]
        if branch and all(_module_allowed(m) for m in modules):
            return branch
    return []


def _targets(stmt: ast.stmt) -> list[str] | None:
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
    names = []
    for target in targets:
        for sub in ast.walk(target):
            if isinstance(sub, ast.Name):
                names.append(sub.id)
            elif not isinstance(sub, (ast.Tuple, ast.List, ast.Store, ast.Load)):
                return None  # a subscript or attribute store changes something else
    return names


def reduce_module(
    text: str, folder: Path | None = None, keep_imports: bool = False, unfit: Iterable[str] = ()
) -> Reduced:
    """Reduce ``text``; ``keep_imports`` keeps imports of any module (``--confirm=exec``).
    A star import of a sibling module in ``unfit`` is read as one of a module that is not
    there: lstmlint's own helpers stand in for it (``fit.unfit_helpers``)."""
    tree = python_tree(text)
    lines = text.splitlines(keepends=True)
    reduced = Reduced(text="", module=tree)
    blank: list[tuple[int, int]] = []
    stand_ins: dict[int, str] = {}  # line -> assignments of stand-in sizes written there
    known: set[str] = set()
    body: list[ast.stmt] = []
    for stmt in tree.body:
        kept = False
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            kept = True
            reduced.defined[stmt.name] = stmt
            known.add(stmt.name)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            unread = isinstance(stmt, ast.ImportFrom) and stmt.module in unfit
            kept = _import(stmt, None if unread else folder, keep_imports, reduced, known)
        elif _graft(stmt, reduced):
            pass  # the function now stands in its class's body, where the class is made
        elif isinstance(stmt, (ast.If, ast.Try)) and _numpy_branch(stmt):
            # `if GPU: import cupy as np ... else: import numpy as np`: the NumPy branch is
            # what the check runs; the statement itself is not kept
            for imported in _numpy_branch(stmt):
                if _import(imported, folder, False, reduced, known):
                    body.append(imported)
        elif isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None:
            names = _targets(stmt)
            if names and _pure(stmt.value, known):
                kept = True
                for name in names:
                    reduced.defined[name] = stmt
                    known.add(name)
            elif names and _a_size(stmt.value):
                # `vocab_size = len(chars)` of a corpus read from a file: the parameters built
                # from it only need some size, so a small one stands in
                stand_ins[stmt.lineno] = "; ".join(f"{n} = {STAND_IN_SIZE}" for n in names)
                body.extend(_stand_in(name, stmt) for name in names)
                for name in names:
                    reduced.defined[name] = stmt
                    known.add(name)
        if kept:
            body.append(stmt)
        else:
            blank.append((stmt.lineno, stmt.end_lineno or stmt.lineno))  # never decorated
    for start, end in blank:
        for index in range(start - 1, min(end, len(lines))):
            ending = lines[index][len(lines[index].rstrip("\r\n")) :]
            lines[index] = stand_ins.get(index + 1, "") + ending
    reduced.text = "".join(lines)
    if "*" in reduced.other_imports:
        body = _helpers_standing_in(reduced) + body
    # what runs is built from the kept statements themselves, never from edited text (blanking
    # lines could make a string's contents code)
    reduced.tree = ast.Module(body=body, type_ignores=[])
    return reduced


# Course utilities imported with `*` from a module that is not there (`from rnn_utils import *`,
# `from activation import *`) define the activations under these names; the analysis reads a
# one-argument `sigmoid` of an unreadable module as the sigmoid, and so does the check of the
# user's code.
STAND_IN_HELPERS = {
    "sigmoid": "def sigmoid(x):\n    return 1.0 / (1.0 + lstmlint_numpy.exp(-x))\n",
    "softmax": (
        "def softmax(x):\n"
        "    e = lstmlint_numpy.exp(x - lstmlint_numpy.max(x, axis=0, keepdims=True))\n"
        "    return e / lstmlint_numpy.sum(e, axis=0, keepdims=True)\n"
    ),
    # activation objects as a course's `activation.py` defines them: called (or `forward`) on
    # a value, then `derivative()` (or `derivative(state=output)`) of what they stored. Some
    # years name that `backward()` / `backward(state=output)`; others mean the gradient times
    # it by `backward(delta)`, so a positional argument fails the call rather than be guessed at
    "Sigmoid": (
        "class Sigmoid:\n"
        "    def __call__(self, x):\n"
        "        return self.forward(x)\n"
        "    def forward(self, x):\n"
        "        self.state = 1.0 / (1.0 + lstmlint_numpy.exp(-x))\n"
        "        return self.state\n"
        "    def derivative(self, state=None):\n"
        "        state = self.state if state is None else state\n"
        "        return state * (1.0 - state)\n"
        "    def backward(self, *, state=None):\n"
        "        return self.derivative(state)\n"
    ),
    "Tanh": (
        "class Tanh:\n"
        "    def __call__(self, x):\n"
        "        return self.forward(x)\n"
        "    def forward(self, x):\n"
        "        self.state = lstmlint_numpy.tanh(x)\n"
        "        return self.state\n"
        "    def derivative(self, state=None):\n"
        "        state = self.state if state is None else state\n"
        "        return 1.0 - state ** 2\n"
        "    def backward(self, *, state=None):\n"
        "        return self.derivative(state)\n"
    ),
}


def _graft(stmt: ast.stmt, reduced: Reduced) -> bool:
    """``RNNNumpy.bptt = bptt`` at the top level, a notebook's way of adding a method defined
    in a later cell: the function is copied into the class's body under that name."""
    if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1):
        return False
    target, value = stmt.targets[0], stmt.value
    if not (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)):
        return False
    owner = reduced.defined.get(target.value.id)
    function = reduced.defined.get(value.id) if isinstance(value, ast.Name) else None
    if not isinstance(owner, ast.ClassDef) or not isinstance(function, ast.FunctionDef):
        return False
    method = copy.deepcopy(function)
    method.name = target.attr
    owner.body = [m for m in owner.body if getattr(m, "name", None) != target.attr] + [method]
    return True


def _helpers_standing_in(reduced: Reduced) -> list[ast.stmt]:
    """Definitions of lstmlint's own for the helpers the code reads that only its star import
    could bind, recorded in ``reduced.stand_ins``; the verdicts say they were used."""
    if any(_module_allowed(module) for module in reduced.star_modules):
        return []  # `from scipy.special import *` binds a softmax of its own
    wanted = sorted(_free_names(reduced) & set(STAND_IN_HELPERS))
    if not wanted:
        return []
    statements: list[ast.stmt] = python_tree("import numpy as lstmlint_numpy\n").body
    reduced.safe_aliases.add("lstmlint_numpy")
    for name in wanted:
        definition = python_tree(STAND_IN_HELPERS[name]).body[0]
        reduced.defined[name] = definition
        reduced.stand_ins.append(name)
        statements.append(definition)
    return statements


def _stand_in(name: str, where: ast.stmt) -> ast.stmt:
    assign = ast.Assign(
        targets=[ast.Name(id=name, ctx=ast.Store())], value=ast.Constant(value=STAND_IN_SIZE)
    )
    return ast.copy_location(ast.fix_missing_locations(ast.copy_location(assign, where)), where)


def _import(stmt, folder, keep_imports: bool, reduced: Reduced, known: set[str]) -> bool:
    if isinstance(stmt, ast.ImportFrom):
        module = stmt.module or ""
        if sibling_file("." * stmt.level + module, folder):
            for alias in stmt.names:
                bound = alias.asname or alias.name
                reduced.siblings.append(("." * stmt.level + module, alias.name, bound))
                known.add(bound)
            return False
        if stmt.level:
            return False
        if module == "builtins":  # `from builtins import range`: Python 2/3 compatibility
            pure = [a for a in stmt.names if a.name in PURE_BUILTINS]
            for alias in stmt.names:
                if alias in pure:
                    known.add(alias.asname or alias.name)
                else:
                    reduced.other_imports[alias.asname or alias.name] = f"builtins.{alias.name}"
            return len(pure) == len(stmt.names) or keep_imports
        allowed = _module_allowed(module)
        for alias in stmt.names:
            bound = alias.asname or alias.name
            if alias.name == "*":
                allowed = False  # what a star import binds cannot be checked
                reduced.other_imports["*"] = module
                reduced.star_modules.append(module)
            elif allowed and alias.name not in FORBIDDEN_NUMPY:
                reduced.safe_aliases.add(bound)
            else:  # `from numpy import save` is file I/O under another name
                reduced.other_imports[bound] = f"{module}.{alias.name}"
            if allowed or keep_imports:
                known.add(bound)
        return allowed or keep_imports
    allowed_all = True
    for alias in stmt.names:
        bound = alias.asname or alias.name.split(".")[0]
        if sibling_file(alias.name, folder):
            reduced.siblings.append((alias.name, None, bound))
            known.add(bound)
            allowed_all = False
            continue
        if _module_allowed(alias.name):
            reduced.safe_aliases.add(bound)
            known.add(bound)
        else:
            reduced.other_imports[bound] = alias.name
            allowed_all = False
            if keep_imports:
                known.add(bound)
    return allowed_all or keep_imports


def names_read(node: ast.AST) -> set[str]:
    """Every name ``node`` reads."""
    return {
        sub.id
        for sub in ast.walk(node)
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load)
    }


def _globals_read(stmt: ast.AST) -> set[str]:
    """The names a definition may read from the module: in a function, a name it assigns or
    takes as an argument is its own local everywhere in it (``outputs = []`` in a forward
    never reads a top-level ``outputs``); a class's methods are functions, the rest of its
    body is read as it is. Names left out here are not kept, so they cannot run unjudged."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
        local = {a.arg for a in ast.walk(stmt.args) if isinstance(a, ast.arg)}
        local |= {
            sub.id
            for sub in ast.walk(stmt)
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, (ast.Store, ast.Del))
        }
        # `global S` makes S the module's, however the function assigns it
        shared = {n for sub in ast.walk(stmt) if isinstance(sub, ast.Global) for n in sub.names}
        inner = set().union(*(names_read(part) for part in definition_time(stmt)))
        return (names_read(stmt) - (local - shared)) | inner
    if isinstance(stmt, ast.ClassDef):
        found: set[str] = set()
        for part in stmt.body:
            found |= _globals_read(part)
        for part in [*stmt.decorator_list, *stmt.bases, *(k.value for k in stmt.keywords)]:
            found |= names_read(part)
        return found
    return names_read(stmt)


def reachable(reduced: Reduced, entries: Iterable[str]) -> set[str]:
    """The top-level names the entry points use, directly or through each other."""
    seen: set[str] = set()
    todo = [name for name in entries if name in reduced.defined]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for used in _globals_read(reduced.defined[name]):
            if used in reduced.defined and used not in seen:
                todo.append(used)
    return seen


def restrict(reduced: Reduced, entries: Iterable[str]) -> Reduced:
    """``reduced`` without the functions, classes and top-level values the entry points do not
    reach: what they would run (a data-loading class, a PyTorch model in another notebook cell,
    ``net = Net()`` at the top level) is never run, so it is neither judged nor loaded."""
    entries = list(entries)
    methods: dict[str, set[str]] = {}
    for entry in entries:  # `Model.forward`: of that class, only the methods the check calls
        owner, _, method = entry.partition(".")
        if method:
            methods.setdefault(owner, set()).add(method)
    pruned = {
        owner: _with_methods(reduced.defined[owner], wanted)
        for owner, wanted in methods.items()
        if isinstance(reduced.defined.get(owner), ast.ClassDef)
    }
    defined = {**reduced.defined, **pruned}
    keep = reachable(replace(reduced, defined=defined), [e.partition(".")[0] for e in entries])
    body = [
        pruned.get(getattr(stmt, "name", ""), stmt)
        for stmt in (reduced.tree.body if reduced.tree is not None else [])
        if isinstance(stmt, (ast.Import, ast.ImportFrom))
        or (_is_definition(stmt) and stmt.name in keep)
        or (not _is_definition(stmt) and any(n in keep for n in _targets(stmt) or []))
    ]
    return Reduced(
        text=reduced.text,
        defined={n: stmt for n, stmt in defined.items() if n in keep},
        siblings=reduced.siblings,
        safe_aliases=reduced.safe_aliases,
        other_imports=reduced.other_imports,
        tree=ast.Module(body=body, type_ignores=[]),
        stand_ins=reduced.stand_ins,
        star_modules=reduced.star_modules,
        module=reduced.module,
    )


def _with_methods(node: ast.ClassDef, wanted: set[str]) -> ast.ClassDef:
    """The class with only the methods in ``wanted`` and those they reach by an attribute of
    the same name, transitively (its other statements stay): the rest can neither run nor be
    judged."""
    methods = {
        m.name: m for m in node.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    used: set[str] = set()
    todo = [m for m in wanted if m in methods]
    while todo:
        name = todo.pop()
        if name in used:
            continue
        used.add(name)
        for sub in ast.walk(methods[name]):
            # self.step(...), Model.softmax(...), cls.make(...): any attribute of that name
            if isinstance(sub, ast.Attribute) and sub.attr in methods:
                todo.append(sub.attr)
    body = [
        s
        for s in node.body
        if not isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) or s.name in used
    ]
    return ast.copy_location(
        ast.ClassDef(
            name=node.name,
            bases=node.bases,
            keywords=node.keywords,
            body=body or [ast.copy_location(ast.Pass(), node)],
            decorator_list=node.decorator_list,
            **({"type_params": node.type_params} if hasattr(node, "type_params") else {}),
        ),
        node,
    )


def _is_definition(stmt: ast.AST) -> bool:
    return isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))


def definition_time(stmt: ast.AST) -> list[ast.AST]:
    """The parts of a definition that run when the module is loaded, called or not:
    decorators, default values, annotations, base classes and a class body's statements."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
        args = stmt.args
        parts = [*stmt.decorator_list, *args.defaults, *(d for d in args.kw_defaults if d)]
        every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
        parts += [a.annotation for a in every if a is not None and a.annotation is not None]
        return parts + ([stmt.returns] if stmt.returns is not None else [])
    if isinstance(stmt, ast.ClassDef):
        parts = [*stmt.decorator_list, *stmt.bases, *(k.value for k in stmt.keywords)]
        for inner in stmt.body:
            if isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                parts += definition_time(inner)
            else:
                parts.append(inner)
        return parts
    return [stmt]


def loaded_unsafe(reduced: Reduced) -> list[str]:
    """What runs merely by loading the reduced module and goes beyond NumPy and math: the
    definition-time parts of every definition and what they call of the module's own."""
    problems: list[str] = []
    if "*" in reduced.other_imports:
        wanted = sorted(_free_names(reduced))
        if wanted:  # names the code reads that only the star import could bind
            problems.append(f"`{wanted[0]}` from `from {reduced.other_imports['*']} import *`")
    used: set[str] = set()
    for name, stmt in reduced.defined.items():
        for part in definition_time(stmt):
            problems += _unsafe_in(reduced, part, f"the definition of {name}")
            used |= {n.id for n in ast.walk(part) if isinstance(n, ast.Name)}
    problems += unsafe_uses(reduced, reachable(reduced, used))
    return list(dict.fromkeys(problems))


def _free_names(reduced: Reduced) -> set[str]:
    """Names the kept definitions read that nothing in the module binds: neither a definition,
    an import, a builtin, nor a name bound inside the definition itself."""
    bound = set(reduced.defined) | reduced.safe_aliases | set(reduced.other_imports)
    bound |= {name for _, _, name in reduced.siblings} | set(dir(builtins))
    free: set[str] = set()
    for stmt in reduced.defined.values():
        local = {
            sub.id
            for sub in ast.walk(stmt)
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, (ast.Store, ast.Del))
        }
        local |= {
            a.arg
            for sub in ast.walk(stmt)
            if isinstance(sub, ast.arguments)
            for a in (*sub.posonlyargs, *sub.args, *sub.kwonlyargs, sub.vararg, sub.kwarg)
            if a is not None
        }
        local |= {
            sub.name
            for sub in ast.walk(stmt)
            if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        }
        local |= {
            alias.asname or alias.name.split(".")[0]
            for sub in ast.walk(stmt)
            if isinstance(sub, (ast.Import, ast.ImportFrom))
            for alias in sub.names
        }
        free |= names_read(stmt) - local - bound
    return free


def _into_submodules(node: ast.Attribute, reduced: Reduced) -> bool:
    """``np.ma.core``: a chain of names from an allowed module that goes past its functions and
    its few plain submodules (``np.random.randn`` is fine)."""
    chain: list[str] = []
    current: ast.AST = node
    while isinstance(current, ast.Attribute):
        chain.insert(0, current.attr)
        current = current.value
    if not isinstance(current, ast.Name) or current.id not in reduced.safe_aliases:
        return False
    if len(chain) == 2 and chain[1] in UFUNC_METHODS:  # np.add.at(dW, x, dout)
        return False
    return len(chain) > 2 or len(chain) == 2 and chain[0] not in SUBMODULES_ALLOWED


def _super_init(node: ast.Attribute, reduced: Reduced) -> bool:
    """``super().__init__``: the base class's initialiser, with the builtin ``super``."""
    call = node.value
    return (
        node.attr == "__init__"
        and isinstance(call, ast.Call)
        and isinstance(call.func, ast.Name)
        and call.func.id == "super"
        and "super" not in reduced.defined
        and "super" not in reduced.other_imports
    )


def unsafe_uses(reduced: Reduced, names: Iterable[str]) -> list[str]:
    """What in the definitions ``names`` goes beyond NumPy, math and builtins without I/O."""
    problems: list[str] = []
    for name in sorted(set(names)):
        problems += _unsafe_in(reduced, reduced.defined[name], name)
    return list(dict.fromkeys(problems))


def _unsafe_in(reduced: Reduced, node: ast.AST, name: str) -> list[str]:
    problems: list[str] = []
    modules = reduced.safe_aliases | set(reduced.other_imports)
    called = {id(sub.func) for sub in ast.walk(node) if isinstance(sub, ast.Call)}
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load):
            if sub.id in FORBIDDEN_BUILTINS:
                problems.append(f"`{sub.id}` in {name}")
            elif sub.id in reduced.other_imports:
                problems.append(f"module `{reduced.other_imports[sub.id]}` in {name}")
            elif sub.id in DYNAMIC_ATTRIBUTES and id(sub) not in called:
                problems.append(f"`{sub.id}` passed around in {name}")
        elif (
            isinstance(sub, ast.Attribute)
            and (sub.attr in FRAME_ATTRIBUTES or _into_submodules(sub, reduced))
            or (
                isinstance(sub, ast.Attribute)
                and not _super_init(sub, reduced)
                and (
                    sub.attr in FORBIDDEN_NUMPY
                    or sub.attr in FORBIDDEN_MODULE_ATTRIBUTES
                    or sub.attr.startswith("__")
                    or sub.attr.startswith("_")
                    and _root(sub) in modules
                )
            )
        ):
            problems.append(f"`.{sub.attr}` in {name}")
        elif isinstance(sub, (ast.Import, ast.ImportFrom)):
            problems.append(f"an import inside {name}")
        elif (
            isinstance(sub, ast.Call)
            and isinstance(sub.func, ast.Name)
            and sub.func.id in DYNAMIC_ATTRIBUTES
            and not _plain_attribute(sub.args[1] if len(sub.args) > 1 else None)
        ):
            problems.append(f"`{sub.func.id}` with a built attribute name in {name}")
    return problems
