"""The public API of the compiler: ``grad``, ``value_and_grad``, ``vjp``, ``source``."""

from __future__ import annotations

import functools
import inspect
import threading
from typing import Any, Callable, Concatenate, Literal, overload

import numpy as np

from . import driver, runtime, signature, split
from ._typing import A, Mode, P, T, Wrt, X
from .freevars import cache_key as _cache_key
from .freevars import snapshot as _snapshot
from .freevars import unchanged as _unchanged
from .errors import (ArgumentError, NonScalarOutputError, SourceDiffError,
                     SourceUnavailableError)
from .custom import Primitive
from . import duck
from .duck import is_duck
from .duck import key as duck_key
from .inplace import kinds_of
from .shapes import spec_of
from .structure import check_differentiable, resolve_wrt

_lock = threading.RLock()
_cache = {}   # (freevars.cache_key, wrt, kind, options, shapes, dtypes) -> Adjoint
_latest = {}  # the same key without shapes -> the adjoint built last


def adjoint_of(fn, wrt, kind="grad", has_aux=False, spec=None, dtypes=None, again=False):
    """The compiled adjoint (cached per function, wrt, kind and specialisation).

    ``kind`` is "grad" (the value only if needed to check it is a scalar),
    "value" (value and gradient), "vjp" (takes the output's cotangent) or "split"
    (gives the value and a pullback: :mod:`split`). ``spec`` gives the arguments' shapes,
    ``dtypes`` their kinds (:func:`inplace.kinds_of`: then fresh arrays are updated in
    place). Calls into user code run once (split), except in "vjp" adjoints and with
    ``again``: code that is differentiated again keeps ``vjp_call``."""
    split_calls = kind != "vjp" and not again
    key = _cache_key(fn, wrt, kind, has_aux, spec, dtypes, split_calls)
    adj = _cache.get(key)
    if adj is None:
        with _lock:
            adj = _cache.get(key)
            if adj is None:
                adj = driver.build_adjoint(fn, wrt, with_seed=kind in ("vjp", "split"),
                                           has_aux=has_aux, specialize=spec,
                                           need_value=(kind != "grad" or has_aux),
                                           kinds=dtypes, split_calls=split_calls,
                                           split_form=(kind == "split"))
                _cache[key] = adj
    _latest[_cache_key(fn, wrt, kind, has_aux)] = adj
    return adj.for_function(fn)


def _fast_check(fn, args, wrt):
    for i in wrt:
        a = args[i]
        if type(a) is float:
            continue
        if type(a) is np.ndarray and a.dtype.kind == "f":
            continue
        check_differentiable(fn, a, i)


class _Transformed:
    """Base of the callables ``grad`` and friends return."""

    def __init__(self, fn, wrt, has_aux):
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

    def plain_function(self, args):
        """The generated adjoint trimmed to this gradient: a plain function of ``args``
        (flat: defaults filled in, see :mod:`signature`)."""
        from .higher import selector
        if self._pick is not None:
            raise ArgumentError("a gradient with respect to items of *args cannot be "
                                "differentiated again",
                                function=self.fn.__name__,
                                hint="differentiate a function of named parameters that "
                                     "returns the loss alone")
        # one gradient, or the tuple of them (wrt=(0, 1): jacobian gives the mixed blocks)
        return selector(self._adjoint(args, in_place=False), (1, 0) if self.single else (1,))


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
    import gast

    from . import parse
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
        from .parse import refuse_generator
        refuse_generator(self.fn)  # (its output is never a scalar)
        try:
            adj = self._adjoint(args, "value" if self.with_value else "grad")
        except SourceUnavailableError as exc:
            # (the tape binds a call with keywords and defaults itself: it gets wrt as given)
            adj = self._tape = _TapeAdjoint(self.fn, self.wrt_items if self._binds else self.wrt,
                                            self.has_aux, exc)
        if any(isinstance(k, duck.Key) for k in key) and not isinstance(adj, _TapeAdjoint) \
                and duck.needs_lift(args, self.wrt):
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
                from .entry import install
                install(self._public, self, entry[0], args, key, entry[2])
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
            value = _first(self.fn(*args), self.has_aux)
            _check_scalar(self.fn, value)
            if not _one_element(value):
                raise
            result = self._seeded(args, key, value).fn(*args)
        value, grads = result[0], result[1]
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


