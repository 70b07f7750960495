"""Pass 2: resolve the names a function reads to the objects they denote.

Globals, closure cells and builtins are looked up once, at compile time, so
later passes know that ``np.exp`` is NumPy's ``exp`` (whatever the user
imported it as) and the generated code gets exactly the objects it needs.
"""

from __future__ import annotations

import builtins

import gast

from ..ir import nodes as N
from ..ir.signature import param_names


def free_names(tree):
    """Names read in ``tree`` that it never binds (parameters included as bound)."""
    bound = set(param_names(tree.args))
    read = []
    for node in N.walk(tree):
        if isinstance(node, gast.Name):
            if isinstance(node.ctx, (gast.Store, gast.Del)):
                bound.add(node.id)
            elif node.id not in read:
                read.append(node.id)
        elif isinstance(node, (gast.FunctionDef, gast.ClassDef)) and node is not tree:
            bound.add(node.name)
    return [n for n in read if n not in bound]


def namespace(fn, tree):
    """``{name: object}`` for every free name of ``tree`` that ``fn`` can see."""
    ns = {}
    glob = getattr(fn, "__globals__", {})
    cells = {}
    code = getattr(fn, "__code__", None)
    if code is not None and fn.__closure__:
        for name, cell in zip(code.co_freevars, fn.__closure__):
            try:
                cells[name] = cell.cell_contents
            except ValueError:  # an empty cell: a name defined later
                pass
    for name in free_names(tree):
        if name in cells:
            ns[name] = cells[name]
        elif name in glob:
            ns[name] = glob[name]
        elif hasattr(builtins, name):
            ns[name] = getattr(builtins, name)
    return ns


RENAMED = "__sourcediff_renamed__"  # key in ns: {name in generated code: user's name}


def rename_reserved(tree, ns, reserved):
    """A name of the user's that generated code reserves (a runtime helper such as
    ``like`` or ``unbroadcast``) gets a name of its own in ``tree`` and ``ns``
    (``like_user``), so generated code never mixes the two up: a global (function, class,
    module or data) the function reads, and a local or parameter of its own."""
    taken = set(N.names_in(tree)) | set(ns) | set(reserved)
    renamed = {}
    local = {node.id for node in N.walk(tree) if isinstance(node, gast.Name)
             and isinstance(node.ctx, (gast.Store, gast.Param)) and node.id in reserved}
    for name in sorted(local) + [n for n in ns if n in reserved and ns[n] is not reserved[n]
                                 and n not in local]:
        new = f"{name}_user"
        while new in taken:
            new += "_"
        taken.add(new)
        for node in N.walk(tree):
            if isinstance(node, gast.Name) and node.id == name:
                node.id = new
        if name in ns and name not in local:
            ns[new] = ns.pop(name)
        renamed[new] = name
    ns[RENAMED] = renamed
    return renamed


def static_value(node, ns):
    """The object an expression like ``np.linalg.norm`` denotes, or ``None``."""
    if isinstance(node, gast.Name):
        return ns.get(node.id, _MISSING)
    if isinstance(node, gast.Attribute):
        base = static_value(node.value, ns)
        if base is _MISSING:
            return _MISSING
        return getattr(base, node.attr, _MISSING)
    return _MISSING


class _Missing:
    def __repr__(self):
        return "<unresolved>"


_MISSING = _Missing()
MISSING = _MISSING


LIBRARIES = ("numpy", "scipy")  # differentiated through the rule table only


def library_of(fn):
    """``scipy.stats.chi2.cdf`` if ``fn`` is NumPy's or SciPy's own Python code, else None.
    The compiler never reads a library's source: a function of theirs is differentiated
    through its rule, or is a MissingRuleError."""
    owner = getattr(fn, "__self__", None)
    func = getattr(fn, "__func__", fn)
    module = getattr(func, "__module__", None) or ""
    if module.split(".")[0] not in LIBRARIES:
        return None
    name = getattr(func, "__name__", "?")
    if owner is not None and not isinstance(owner, type) and getattr(owner, "name", None):
        return f"{module.split('.')[0]}.stats.{owner.name}.{name}" if ".stats" in module \
            else f"{type(owner).__name__}.{name}"
    public = module.split("._")[0] if "._" in module else module
    return f"{public}.{name}"


def never_read(fn):
    """A function whose source the compiler never reads as user code: a library's own
    (:func:`library_of`) or sourcediff's."""
    if getattr(fn, "__sourcediff_defines__", None) is not None:
        return False  # a library function's NumPy definition (prims/definitions.py)
    module = getattr(getattr(fn, "__func__", fn), "__module__", None) or ""
    return library_of(fn) is not None or module.split(".")[0] == "sourcediff"
