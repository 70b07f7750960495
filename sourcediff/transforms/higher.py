"""Forward mode and higher order: ``jvp``, ``jacobian``, ``hessian``, ``grad(grad(f))``.

Everything here differentiates *generated* code: the adjoint or tangent
function sourcediff wrote is itself plain Python (registered in linecache),
so it is read back, trimmed to the one output wanted (a *selector*), and
transformed again in forward mode. ``hessian`` is forward-over-reverse, ``jacobian(jacobian(f))``
forward over forward (:mod:`nested`). The caches, selectors and views of generated code are in
:mod:`compiled`.
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
from ..front import own
from ..opt.shapes import spec_of
from .jvp_inputs import check_jvp_inputs, float_leaf
from . import blocks, nested


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
        zeros, or None, for the arguments held fixed (None for one that is no
        number: None, a string, an object).

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
        if t is None:  # (no tangent: the argument is held fixed)
            continue
        mismatch = structure.structure_mismatch(p, t)
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
    tangents = tuple(zeros_tangent(p) if t is None else t for p, t in zip(primals, tangents))
    if (made_jacobian := nested.tangent(fn, primals, tangents, jvp)) is not None:
        return made_jacobian  # (jvp of jacobian(f): forward over forward)
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
            and made._pick is None):
        return v
    args = [_primal_of(made, i, primals) for i in made.wrt_items]
    if any(a is None for a in args):
        return v
    return _like(v, args[0]) if made.single else tuple(_like(g, a) for g, a in zip(v, args))


def _primal_of(made, item, primals):
    """The primal(s) ``wrt`` item ``item`` of the gradient ``made`` differentiates: a
    positional argument, or the tuple of those ``*args`` holds; None if not passed."""
    if not isinstance(item, str):
        return primals[item] if item < len(primals) else None
    npos, var = blocks.positional_of(made.fn)
    return tuple(primals[npos:]) if item == var else None


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
        tuple of blocks, one per argument. An argument that is a container
        (the ``*args`` tuple too, by name) gives blocks with its structure.

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

    def jac(*args, **kwargs):
        sel, single = blocks.select(fn, _signature_fn(fn), wrt, args, kwargs, "jacobian")
        if all(s.plain for s in sel):  # a gradient calling helpers (hessian): they run once
            recorded = recorded_jacobian(fn, args, tuple(s.item for s in sel), single)
            if recorded is not None:
                return recorded
        out = fn(*args)
        outs, put_back = blocks.output_parts(out)
        n_out = sum(int(np.size(o)) for o in outs)
        per_out = [[] for _ in outs]   # per output leaf: one block per selected argument
        for s in sel:
            leaf_blocks = [[] for _ in outs]
            for m, leaf in enumerate(s.leaves):
                n_in, shape = int(np.size(leaf)), np.shape(leaf)
                # forward: one pass per input element (also where an argument held fixed
                # is not a float, an object: reverse mode would differentiate every one)
                if put_back or not s.plain or n_in <= n_out or \
                        not all(float_leaf(a) for a in args):
                    cols = [[] for _ in outs]
                    for j in range(n_in):
                        t_out = jvp(fn, args, s.one_hot(args, m, j))[1]
                        for c, t, o in zip(cols, blocks.tangent_leaves(t_out, len(outs)),
                                           outs):
                            c.append(np.ravel(np.broadcast_to(t, np.shape(o))))
                    Js = [np.stack(c, axis=-1) if c else np.zeros((int(np.size(o)), 0))
                          for c, o in zip(cols, outs)]
                else:           # reverse: one pass per output element
                    _, pull = vjp(plain(fn, args), *args)
                    rows = []
                    for j in range(n_out):
                        e = np.zeros(n_out)
                        e[j] = 1.0
                        ct = e.reshape(np.shape(out)) if np.ndim(out) else 1.0
                        rows.append(np.ravel(pull(ct)[s.positions[0]]))
                    Js = [np.stack(rows, axis=0)]
                for acc, J, o in zip(leaf_blocks, Js, outs):
                    acc.append(J.reshape(np.shape(o) + shape))
            for acc, parts in zip(per_out, leaf_blocks):
                acc.append(s.rebuild(parts))
        made = [acc[0] if single else tuple(acc) for acc in per_out]
        return put_back(made) if put_back else made[0]
    jac.__name__ = f"jacobian_{getattr(fn, '__name__', 'f')}"
    return nested.tag(jac, fn, wrt)


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
    return own.made("hessian", jacobian(grad(fn, wrt), wrt))


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

    def product(*args_and_v, **kwargs):
        if not args_and_v or args_and_v[-1] is None:
            raise ArgumentError("hvp needs the vector last: product(*args, v)",
                                function=getattr(fn, "__name__", None),
                                hint="pass a vector shaped like the argument wrt selects "
                                     "(a tuple of them for a tuple wrt)")
        *args, v = args_and_v
        sel, single = blocks.select(fn, _signature_fn(fn), wrt, args, kwargs, "hvp")
        vs = (v,) if single else tuple(v)
        if len(vs) != len(sel):
            raise ArgumentError(f"hvp with wrt={wrt!r} takes {len(sel)} vector(s), got "
                                f"{len(vs)}", function=getattr(fn, "__name__", None),
                                hint="pass one vector per argument wrt selects, as a tuple")
        g = grad(fn, wrt)
        tangents = [zeros_tangent(a) for a in args]  # (an object held fixed: 0.0)
        for s, vi in zip(sel, vs):
            s.place(tangents, vi if not s.plain else
                    zeros_tangent(s.value) + vi if np.ndim(s.value) else float(vi))
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