class _Lifted:
    """The adjoint for a call with duck array data (Dask...): NumPy arrays among the
    arguments it differentiates are lifted to the data's array type first
    (:func:`duck.lift`), so an adjoint buffer such as ``x_bar[0] += g`` can hold a lazy
    cotangent. Run from the dispatcher (no entry code: graph building dominates)."""

    def __init__(self, adj, wrt):
        self.adj, self.wrt = adj, wrt
        self.statics, self.source = adj.statics, adj.source

    def fn(self, *args):
        return self.adj.fn(*duck.lift(args, self.wrt))


class _TapeAdjoint:
    """Fallback where the source cannot be read: the runtime tape, same results."""

    def __init__(self, fn, wrt, has_aux, reason):
        import types
        import warnings

        from . import registry, tape
        if isinstance(fn, (types.BuiltinFunctionType, type)) and registry.lookup(fn) is None:
            raise SourceDiffError(
                f"'{getattr(fn, '__name__', fn)}' is a builtin with no derivative rule",
                function=getattr(fn, "__name__", None),
                hint="differentiate a Python function that calls it, or give it a rule with "
                     "sourcediff.primitive(...).defvjp(...)")
        self.source = None
        self.statics = ()
        self.wrt = wrt
        self._vg = tape.value_and_grad(fn, tuple(wrt), has_aux=has_aux)
        self.has_aux = has_aux
        # made once per grad(...) object, so this warns once per object (a set of ids
        # would miss a new object that reuses a collected one's id)
        warnings.warn(f"sourcediff: {reason.bare_message}; using the runtime tape instead",
                      stacklevel=4)

    def fn(self, *args):
        value, grads = self._vg(*args)
        grads = tuple(grads)  # wrt is always a tuple here
        if self.has_aux:
            return value[0], grads, value[1]
        return value, grads


def _key(args):
    """What the compiled code is specialised on: each ndarray's (shape, dtype), each
    duck array's type and dtype (:func:`duck.key`), every other argument's type."""
    return tuple([(a.shape, a.dtype) if type(a) is np.ndarray else
                  duck_key(a) if is_duck(a) else type(a) for a in args])


class _PrimitiveAdjoint:
    """``grad`` of a ``@primitive`` itself: its own rule, nothing to compile."""

    def __init__(self, prim, wrt, seed=False):
        self.prim, self.wrt, self.seed = prim, wrt, seed
        self.source = None
        self.statics = ()

    def fn(self, *args):
        g = args[-1] if self.seed else 1.0
        args = args[:-1] if self.seed else args
        ans = self.prim(*args)
        cts = self.prim.vjp_or_raise()(g, ans, *args)
        return ans, tuple(runtime.zeros_like_grad(args[i]) if cts[i] is None else cts[i]
                          for i in self.wrt)


def _first(out, has_aux):
    return out[0] if has_aux and isinstance(out, tuple) else out


def _float_grad(g, x):
    return float(g) if isinstance(g, float) else runtime.like(g, x)


def _finisher(x):
    """How to give a raw adjoint its argument's type (a fast path for floats)."""
    return _float_grad if type(x) is float else runtime.like


def _remake(with_value, fn, wrt, has_aux):
    """``grad`` or ``value_and_grad`` made again, where a pickled one is loaded."""
    return (value_and_grad if with_value else grad)(fn, wrt, has_aux=has_aux)


def _public(state):
    """The fast plain function for ``state`` where the signature allows, else ``state``."""
    from .entry import public_function
    fn = public_function(state)
    if fn is None:
        return state
    state._public = fn
    from .pickling import by_reference
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
    """``transform`` of a bound method: its function, with ``self`` passed first."""
    idx, single = resolve_wrt(fn, wrt, names_ok=True)
    idx = tuple(i + 1 if isinstance(i, int) else i for i in idx)  # (names stay names)
    shifted = idx[0] if single else idx
    inner = transform(fn.__func__, shifted, **options)
    owner = fn.__self__

    @functools.wraps(fn)
    def method_transform(*args, **kwargs):
        return inner(owner, *args, **kwargs)
    del method_transform.__wrapped__
    method_transform.__sourcediff_state__ = getattr(inner, "__sourcediff_state__", inner)
    return method_transform


