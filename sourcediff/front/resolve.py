"""Pass 2: resolve the names a function reads to the objects they denote.

Globals, closure cells and builtins are looked up once, at compile time, so
later passes know that ``np.exp`` is NumPy's ``exp`` (whatever the user
imported it as) and the generated code gets exactly the objects it needs.
"""

from __future__ import annotations

import builtins

import gast

from ..ir import nodes as N
from ..ir.names import RUNTIME, Helpers
from ..ir.walks import child_fields
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


RENAMED = "__sourcediff_renamed__"  # key in ns: {name inside the compiler: the user's name}
USERS = "users"  # annotation of the parsed tree: {name inside the compiler: name printed}


def rename_reserved(tree, ns, helpers):
    """The user's names the compiler has another use for get a name of their own in
    ``tree`` and ``ns`` (a global the function reads, a local, a parameter, a nested
    function), so that nothing mixes them up:

    * a name spelled like a runtime helper (``like``, ``unbroadcast``: the names in
      ``helpers``) is spelled otherwise inside the compiler only (``like_user``): the
      printer writes it back as the user wrote it, and a helper as ``_sd.like``;
    * the one name generated code reaches the helpers through (:data:`names.RUNTIME`,
      ``_sd``) is renamed in the generated code too (``_sd_user``).

    Generated code read again (a gradient differentiated again) reaches the helpers
    through ``_sd``: ``_sd.like`` becomes the helper's plain name ``like`` again.

    Returns ``({name inside: the user's name}, {name inside: the name printed})``; the
    first is also ``ns[RENAMED]`` (a global is still read by the user's name)."""
    runtime = ns.pop(RUNTIME) if isinstance(ns.get(RUNTIME), Helpers) else None
    names = set(N.names_in(tree))
    taken = names | set(ns) | set(helpers) | {RUNTIME}
    used = names | {node.name for node in N.walk(tree) if node is not tree
                                    and isinstance(node, (gast.FunctionDef, gast.ClassDef))}
    if runtime is not None:
        used.discard(RUNTIME)
    renamed, printed = {}, {}
    for name in sorted(n for n in used if n in helpers or n == RUNTIME):
        new = f"{name}_user"
        while new in taken:
            new += "_"
        taken.add(new)
        for node in N.walk(tree):
            if isinstance(node, gast.Name) and node.id == name:
                node.id = new
            elif isinstance(node, (gast.FunctionDef, gast.ClassDef)) and node.name == name \
                    and node is not tree:
                node.name = new
        if name in ns:
            ns[new] = ns.pop(name)
        renamed[new] = name
        if name != RUNTIME:
            printed[new] = name
    ns[RENAMED] = renamed
    N.set_anno(tree, USERS, printed)  # (code copied from the tree prints them back too)
    if runtime is not None:
        _unspell(tree, ns, runtime)
    return renamed, printed


def _unspell(tree, ns, runtime):
    """``_sd.<helper>`` in ``tree`` (generated code) the plain name ``<helper>``, which
    ``ns`` resolves to the helper."""
    for node in N.walk(tree):
        for field in child_fields(node.__class__):
            value = getattr(node, field, None)
            if _reaches_runtime(value):
                ns[value.attr] = getattr(runtime, value.attr)
                setattr(node, field, N.name(value.attr))
            elif type(value) is list and any(_reaches_runtime(v) for v in value):
                for i, v in enumerate(value):
                    if _reaches_runtime(v):
                        ns[v.attr] = getattr(runtime, v.attr)
                        value[i] = N.name(v.attr)


def _reaches_runtime(node):
    return type(node) is gast.Attribute and type(node.value) is gast.Name and \
        node.value.id == RUNTIME and type(node.ctx) is gast.Load


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


def rename_stack(tree, ns):
    """A name of the user's spelled ``_stack`` (the name of the saved values' stack in
    generated code) is renamed ``_stack_user`` (or with more underscores)."""
    used = set(N.names_in(tree))
    if "_stack" not in used:
        return
    taken = used | set(ns)
    new = "_stack_user"
    while new in taken:
        new += "_"
    for node in N.walk(tree):
        if isinstance(node, gast.Name) and node.id == "_stack":
            node.id = new
    if "_stack" in ns:
        ns[new] = ns.pop("_stack")
