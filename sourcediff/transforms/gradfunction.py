"""The callables ``grad`` and ``value_and_grad`` return: ``GradFunction`` checks the
arguments, compiles the adjoint specialised on their types and shapes at the first call
(:func:`compiled.adjoint_of`), and hands the call to the plain generated function
(:mod:`entry`) from then on."""

from __future__ import annotations

import functools
import types

import gast
import numpy as np

from ..front import parse
from .. import runtime
from ..ir import signature
from ..pipeline.compiled import adjoint_of, selector
from ..ir.compiler_hook import compiler
from .entry import install, public_function
from ..ir.freevars import snapshot as _snapshot
from ..ir.freevars import unchanged as _unchanged
from ..errors import ArgumentError, NonScalarOutputError, SourceDiffError, SourceUnavailableError
from ..prims.custom import Primitive
from ..values import duck
from ..values.duck import is_duck
from ..opt.inplace import kinds_of
from ..values.lift import needs_lift
from ..front.parse import refuse_generator
from .pickling import by_reference
from ..opt.shapes import spec_of
from ..values.structure import check_differentiable, resolve_wrt
from .adjoints import _key, _Lifted, _PrimitiveAdjoint, _TapeAdjoint


# vjp differentiates every primal: an argument is held fixed by leaving it out of them
VJP_FIXED = "fix this argument in a lambda: vjp(lambda x: f(x, n), x)"


def _fast_check(fn, args, wrt, fixed="leave this argument out of wrt"):
    for i in wrt:
        a = args[i]
        if type(a) is float:
            continue
        if type(a) is np.ndarray and a.dtype.kind in "fc":
            continue
        check_differentiable(fn, a, i, fixed=fixed)


class _Transformed:
    """Base of the callables ``grad`` and friends return."""

    def __init__(self, fn, wrt, has_aux):
        untraced = getattr(getattr(fn, "__globals__", None), "untraced", None)
        if untraced is not None:  # made inside code the tape runs (see tape/shim.py)
            fn = untraced(fn)
        self.fn = fn
        self.wrt_items, self.single = resolve_wrt(fn, wrt, names_ok=True)
        # the compiled code takes the arguments flat (see :mod:`signature`): wrt are flat
        # indices; _pick (if not None) selects *args elements among their gradients
        self._sig = signature.signature(fn) if not isinstance(fn, Primitive) else None
        self._binds = self._sig is not None and not signature.is_plain(self._sig)
        self.wrt, self._pick = _flat_wrt(self._sig, self.wrt_items)
        self.has_aux = has_aux
        self._tape = None
        functools.update_wrapper(self, fn, updated=())  # not fn.__dict__: it may hold "fn"
        del self.__wrapped__
        if not hasattr(self, "__name__"):
            self.__name__ = type(fn).__name__
        if self._sig is not None:  # fn's parameters: a call of it inside differentiated
            self.__signature__ = self._sig  # code is bound as a call of fn (closures.callee)

    def _adjoint(self, args, kind="grad", in_place=True):
        """The adjoint for these arguments; ``in_place=False`` for code that is itself
        differentiated again (forward mode reads no in-place updates)."""
        if self._tape is not None:
            return self._tape
        if isinstance(self.fn, Primitive):
            return _PrimitiveAdjoint(self.fn, self.wrt)
        if len(args) <= max(self.wrt):
            raise ArgumentError(
                f"'{self.fn.__name__}' was called with {len(args)} argument(s) but wrt "
                f"selects argument {max(self.wrt)}", function=self.fn.__name__,
                filename=getattr(getattr(self.fn, "__code__", None), "co_filename", None),
                lineno=getattr(getattr(self.fn, "__code__", None), "co_firstlineno", None),
                hint="pass every argument up to the ones wrt selects")
        self._check(args)
        return adjoint_of(self.fn, self.wrt, kind, self.has_aux, spec_of(args),
                          kinds_of(args) if in_place else None, again=not in_place)

    def _check(self, args):
        """The arguments ``wrt`` selects hold floats (only the selected ``*args`` items)."""
        if self._pick is None:
            return _fast_check(self.fn, args, self.wrt)
        for (pos, k), item in zip(self._pick, self.wrt_items):
            value = args[self.wrt[pos]]
            if k is None or k < len(value):
                check_differentiable(self.fn, value if k is None else value[k], item)

    def _finish(self, args, grads):
        out = tuple(runtime.like(g, args[i]) for g, i in zip(grads, self.wrt))
        return out[0] if self.single else out

    def _picked(self, grads):
        """Finished gradients (flat wrt order) -> one per item of the ``wrt`` asked for."""
        if self._pick is None:
            return grads
        if self.single:
            grads = (grads,)
        out = []
        for j, k in self._pick:
            if k is not None and k >= len(grads[j]):
                raise ArgumentError(
                    f"wrt selects positional argument {signature.positional_count(self._sig) + k}"
                    f" of '{self.fn.__name__}', but it was called with fewer",
                    function=self.fn.__name__, hint="pass that argument, or change wrt")
            out.append(grads[j] if k is None else grads[j][k])
        return out[0] if self.single else tuple(out)

    def plain_function(self, args, with_value=False):
        """The generated adjoint trimmed to this gradient: a plain function of ``args``
        (flat: defaults filled in, see :mod:`signature`); with ``with_value`` it gives
        ``(value, gradient)``, the value None where it is a scalar for sure."""
        if self._pick is not None:
            raise ArgumentError("a gradient with respect to items of *args cannot be "
                                "differentiated again",
                                function=self.fn.__name__,
                                hint="differentiate with respect to the whole *args tuple "
                                     "by name (wrt='args'), or give the function named "
                                     "parameters")
        # one gradient, or the tuple of them (wrt=(0, 1): jacobian gives the mixed blocks)
        return selector(self._adjoint(args, in_place=False), (1, 0) if self.single else (1,),
                        real_of=tuple(self.wrt), with_value=with_value)