@overload  # wrt=0: the gradient has the first argument's type
def grad(fn: Callable[Concatenate[X, P], Any], wrt: Literal[0] = 0, *,  # type: ignore[overload-overlap]
         has_aux: Literal[False] = False, mode: Mode = "compile"
         ) -> Callable[Concatenate[X, P], X]: ...
@overload
def grad(fn: Callable[Concatenate[X, P], tuple[Any, A]], wrt: Literal[0] = 0, *,
         has_aux: Literal[True], mode: Mode = "compile"
         ) -> Callable[Concatenate[X, P], tuple[X, A]]: ...
@overload
def grad(fn: Callable[P, Any], wrt: Wrt, *, has_aux: bool = False,
         mode: Mode = "compile") -> Callable[P, Any]: ...
@overload
def grad(fn: None = None, wrt: Wrt = 0, *, has_aux: bool = False,
         mode: Mode = "compile") -> Callable[[Callable[P, Any]], Callable[P, Any]]: ...
def grad(fn: Callable[..., Any] | None = None, wrt: Wrt = 0, *, has_aux: bool = False,
         mode: Mode = "compile") -> Any:
    """The gradient of a scalar-valued function.

    ``grad(fn)`` reads ``fn``'s source and returns a function with ``fn``'s
    positional signature that computes the gradient of ``fn``'s output with
    respect to the argument(s) ``wrt``. The derivative code (the *adjoint*) is
    generated at the first call, specialised on the types, shapes and dtypes of
    that call's arguments, compiled once and cached; :func:`source` shows it.

    Parameters
    ----------
    fn : callable
        A Python function (also a lambda, a nested function, a bound method or
        a function made by sourcediff) returning a scalar: a float, a 0-d array
        or a one-element array. Left out, ``grad`` returns a decorator:
        ``@grad(wrt=1)``.
    wrt : int, str or tuple of them, default 0
        The argument(s) to differentiate with respect to. An ``int`` counts the
        call's positional arguments (those in ``*args`` too); a ``str`` names a
        parameter, keyword-only and ``**kwargs`` ones included. A tuple gives
        a tuple of gradients, in its order.
    has_aux : bool, default False
        ``fn`` returns ``(loss, aux)``; only ``loss`` is differentiated and the
        gradient function returns ``(gradient, aux)``, as in JAX.
    mode : {"compile", "tape"}, default "compile"
        ``"compile"`` transforms the source ahead of time. ``"tape"`` records
        the operations at run time instead (:mod:`sourcediff.tape`), which runs
        any Python but is slower on small inputs. Where the source cannot be
        read at all (a function made by ``exec``), ``"compile"`` falls back to
        the tape and warns once.

    Returns
    -------
    callable
        ``g(*args, **kwargs)``: the gradient, shaped like the argument it is
        taken with respect to (a float for a float, an array of the same
        shape and dtype for an array, a dict, list, tuple, dataclass or
        registered container of gradients for one of those); a tuple of such
        gradients for a tuple ``wrt``; ``(gradient, aux)`` with ``has_aux``.

    Raises
    ------
    SourceDiffError
        What the compiler refuses, before doing any work: a construct it does
        not transform (:class:`UnsupportedSyntaxError`), a differentiated value
        reaching an operation with no derivative rule
        (:class:`MissingRuleError`), a non-scalar output
        (:class:`NonScalarOutputError`), integer or unknown ``wrt`` arguments
        (:class:`ArgumentError`). Each names the function, ``file:line``, the
        construct and what to do instead; never a silent wrong gradient.

    See Also
    --------
    value_and_grad : the value and the gradient in one pass.
    jvp, vjp : forward and reverse mode for functions with any output.
    source : the code ``grad`` generated.

    Notes
    -----
    *Re-specialisation.* Later calls with arguments of the same types, shapes
    and dtypes run the generated code directly (no wrapper in between; a guard
    sends other arguments back to the dispatcher). Arguments of a new shape or
    dtype compile a new specialisation on their first call, and each one
    stays cached, so alternating between two batch sizes compiles twice in
    all. Data read from globals and closures (numbers, arrays) is read at every
    call; a redefined helper function compiles again.

    *Composition.* ``grad(grad(f))`` works to any order for a scalar argument
    (forward mode over the generated code); ``jvp``, ``vjp``, ``jacobian``,
    ``hessian`` and ``hvp`` compose with gradients, and a function that calls
    ``grad`` inside it can be differentiated once. What is not composed
    raises a :class:`SourceDiffError`, never a wrong number.

    Examples
    --------
    >>> import numpy as np
    >>> from sourcediff import grad
    >>> def loss(w, b, x):
    ...     return np.sum((x @ w + b) ** 2)
    >>> w, b = np.array([0.5, -0.5]), 0.1
    >>> x = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> grad(loss)(w, b, x)
    array([-3.2, -4.8])

    A tuple ``wrt``, by position or by name, gives a tuple; a float argument
    gets a float gradient:

    >>> dw, db = grad(loss, wrt=(0, "b"))(w, b, x)
    >>> dw, round(db, 12)
    (array([-3.2, -4.8]), -1.6)

    New shapes compile a new specialisation at their first call:

    >>> dloss = grad(loss)
    >>> dloss(np.array([1.0, 2.0, 3.0]), 0.0, np.ones((2, 3)))
    array([24., 24., 24.])

    ``has_aux`` passes data through alongside the gradient:

    >>> def with_residual(w, x):
    ...     r = x @ w
    ...     return np.sum(r ** 2), r
    >>> g, r = grad(with_residual, has_aux=True)(w, x)
    >>> g, r
    (array([-4., -6.]), array([-0.5, -0.5]))

    As a decorator, and to higher order:

    >>> @grad(wrt="y")
    ... def d_dy(x, y):
    ...     return x * y ** 2
    >>> d_dy(2.0, 3.0)
    12.0
    >>> def cube(x):
    ...     return x ** 3
    >>> grad(grad(cube))(2.0), grad(grad(grad(cube)))(2.0)
    (12.0, 6.0)
    """
    if fn is None:
        return lambda f: grad(f, wrt, has_aux=has_aux, mode=mode)
    if inspect.ismethod(fn) and mode != "tape":
        return _method(grad, fn, wrt, has_aux=has_aux)
    if hasattr(fn, "plain_function"):
        from .higher import ForwardGrad
        return ForwardGrad(fn, wrt, with_value=False)
    if mode == "tape":
        from . import tape
        return tape.grad(fn, wrt, has_aux=has_aux)
    return _public(GradFunction(fn, wrt, has_aux, with_value=False))


