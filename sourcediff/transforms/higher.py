"""Forward mode and higher order: ``jvp``, ``jacobian``, ``hessian``, ``grad(grad(f))``.

Everything here differentiates *generated* code: the adjoint or tangent
function sourcediff wrote is itself plain Python (registered in linecache),
so it is read back, trimmed to the one output wanted (a *selector*), and
transformed again in forward mode. ``hessian`` is forward-over-reverse. The caches,
selectors and views of generated code are in :mod:`compiled`.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from ..values import structure
from .._typing import T, Wrt
from .api import GradFunction, grad, vjp
from .gradfunction import _method, bound_parts
from ..pipeline.compiled import (ForwardGrad, _is_method, _like, _signature_fn,  # noqa: F401
                                 adjoint_view, flat_primals, jvp_adjoint, plain, selector,
                                 tangent_view)
from ..prims.custom import Primitive
from ..runtime.numeric_complex import real_where_real
from .rereverse import gradient_cotangents, recorded_jacobian
from ..runtime import zeros_tangent
from ..errors import ArgumentError
from ..opt.shapes import spec_of
from .jvp_inputs import check_jvp_inputs, float_leaf
from ..values.structure import resolve_wrt, structure_mismatch


def jvp(fn: Callable[..., T], primals: Sequence[Any], tangents: Sequence[Any]
        ) -> tuple[T, T]:
    """Evaluate a function and its directional derivative (forward mode).

    ``jvp(fn, primals, tangents)`` returns ``fn(*primals)`` and the
    Jacobian-vector product ``sum_i J_i @ tangents[i]``: how the output moves
    when each primal moves along its tangent. The tangent code is generated
    by forward-mode source transformation, specialised on the primals' types
    and shapes at the first call and cached, like :func:`grad`'s adjoints. It
    costs about one evaluation of ``fn`` per call, whatever the output's size,
    so it suits functions with few inputs and many outputs.

    Parameters
    ----------
    fn : callable
        A Python function, a :func:`primitive` with a ``defjvp`` rule, or a
        function sourcediff made: ``jvp(grad(f), (x,), (v,))`` is a
        Hessian-vector product (forward over reverse).
    primals : sequence
        The arguments, by position (parameters left out keep their defaults).
    tangents : sequence
        One tangent per primal, with its primal's type, structure and shape;
        zeros for the arguments held fixed.

    Returns
    -------
    out : object
        ``fn(*primals)``.
    tangent_out : object
        The derivative of the output along ``tangents``, shaped like ``out``.

    Raises
    ------
    SourceDiffError
        As :func:`grad` (the same constructs are refused);
        :class:`ArgumentError` if the tangents do not match the primals.

    See Also
    --------
    vjp : reverse mode, one cotangent per call.
    jacobian : the whole Jacobian, by whichever mode is cheaper.

    Examples
    --------
    >>> import numpy as np
    >>> from sourcediff import grad, jvp
    >>> def f(x, y):
    ...     return x * y + np.sin(x)
    >>> out, tangent = jvp(f, (0.0, 3.0), (1.0, 0.0))   # d/dx at (0, 3)
    >>> float(out), float(tangent)
    (0.0, 4.0)

    Over a gradient, a second derivative:

    >>> def cube(x):
    ...     return x ** 3
    >>> jvp(grad(cube), (2.0,), (1.0,))
    (12.0, 12.0)
    """
    primals, tangents = tuple(primals), tuple(tangents)
    made = getattr(fn, "__sourcediff_state__", fn)  # (grad(f): its state, a GradFunction)
    if len(primals) != len(tangents):
        raise ArgumentError(f"jvp got {len(primals)} primal(s) but {len(tangents)} tangent(s)",
                            function=getattr(fn, "__name__", None),
                            hint="pass one tangent per primal (zeros for the ones held fixed)")
    for p, t in zip(primals, tangents):
        mismatch = structure_mismatch(p, t)
        if mismatch:
            raise ArgumentError(f"a tangent does not match its primal: {mismatch}",
                                function=getattr(fn, "__name__", None),
                                hint="give each tangent its primal's type and structure, e.g. "
                                     "the same dataclass holding np.ones_like(...) fields")
        if mismatch is None and np.shape(p) != np.shape(t):
            raise ArgumentError(
                f"a tangent has shape {np.shape(t)} but its primal has shape {np.shape(p)}",
                function=getattr(fn, "__name__", None),
                hint="give each tangent its primal's shape, e.g. np.ones_like(x)")
    check_jvp_inputs(fn, primals, tangents)
    if isinstance(fn, Primitive):
        ans = fn(*primals)
        return ans, fn.jvp_or_raise()(tangents, ans, *primals)
    held = ()
    if _is_method(fn):  # model.loss: its function, with the object first and held fixed
        fn, owner, _ = bound_parts(fn)
        held = (owner,)
    flat, wrt, packed = flat_primals(fn, held + primals)
    wrt = wrt[len(held):]
    fn = plain(fn, flat)
    if packed:  # the primals past the named ones fill *args: their tangents a tuple too
        k = len(wrt) - 1
        tangents = tangents[:k] + (tuple(tangents[k:]),)
    # an argument whose tangent is zero does not move: left out, so no rule multiplies a
    # zero by a derivative that is not finite there (d/dn of x ** n at x < 0 is NaN)
    moved = [(w, t) for w, t in zip(wrt, tangents) if not _zero_tangent(t)]
    wrt, tangents = tuple(w for w, _ in moved), tuple(t for _, t in moved)
    adj = jvp_adjoint(fn, wrt, spec_of(flat))
    out, tangent = adj.fn(*flat, *tangents)
    tangent = _shaped_like(real_where_real(tangent, out), out)
    return _as_gradient(made, primals, out), _as_gradient(made, primals, tangent)


def _as_gradient(made, primals, v):
    """``jvp(grad(f), ...)``: the gradient and its tangent as ``grad`` gives them, each like
    its argument (a gradient that is still the symbolic zero, ``0.0``, becomes zeros)."""
    if not (isinstance(made, GradFunction) and not made.with_value and not made.has_aux
            and made._pick is None and max(made.wrt) < len(primals)):
        return v
    if made.single:
        return _like(v, primals[made.wrt[0]])
    return tuple(_like(g, primals[i]) for g, i in zip(v, made.wrt))


def _shaped_like(t, out):
    """The output's tangent with the output's shape: a tangent that is still the symbolic
    zero (``0.0``: the gradient ``grad(f)`` returns where no branch wrote it) becomes
    zeros, as ``like`` makes the gradient itself."""
    if isinstance(t, (list, tuple)) and isinstance(out, (list, tuple)) and len(t) == len(out):
        return type(t)(_shaped_like(a, b) for a, b in zip(t, out))
    if type(out) is np.ndarray and out.ndim and np.ndim(t) == 0:
        return np.full(out.shape, t, dtype=np.result_type(t, out))
    return t


def _zero_tangent(t):
    return all(not np.any(v) for _, v in structure.leaves(t, ""))


def jacobian(fn: Callable[..., Any], wrt: Wrt = 0) -> Callable[..., Any]:
    """The Jacobian of a function, by forward or reverse mode.

    Parameters
    ----------
    fn : callable
        A Python function with array (or scalar) output, or a function made by
        sourcediff: ``jacobian(grad(f))`` is the Hessian.
    wrt : int, str or tuple of them, default 0
        The argument(s) to differentiate with respect to; a tuple gives a
        tuple of blocks, one per argument.

    Returns
    -------
    callable
        ``jac(*args)``: an array of shape ``out.shape + arg.shape``, with
        ``J[i..., j...] = d out[i...] / d arg[j...]``. It takes reverse mode
        (one :func:`vjp` pullback per output element) when the output is the
        smaller, forward mode (one :func:`jvp` per input element) otherwise.
        A function returning a tuple or list (such as ``grad(f, wrt=(0, 1))``)
        gives a tuple over its outputs, each a tuple over the arguments when
        ``wrt`` is a tuple (as ``jax.jacobian``).

    See Also
    --------
    hessian : ``jacobian(grad(f))``.

    Examples
    --------
    >>> import numpy as np
    >>> from sourcediff import jacobian
    >>> def h(x):
    ...     return np.array([x[0] * x[1], np.sin(x[0])])
    >>> jacobian(h)(np.array([0.0, 2.0]))
    array([[2., 0.],
           [1., 0.]])
    """
    if _is_method(fn):
        return _method(jacobian, fn, wrt)

    def jac(*args):
        idx, single = resolve_wrt(_signature_fn(fn), wrt)
        blocks = recorded_jacobian(fn, args, idx, single)
        if blocks is not None:  # a gradient calling helpers (hessian): they run once
            return blocks
        out = fn(*args)
        multi = isinstance(out, (tuple, list))
        outs = tuple(out) if multi else (out,)
        per_out = [[] for _ in outs]
        for i in idx:
            x = np.asarray(args[i], dtype=float)
            n_out, n_in = sum(int(np.size(o)) for o in outs), int(x.size)
            # forward: one pass per input element (also where an argument held fixed is
            # not a float, an object: reverse mode would differentiate every argument)
            if multi or n_in <= n_out or not all(float_leaf(a) for a in args):
                cols = [[] for _ in outs]
                for j in range(n_in):
                    e = np.zeros(x.size)
                    e[j] = 1.0
                    tangents = [zeros_tangent(a) if k != i else  # (an object: 0.0)
                                e.reshape(x.shape) for k, a in enumerate(args)]
                    tangents = [t if np.ndim(a) else float(t) for t, a in zip(tangents, args)]
                    t_out = jvp(fn, args, tangents)[1]
                    for c, t, o in zip(cols, tuple(t_out) if multi else (t_out,), outs):
                        c.append(np.ravel(np.broadcast_to(t, np.shape(o))))  # (a zero: 0.0)
                Js = [np.stack(c, axis=-1) if c else np.zeros((int(np.size(o)), 0))
                      for c, o in zip(cols, outs)]
            else:               # reverse: one pass per output element
                _, pull = vjp(plain(fn, args), *args)
                rows = []
                for j in range(n_out):
                    e = np.zeros(n_out)
                    e[j] = 1.0
                    ct = e.reshape(np.shape(out)) if np.ndim(out) else 1.0
                    rows.append(np.ravel(pull(ct)[i]))
                Js = [np.stack(rows, axis=0)]
            for acc, J, o in zip(per_out, Js, outs):
                acc.append(J.reshape(np.shape(o) + x.shape))
        blocks = [acc[0] if single else tuple(acc) for acc in per_out]
        return tuple(blocks) if multi else blocks[0]
    jac.__name__ = f"jacobian_{getattr(fn, '__name__', 'f')}"
    return jac


def hessian(fn: Callable[..., Any], wrt: Wrt = 0) -> Callable[..., Any]:
    """The Hessian of a scalar-valued function (forward over reverse).

    The gradient is generated by :func:`grad`, and its own Jacobian is taken by
    forward mode over the generated code, so each call costs one tangent pass
    per input element: exact second derivatives, no finite differences. Where the
    gradient calls your functions, it runs once instead, recorded by the runtime
    tape, and each row is a reverse pass over the record: a helper runs once per
    Hessian (:func:`rereverse.recorded_jacobian`).

    Parameters
    ----------
    fn : callable
        A Python function returning a scalar.
    wrt : int, str or tuple of them, default 0
        The argument(s). A tuple gives the nested blocks ``H[i][j] = d2f /
        dx_i dx_j`` of shape ``x_i.shape + x_j.shape``, as ``jax.hessian``
        with a tuple of ``argnums``.

    Returns
    -------
    callable
        ``hess(*args)``: an array of shape ``x.shape + x.shape`` (nested tuples
        of blocks for a tuple ``wrt``).

    See Also
    --------
    hvp : a Hessian-vector product, without forming the Hessian.

    Examples
    --------
    >>> import numpy as np
    >>> from sourcediff import hessian
    >>> def f(x, y):
    ...     return np.sum(x ** 2 * y)
    >>> hessian(f)(np.array([1.0, 2.0]), 3.0)
    array([[6., 0.],
           [0., 6.]])
    >>> H = hessian(f, wrt=(0, 1))(np.array([1.0, 2.0]), 3.0)
    >>> H[0][1]                                     # d2f / dx dy
    array([2., 4.])
    """
    if _is_method(fn):  # model.loss: its function, with the object first and held fixed
        return _method(hessian, fn, wrt)
    return jacobian(grad(fn, wrt), wrt)


def hvp(fn: Callable[..., Any], wrt: Wrt = 0) -> Callable[..., Any]:
    """Hessian-vector products of a scalar-valued function, without the Hessian.

    Parameters
    ----------
    fn : callable
        A Python function returning a scalar.
    wrt : int, str or tuple of them, default 0
        The argument(s) the Hessian is taken with respect to.

    Returns
    -------
    callable
        ``product(*args, v)``: the arguments of ``fn`` followed by a vector
        shaped like the argument ``wrt`` selects; gives ``H @ v`` by one
        forward pass over the generated gradient (:func:`jvp` of
        :func:`grad`). With a tuple ``wrt``, ``v`` is a tuple with one vector
        per argument, and the result a tuple: ``sum_j H[i][j] v[j]`` for each
        ``i``.

    Examples
    --------
    >>> import numpy as np
    >>> from sourcediff import hvp
    >>> def f(x, y):
    ...     return np.sum(x ** 2 * y)
    >>> hvp(f)(np.array([1.0, 2.0]), 3.0, np.array([1.0, 0.0]))
    array([6., 0.])
    """
    if _is_method(fn):
        return _method(hvp, fn, wrt)

    def product(*args_and_v):
        *args, v = args_and_v
        idx, single = resolve_wrt(_signature_fn(fn), wrt)
        vs = (v,) if single else tuple(v)
        if len(vs) != len(idx):
            raise ArgumentError(f"hvp with wrt={wrt!r} takes {len(idx)} vector(s), got "
                                f"{len(vs)}", function=getattr(fn, "__name__", None),
                                hint="pass one vector per argument wrt selects, as a tuple")
        g = grad(fn, wrt)
        tangents = [zeros_tangent(a) for a in args]  # (an object held fixed: 0.0)
        for i, vi in zip(idx, vs):
            tangents[i] = tangents[i] + vi if np.ndim(args[i]) else float(vi)
        return jvp(g, args, tangents)[1]
    return product


def symmetric_gradient_vjp(made, primals):
    """``vjp`` of a gradient sourcediff made, by symmetry of second derivatives (used
    where the pullback must itself be generated code, see :mod:`rereverse`): for ``g = grad(f, wrt)`` the pullback of ``v`` on argument ``j`` is
    ``sum_i v_i . d2f/dx_i dx_j``, which is the tangent of ``grad(f, wrt=every primal)``
    along ``v`` (in the ``wrt`` slots): one forward pass over the generated adjoint, calls
    into helpers included. Exact wherever the generated gradient is differentiable (within
    one branch of the code), as forward-over-reverse Hessians are."""
    name = getattr(made, "__name__", None)
    if getattr(made, "with_value", False) or getattr(made, "has_aux", False):
        raise ArgumentError("vjp of value_and_grad or of a gradient with has_aux=True is not "
                            "supported", function=name,
                            hint="take vjp of grad(f) (the gradient alone)")
    if isinstance(made, GradFunction):
        inner, items, single = made.fn, made.wrt_items, made.single
    else:  # ForwardGrad: grad of a sourcediff function
        inner, items, single = made.inner, made.wrt, made.single
    if not all(isinstance(i, (int, np.integer)) and i < len(primals) for i in items):
        raise ArgumentError("vjp of a gradient needs wrt to select arguments passed by "
                            "position", function=name,
                            hint="pass the differentiated arguments as vjp's primals")
    every = tuple(range(len(primals)))
    full = made if tuple(items) == every and single == (len(every) == 1) else grad(
        inner, every[0] if len(every) == 1 else every)
    out = made(*primals)

    def pullback(cotangent):
        vs = gradient_cotangents(cotangent, out, single, name)
        tangents = [np.zeros(np.shape(p)) if np.ndim(p) else 0.0 for p in primals]
        for i, v in zip(items, vs):
            tangents[i] = tangents[i] + v
        t = jvp(full, primals, tangents)[1]
        t = (t,) if len(every) == 1 else tuple(t)
        return tuple(_like(ti, p) for ti, p in zip(t, primals))

    return out, pullback