def _check_scalar(fn, value):
    """A scalar, or a one-element array (shape (1,) or (1, 1), as PyTorch's backward()
    and autograd accept): its gradient is seeded with ones of its shape."""
    if type(value) is float or np.ndim(value) == 0 or _one_element(value):
        return
    code = getattr(fn, "__code__", None)
    raise NonScalarOutputError(
        f"grad needs a scalar output, but '{fn.__name__}' returned an array of shape "
        f"{np.shape(value)}", function=fn.__name__,
        filename=getattr(code, "co_filename", None), lineno=_return_line(fn),
        hint="reduce it (e.g. np.sum) or use vjp/jacobian for non-scalar outputs")


def _one_element(value):
    return (isinstance(value, np.ndarray) or is_duck(value)) and value.size == 1 \
        and value.ndim > 0


class _Seeded:
    """The adjoint for a one-element output: the seeded ("vjp") one with ``ones(shape)``
    as the output's cotangent, so every rule sees a cotangent of the output's shape."""

    def __init__(self, adj, shape, dtype):
        self.adj, self.seed = adj, np.ones(shape, dtype)
        self.statics, self.source = adj.statics, adj.source

    def fn(self, *args):
        return self.adj.fn(*args, self.seed.copy())


def _return_line(fn):
    """The line of ``fn``'s only ``return`` statement, else of its ``def`` (for errors)."""

    first = getattr(getattr(fn, "__code__", None), "co_firstlineno", None)
    try:
        tree = parse.parse_function(fn).tree
    except SourceDiffError:
        return first
    todo, returns = list(tree.body), []
    while todo:  # the function's own returns, not those of functions nested in it
        node = todo.pop()
        if isinstance(node, gast.Return):
            returns.append(node)
        elif not isinstance(node, (gast.FunctionDef, gast.Lambda, gast.ClassDef)):
            todo.extend(gast.iter_child_nodes(node))
    return returns[0].lineno if len(returns) == 1 else first