@overload  # wrt=0: the gradient has the first argument's type
def value_and_grad(fn: Callable[Concatenate[X, P], T], wrt: Literal[0] = 0, *,  # type: ignore[overload-overlap]
                   has_aux: Literal[False] = False, mode: Mode = "compile"
                   ) -> Callable[Concatenate[X, P], tuple[T, X]]: ...
@overload
def value_and_grad(fn: Callable[Concatenate[X, P], tuple[T, A]], wrt: Literal[0] = 0, *,  # type: ignore[overload-overlap]
                   has_aux: Literal[True], mode: Mode = "compile"
                   ) -> Callable[Concatenate[X, P], tuple[tuple[T, A], X]]: ...
@overload
def value_and_grad(fn: Callable[P, T], wrt: Wrt, *, has_aux: bool = False,
                   mode: Mode = "compile") -> Callable[P, tuple[Any, Any]]: ...
@overload
def value_and_grad(fn: None = None, wrt: Wrt = 0, *, has_aux: bool = False,
                   mode: Mode = "compile"
                   ) -> Callable[[Callable[P, Any]], Callable[P, tuple[Any, Any]]]: ...
def value_and_grad(fn: Callable[..., Any] | None = None, wrt: Wrt = 0, *,
                   has_aux: bool = False, mode: Mode = "compile") -> Any:
    """The value of a scalar-valued function and its gradient, in one pass.

    ``value_and_grad(fn)(*args)`` returns ``(fn(*args), grad(fn)(*args))``
    while running ``fn``'s forward computation once. The parameters, the
    specialisation on argument shapes and what composes are as for
    :func:`grad`.

    Parameters
    ----------
    fn : callable
        A Python function returning a scalar (``(scalar, aux)`` with
        ``has_aux``). Left out, ``value_and_grad`` returns a decorator.
    wrt : int, str or tuple of them, default 0
        The argument(s) to differentiate with respect to, by position or by
        parameter name; a tuple gives a tuple of gradients.
    has_aux : bool, default False
        ``fn`` returns ``(loss, aux)``: the result is ``((loss, aux), gradient)``.
    mode : {"compile", "tape"}, default "compile"
        Source transformation, or the runtime tape (:mod:`sourcediff.tape`).

    Returns
    -------
    callable
        ``vg(*args, **kwargs) -> (value, gradient)``, each gradient shaped
        like its argument.

    Raises
    ------
    SourceDiffError
        As :func:`grad`.

    See Also
    --------
    grad : the gradient alone (it does not keep the value).

    Examples
    --------
    >>> import numpy as np
    >>> from sourcediff import value_and_grad
    >>> def rosen(x):
    ...     return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
    >>> value, g = value_and_grad(rosen)(np.array([1.0, 1.0, 1.0]))
    >>> float(value), g
    (0.0, array([0., 0., 0.]))

    It fits optimisers that want both, such as ``scipy.optimize.minimize(...,
    jac=True)``. With ``has_aux``:

    >>> def loss(w, x):
    ...     r = x @ w
    ...     return np.sum(r ** 2), r
    >>> (value, r), g = value_and_grad(loss, has_aux=True)(
    ...     np.array([1.0, 2.0]), np.eye(2))
    >>> float(value), r, g
    (5.0, array([1., 2.]), array([2., 4.]))
    """
    if fn is None:
        return lambda f: value_and_grad(f, wrt, has_aux=has_aux, mode=mode)
    if inspect.ismethod(fn) and mode != "tape":
        return _method(value_and_grad, fn, wrt, has_aux=has_aux)
    if hasattr(fn, "plain_function"):
        from .higher import ForwardGrad
        return ForwardGrad(fn, wrt, with_value=True)
    if mode == "tape":
        from . import tape
        return tape.value_and_grad(fn, wrt, has_aux=has_aux)
    return _public(GradFunction(fn, wrt, has_aux, with_value=True))


