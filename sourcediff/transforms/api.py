"""The public API of the compiler: ``grad``, ``value_and_grad``, ``vjp``, ``source``.

What ``grad`` returns is in :mod:`gradfunction`, ``vjp`` in :mod:`pullback` (both
importable from here too).
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Concatenate, Literal, overload

from .._typing import A, Mode, P, T, Wrt, X
from ..pipeline.compiled import ForwardGrad, adjoint_of, latest_adjoint
from ..prims import registry
from ..ir.compiler_hook import provides
from ..errors import ArgumentError, SourceDiffError
from .gradfunction import (GradFunction, _bind, _fast_check, _flat_wrt, _method,  # noqa: F401
                           _public, _remake, _Transformed)
from .pullback import vjp  # noqa: F401  (public here)


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
def grad(fn: Callable[P, Any], *, argnum: Wrt, has_aux: bool = False,
         mode: Mode = "compile") -> Callable[P, Any]: ...
@overload
def grad(fn: None = None, wrt: Wrt = 0, *, has_aux: bool = False,
         mode: Mode = "compile") -> Callable[[Callable[P, Any]], Callable[P, Any]]: ...
def grad(fn: Callable[..., Any] | None = None, wrt: Wrt = 0, *, has_aux: bool = False,
         mode: Mode = "compile", argnum: Wrt | None = None) -> Any:
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
    argnum : int or tuple of ints, optional
        autograd's name for ``wrt`` (``grad(f, argnum=(0, 1))``), so code written
        for autograd runs as it is.
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
    wrt = _argnum(wrt, argnum)
    if fn is None:
        return lambda f: grad(f, wrt, has_aux=has_aux, mode=mode)
    if inspect.ismethod(fn) and mode != "tape" and registry.lookup(fn) is None:
        return _method(grad, fn, wrt, has_aux=has_aux)
    if hasattr(fn, "plain_function"):
        return ForwardGrad(fn, wrt, with_value=False)
    if mode == "tape":
        from .. import tape
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
def value_and_grad(fn: Callable[P, T], *, argnum: Wrt, has_aux: bool = False,
                   mode: Mode = "compile") -> Callable[P, tuple[Any, Any]]: ...
@overload
def value_and_grad(fn: None = None, wrt: Wrt = 0, *, has_aux: bool = False,
                   mode: Mode = "compile"
                   ) -> Callable[[Callable[P, Any]], Callable[P, tuple[Any, Any]]]: ...
def value_and_grad(fn: Callable[..., Any] | None = None, wrt: Wrt = 0, *,
                   has_aux: bool = False, mode: Mode = "compile",
                   argnum: Wrt | None = None) -> Any:
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
    argnum : int or tuple of ints, optional
        autograd's name for ``wrt``.
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
    >>> value, g = value_and_grad(rosen)(np.array([0.5, 1.0, 1.0]))
    >>> float(value), g
    (56.5, array([-151.,  150.,    0.]))

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
    wrt = _argnum(wrt, argnum)
    if fn is None:
        return lambda f: value_and_grad(f, wrt, has_aux=has_aux, mode=mode)
    if inspect.ismethod(fn) and mode != "tape" and registry.lookup(fn) is None:
        return _method(value_and_grad, fn, wrt, has_aux=has_aux)
    if hasattr(fn, "plain_function"):
        return ForwardGrad(fn, wrt, with_value=True)
    if mode == "tape":
        from .. import tape
        return tape.value_and_grad(fn, wrt, has_aux=has_aux)
    return _public(GradFunction(fn, wrt, has_aux, with_value=True))


grad.__sourcediff_transform__ = True  # differentiated where it is called: normalize.py
value_and_grad.__sourcediff_transform__ = True


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
        latest = latest_adjoint(fn.fn, fn.wrt, "grad", fn.has_aux)
        if latest is not None:
            return latest.source
        return adjoint_of(fn.fn, fn.wrt, "grad", fn.has_aux).source  # generic, unspecialised
    raise SourceDiffError(f"{fn!r} was not made by sourcediff, so it has no generated source",
                          hint="pass the result of grad(...), value_and_grad(...) or jvp(...)")


provides(grad)  # pickling remakes a gradient through these (compiler_hook)
provides(value_and_grad)


def _argnum(wrt, argnum):
    """``wrt``, or autograd's ``argnum`` in its place (not both)."""
    if argnum is None:
        return wrt
    if wrt != 0:
        raise ArgumentError("pass wrt or argnum (its autograd name), not both",
                            hint="drop argnum")
    return argnum
