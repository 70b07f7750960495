"""``grad(f)`` pickles by reference: to ``f`` and the options, never to generated code.

So ``multiprocessing.Pool().map(grad(f), batches)`` works: each worker imports ``f``
and compiles its own gradient.

``grad`` returns a plain function (see :mod:`entry`), and pickle saves any function
as its ``__module__`` and ``__qualname__``, found again by importing the one and
looking up the other. The function keeps ``f``'s qualified name (error messages and
``repr`` show it), and its ``__module__`` is a *reference module* below this one,
whose name spells the reference::

    sourcediff.transforms.pickling.grad(mypkg:losses/mse, wrt=(0, 1)) #3

('.' written ':', since the import system splits names at dots; ``#3`` tells apart
several gradients of one function). The finder below makes that module when it is
imported: in the process that made the function it holds the function itself (pickle
checks that), in any other it imports ``f`` and transforms it again.
"""

from __future__ import annotations

import ast
import importlib
import importlib.abc
import importlib.util
import itertools
import re
import sys
import types
import weakref

from ..ir.compiler_hook import compiler

__path__ = []  # a package to the import system: its submodules are the references

_made = weakref.WeakValueDictionary()  # reference -> the function made in this process
_count = itertools.count(1)
_REFERENCE = re.compile(r"(grad|value_and_grad)\(([^/()]+)/([^,()]+), wrt=([^a-z]+?)"
                        r"(, has_aux)?\) #\d+")


def by_reference(public, state):
    """Give ``public`` (the function ``grad`` returns for ``state``) its reference module."""
    fn = state.fn
    module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str):
        return
    wrt = int(state.wrt[0]) if state.single else tuple(int(i) for i in state.wrt)
    kind = "value_and_grad" if state.with_value else "grad"
    aux = ", has_aux" if state.has_aux else ""
    ref = (f"{kind}({module.replace('.', ':')}/{qualname.replace('.', ':')}, wrt={wrt!r}{aux})"
           f" #{next(_count)}")
    public.__module__ = f"{__name__}.{ref}"
    public.__sourcediff_reference__ = (fn, module, qualname)
    _made[ref] = public


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Makes the reference modules ``sourcediff.transforms.pickling.<reference>`` on import."""

    def find_spec(self, fullname, path, target=None):
        if fullname.startswith(__name__ + ".") and "." not in fullname[len(__name__) + 1:]:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return None  # a plain module

    def exec_module(self, module):
        ref = module.__name__[len(__name__) + 1:]
        fn = _made.get(ref)
        if fn is not None:
            _check_reachable(ref, fn)
        else:
            fn = _remake(ref)
        target = module
        *outer, last = fn.__qualname__.split(".")
        for part in outer:  # Model.loss: a namespace Model holding loss
            if not hasattr(target, part):
                setattr(target, part, types.SimpleNamespace())
            target = getattr(target, part)
        setattr(target, last, fn)


def _check_reachable(ref, made):
    """Pickling: ``f`` must be found by its name wherever the pickle is loaded, as pickle
    requires of a function. (pickle reports only that this import failed.)"""
    fn, module, qualname = made.__sourcediff_reference__
    if _find(module, qualname) not in (fn, made):  # (made: @grad on the definition)
        raise ImportError(
            f"{ref.rsplit(' #', 1)[0]} cannot be pickled: it is pickled by reference to "
            f"'{qualname}', but {module}.{qualname} is not that function; differentiate a "
            "function defined at module level (not a lambda or a nested function, and not "
            "redefined since)")


def _remake(ref):
    """Loading in another process: ``f`` imported, and transformed again."""
    match = _REFERENCE.fullmatch(ref)
    if match is None:
        raise ImportError(f"{ref!r} is no reference to a gradient")
    kind, module, qualname, wrt, aux = match.groups()
    module, qualname = module.replace(":", "."), qualname.replace(":", ".")
    fn = _find(module, qualname)
    if fn is None:
        raise ImportError(f"{qualname} not found in {module}, so its gradient cannot be loaded")
    if getattr(fn, "__sourcediff_state__", None) is not None:
        return fn  # @grad on the definition: the name is the gradient itself
    transform = compiler.value_and_grad if kind == "value_and_grad" else compiler.grad
    return transform(fn, ast.literal_eval(wrt), has_aux=bool(aux))


def _find(module, qualname):
    """The object named ``qualname`` in ``module`` (None if there is none)."""
    try:
        obj = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        return None
    return obj


if not any(isinstance(f, _Finder) for f in sys.meta_path):
    sys.meta_path.append(_Finder())