grad.__sourcediff_transform__ = True  # differentiated where it is called: normalize.py
value_and_grad.__sourcediff_transform__ = True


def vjp(fn: Callable[..., T], *primals: Any) -> tuple[T, Callable[[T], tuple[Any, ...]]]:
    """Evaluate a function and return its pullback (reverse mode, any output).

    ``vjp(fn, *primals)`` runs ``fn(*primals)`` once and returns its output
    with a *pullback*: ``pullback(cotangent)`` gives the vector-Jacobian
    product, one cotangent per primal (``cotangent @ J_i`` for each argument
    ``i``), without forming the Jacobian. This is PyTorch's
    ``out.backward(cotangent)`` and ``jax.vjp``.

    Parameters
    ----------
    fn : callable
        A Python function (or a :func:`primitive`, or a gradient made by
        sourcediff: ``vjp(grad(f), x)`` gives Hessian-vector products).
    *primals
        The arguments, by position; parameters left out keep their defaults.
        Every primal is differentiated.

    Returns
    -------
    out : object
        ``fn(*primals)``.
    pullback : callable
        ``pullback(cotangent) -> tuple``; ``cotangent`` has the shape of
        ``out``, and the tuple holds one cotangent per primal, each shaped like
        its primal. It may be called again (later calls rerun the forward
        pass).

    Raises
    ------
    SourceDiffError
        As :func:`grad`; :class:`ArgumentError` for a cotangent of the wrong
        shape.

    See Also
    --------
    jvp : forward mode, one directional derivative per call.
    jacobian : the whole Jacobian.

    Examples
    --------
    >>> import numpy as np
    >>> from sourcediff import vjp
    >>> def f(x, y):
    ...     return x * y + np.sin(x)
    >>> out, pullback = vjp(f, np.array([0.0, 1.0]), np.array([2.0, 3.0]))
    >>> out
    array([0.        , 3.84147098])
    >>> dx, dy = pullback(np.ones(2))
    >>> dx, dy
    (array([3.        , 3.54030231]), array([0., 1.]))
    """
    from .higher import flat_primals, gradient_vjp
    made = getattr(fn, "__sourcediff_state__", fn)
    if hasattr(fn, "plain_function") or isinstance(made, GradFunction):
        return gradient_vjp(made, primals)  # reverse over reverse: see higher.gradient_vjp
    wrt, flat, packed = tuple(range(len(primals))), primals, False
    first = None  # the split adjoint's pullback, usable once
    if isinstance(fn, Primitive):
        adj = _PrimitiveAdjoint(fn, wrt, seed=True)
        out = fn(*primals)
    else:
        _fast_check(fn, primals, wrt)
        flat, wrt, packed = flat_primals(fn, primals)  # defaults filled in, *args a tuple
        try:
            adj = adjoint_of(fn, wrt, "split", spec=spec_of(flat))
        except SourceUnavailableError as exc:
            import warnings

            from . import tape
            warnings.warn(f"sourcediff: {exc.bare_message}; using the runtime tape instead",
                          stacklevel=2)
            return tape.vjp(fn, *primals)
        except split.NotSplittable:
            adj = adjoint_of(fn, wrt, "vjp", spec=spec_of(flat))
            out = fn(*primals)
        else:
            out, first = adj.fn(*flat)  # the function runs once, here; its pullback waits
    taken = []

    def pullback(cotangent):
        if np.shape(cotangent) != np.shape(out):
            raise ArgumentError(
                f"the cotangent has shape {np.shape(cotangent)} but the output of "
                f"'{fn.__name__}' has shape {np.shape(out)}", function=fn.__name__,
                hint="pass a cotangent shaped like the output, e.g. np.ones_like(out)")
        if first is not None and not taken:
            taken.append(True)  # a split pullback replays its forward pass's saves once
            grads = first(cotangent)
        else:  # called again: the whole adjoint, forward pass included
            again = adj if first is None else adjoint_of(fn, wrt, "vjp", spec=spec_of(flat))
            grads = again.fn(*flat, cotangent)[1]
        grads = signature.per_primal([runtime.like(g, flat[i]) for g, i in zip(grads, wrt)],
                                     packed)
        return tuple(_own(g, cotangent) for g in grads)

    pullback.__sourcediff_source__ = adj.source
    return out, pullback