class GradFunction(_Transformed):
    def __init__(self, fn, wrt, has_aux, with_value):
        super().__init__(fn, wrt, has_aux)
        self.with_value = with_value
        self._by_key = {}   # argument types/shapes -> (adjoint, finishers, freevars.snapshot)
        self._public = None  # the plain function grad() returned, if any

    def _prepare(self, args, key):
        refuse_generator(self.fn)  # (its output is never a scalar)
        try:
            adj = self._adjoint(args, "value" if self.with_value else "grad")
        except SourceUnavailableError as exc:
            # (the tape binds a call with keywords and defaults itself: it gets wrt as given)
            adj = self._tape = _TapeAdjoint(self.fn, self.wrt_items if self._binds else self.wrt,
                                            self.has_aux, exc)
        if any(isinstance(k, duck.Key) for k in key) and not isinstance(adj, _TapeAdjoint) \
                and needs_lift(args, self.wrt):
            adj = _Lifted(adj, self.wrt)
        finish = tuple(_finisher(args[i]) for i in self.wrt)
        # the functions it resolved: a helper redefined later (a notebook) means compile again
        entry = self._by_key[key] = (adj, finish, _snapshot(self.fn, adj.statics))
        return entry

    def __reduce__(self):
        """Pickled by reference to ``fn`` and the options (see :mod:`pickling`)."""
        items = getattr(self, "wrt_items", self.wrt)
        return _remake, (self.with_value, self.fn, items[0] if self.single else tuple(items),
                         self.has_aux)

    def _seeded(self, args, key, value):
        """From now on, this key's adjoint seeds a one-element output with ones."""
        adj = _Seeded(self._adjoint(args, "vjp"), np.shape(value), np.result_type(value))
        self._by_key[key] = (adj, *self._by_key[key][1:])
        return adj

    def _tape_call(self, args, kwargs):
        """The tape fallback on the call as made (it binds keywords and defaults itself)."""
        value, grads = self._tape._vg(*args, **kwargs)
        grads = grads[0] if self.single else tuple(grads)
        if self.has_aux and not self.with_value:
            return grads, value[1]
        return (value, grads) if self.with_value else grads

    def slow_call(self, *args):
        """The public function's fallback: compile (if needed), then re-point it."""
        key = _key(args)
        entry = self._by_key.get(key)
        if entry is None or not _unchanged(entry[2]):
            entry = self._prepare(args, key)
            result = self(*args)  # (first: a one-element output switches to _Seeded)
            entry = self._by_key[key]
            if self._public is not None and not isinstance(entry[0], (_TapeAdjoint, _Seeded,
                                                                      _Lifted)):
                # a float argument's raw gradient that was complex (the argument went
                # through complex values) is finished by like, not float (its real part)
                complex_floats = any(type(args[i]) is float and np.iscomplexobj(g)
                                     for g, i in zip(self._raw_grads, self.wrt))
                install(self._public, self, entry[0], args, key, entry[2], complex_floats)
            return result
        return self(*args)

    def __call__(self, *args, **kwargs):
        call = None
        if kwargs or self._binds:
            call, args = (args, kwargs), _bind(self.fn, args, kwargs, self._sig)
        key = _key(args)
        entry = self._by_key.get(key)
        if entry is None or not _unchanged(entry[2]):
            entry = self._prepare(args, key)
        adj, finish, _ = entry
        if call is not None and adj is self._tape:
            return self._tape_call(*call)
        self._last = adj
        try:
            result = adj.fn(*args)
        except Exception:
            # a non-scalar output can make the reverse sweep fail before the check below
            # (the function called as the user called it: args are bound to flat form)
            value = _first(self.fn(*call[0], **call[1]) if call else self.fn(*args),
                           self.has_aux)
            _check_scalar(self.fn, value)
            if not _one_element(value):
                raise
            result = self._seeded(args, key, value).fn(*args)
        value, grads = result[0], result[1]
        self._raw_grads = grads   # (read by slow_call)
        if value is not None and not isinstance(value, float) and np.ndim(value) != 0:
            _check_scalar(self.fn, value)
            if not isinstance(adj, _Seeded):  # found on this key's first call only
                result = self._seeded(args, key, value).fn(*args)
                grads = result[1]
        if self.single:
            grads = finish[0](grads[0], args[self.wrt[0]])
        else:
            grads = tuple([fin(g, args[i]) for fin, g, i in zip(finish, grads, self.wrt)])
        if self._pick is not None:
            grads = self._picked(grads)
        if self.has_aux:
            value = (value, result[2])
            if not self.with_value:
                return grads, result[2]
        return (value, grads) if self.with_value else grads