def _own(g, given):
    """``g``, copied if it is (a view of) an array the caller gave us."""
    if isinstance(g, np.ndarray) and isinstance(given, np.ndarray) and np.may_share_memory(
            g, given):
        return g.copy()
    return g


def source(fn: object) -> str:
    '''The Python source sourcediff generated for a function it made.

    Parameters
    ----------
    fn : callable
        The result of :func:`grad`, :func:`value_and_grad` (the adjoint they
        run), of a :func:`vjp` pullback, or of ``grad`` applied to a gradient
        (the tangent code it runs).

    Returns
    -------
    str
        The generated function's source. After a call, it is the code
        specialised for that call's argument types and shapes; before any
        call, generic code valid for any shapes. The adjoint returns the value
        (``None`` when not needed) and the tuple of gradients; the function
        ``grad`` returned runs the same body and returns the gradients alone,
        each given its argument's type (``inspect.getsource`` shows that code,
        guard included).

    Raises
    ------
    SourceDiffError
        ``fn`` was not made by sourcediff.

    Examples
    --------
    >>> import numpy as np
    >>> from sourcediff import grad, source
    >>> def f(x, y):
    ...     return np.sin(x) * y
    >>> df = grad(f)
    >>> df(0.0, 2.0)
    2.0
    >>> print(source(df))
    def f_grad(x, y):
        """Adjoint of f with respect to x (generated by sourcediff)."""
        # reverse pass
        # grad of: return np.sin(x) * y
        return None, (y * np.cos(x),)
    <BLANKLINE>
    '''
    src = getattr(fn, "__sourcediff_source__", None)
    if isinstance(src, str):
        return src
    last = getattr(fn, "_last", None)
    if last is not None and getattr(last, "source", None) and not isinstance(fn, _Transformed):
        return last.source  # grad of a sourcediff function: the tangent code it runs
    fn = getattr(fn, "__sourcediff_state__", fn)
    if isinstance(fn, _Transformed):
        if getattr(fn, "_last", None) is not None:
            return fn._last.source
        latest = _latest.get(_cache_key(fn.fn, fn.wrt, "grad", fn.has_aux))
        if latest is not None:
            return latest.source
        return adjoint_of(fn.fn, fn.wrt, "grad", fn.has_aux).source  # generic, unspecialised
    raise SourceDiffError(f"{fn!r} was not made by sourcediff, so it has no generated source",
                          hint="pass the result of grad(...), value_and_grad(...) or jvp(...)")