def _first(out, has_aux):
    return out[0] if has_aux and isinstance(out, tuple) else out


def _float_grad(g, x):
    return float(g) if isinstance(g, float) else runtime.like(g, x)


def _array_grad(g, x):
    """``like(g, x)`` for a float array ``x``, without the call where ``g`` already is
    what it returns as is."""
    if type(g) is np.ndarray and g.shape == x.shape and g.dtype is x.dtype \
            and g.flags.writeable:
        return g
    return runtime.like(g, x)


def _finisher(x):
    """How to give a raw adjoint its argument's type (fast paths for floats and float
    arrays)."""
    if type(x) is float:
        return _float_grad
    if type(x) is np.ndarray and x.dtype.kind in "fc":
        return _array_grad
    return runtime.like


def _remake(with_value, fn, wrt, has_aux):
    """``grad`` or ``value_and_grad`` made again, where a pickled one is loaded."""
    return (compiler.value_and_grad if with_value else compiler.grad)(fn, wrt,
                                                                       has_aux=has_aux)


def _public(state):
    """The fast plain function for ``state`` where the signature allows, else ``state``."""
    fn = public_function(state)
    if fn is None:
        return state
    state._public = fn
    by_reference(fn, state)
    return fn


def _bind(fn, args, kwargs, sig=None):
    """The flat arguments of the call ``fn(*args, **kwargs)``: one per parameter, defaults
    filled in, ``*args`` a tuple, ``**kwargs`` a dict (the form generated code takes)."""
    return signature.bind(fn, sig or signature.signature(fn), args, kwargs)


def _flat_wrt(sig, items):
    """Resolved ``wrt`` items (call positions, or names of parameters that take none) ->
    (flat indices to differentiate, None or per item (index into them, *args element))."""
    if sig is None or signature.is_plain(sig):
        return items, None
    names = list(sig.parameters)
    npos = signature.positional_count(sig)
    var = signature.vararg_index(sig)
    flat, pick = [], []
    for w in items:
        if isinstance(w, str):
            j, k = names.index(w), None
        elif w >= npos and var is not None:
            j, k = var, w - npos
        else:
            j, k = w, None
        if j not in flat:
            flat.append(j)
        pick.append((flat.index(j), k))
    if all(k is None for _, k in pick) and [j for j, _ in pick] == list(range(len(flat))):
        pick = None
    return tuple(flat), pick


def _method(transform, fn, wrt, **options):
    """``transform`` of a bound method: its function, with ``self`` passed first. What it
    returns is a method again (``__sourcediff_bound__``: the transformed function, the
    object, the method), so a transform of it (``jacobian(grad(model.loss))``) is one of
    the transformed function, with the object held fixed."""
    func, owner, method = bound_parts(fn)
    idx, single = resolve_wrt(method, wrt, names_ok=True)
    idx = tuple(i + 1 if isinstance(i, int) else i for i in idx)  # (names stay names)
    shifted = idx[0] if single else idx
    inner = transform(func, shifted, **options)

    @functools.wraps(method)
    def method_transform(*args, **kwargs):
        return inner(owner, *args, **kwargs)
    del method_transform.__wrapped__
    method_transform.__sourcediff_state__ = getattr(inner, "__sourcediff_state__", inner)
    method_transform.__sourcediff_bound__ = (inner, owner, method)
    return method_transform


def bound_parts(fn):
    """(function, object, the method whose signature callers see) of a bound method or of
    a transform of one (:func:`_method`); None if ``fn`` is neither."""
    made = getattr(fn, "__sourcediff_bound__", None)
    if made is not None:
        return made
    if isinstance(fn, types.MethodType):
        return fn.__func__, fn.__self__, fn
    return None
