"""autograd's ``check_grads`` / ``combo_check`` contract, checked on sourcediff.

``check_grads(fun, argnum)(*args, **kwargs)`` differentiates ``fun`` with respect to the
selected arguments, in forward mode (``sourcediff.jvp``) and reverse mode
(``sourcediff.vjp``), against central differences along random directions. At order 2
it checks the gradient of ``<u, fun(x)>`` (``sourcediff.grad``) the same way, so the
second derivative is taken forward over reverse (``jvp`` of a gradient) and reverse
over reverse (``vjp`` of a gradient). The function under test is written as source
(``def checked(x0, x1): return fun(x0, C0, x1, axis=K_axis)``), as a user would write it,
so sourcediff's compiler reads it. Complex values follow autograd's convention: a
cotangent is passed conjugated and the result read back conjugated."""

import itertools
import linecache

import numpy as np

import sourcediff as sd

TOL = RTOL = 1e-6
EPS = 1e-6
_count = itertools.count()


def scalar_close(a, b):
    return abs(a - b) < TOL or abs(a - b) / abs(a + b) < RTOL


def _tmap(f, *trees):
    t = trees[0]
    if isinstance(t, (tuple, list)):
        return type(t)(_tmap(f, *items) for items in zip(*trees))
    if isinstance(t, dict):
        return {k: _tmap(f, *(tr[k] for tr in trees)) for k in t}
    return f(*trees)


def _leaves(t):
    if isinstance(t, (tuple, list)):
        return [leaf for item in t for leaf in _leaves(item)]
    if isinstance(t, dict):
        return [leaf for k in t for leaf in _leaves(t[k])]
    return [t]


def _randn(x):
    shape = np.shape(x)
    v = np.random.randn(*shape)
    if np.iscomplexobj(x):
        v = v + 1j * np.random.randn(*shape)
    return v if shape else (complex(v) if np.iscomplexobj(x) else float(v))


def _inner(a, b):
    return sum(float(np.real(np.sum(np.conj(x) * y))) for x, y in zip(_leaves(a), _leaves(b)))


def _numeric_jvp(f, xs, vs):
    plus = f(*_tmap(lambda x, v: x + v * EPS / 2, xs, vs))
    minus = f(*_tmap(lambda x, v: x - v * EPS / 2, xs, vs))
    return _tmap(lambda p, m: (np.asarray(p) - np.asarray(m)) / EPS, plus, minus)


def _source_function(fun, args, kwargs, selected):
    """``fun`` of the selected arguments, written as source and registered in linecache."""
    params = [f"x{k}" for k in range(len(selected))]
    glob = {"FUN": fun, "np": np}
    call = []
    for i, a in enumerate(args):
        if i in selected:
            call.append(params[selected.index(i)])
        else:
            glob[f"C{i}"] = a
            call.append(f"C{i}")
    for k, v in kwargs.items():
        glob[f"K_{k}"] = v
        call.append(f"{k}=K_{k}")
    filename = f"<autograd check_grads {next(_count)}>"
    src = f"def checked({', '.join(params)}):\n    return FUN({', '.join(call)})\n"
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    exec(compile(src, filename, "exec"), glob)
    return glob["checked"]


def _inner_with(u, f, n):
    """``h(*xs) = Re <u, f(*xs)>`` as source (a scalar function to take gradients of)."""
    params = ", ".join(f"x{k}" for k in range(n))
    filename = f"<autograd check_grads {next(_count)}>"
    src = (f"def inner_with_u({params}):\n"
           f"    return np.real(np.sum(np.conj(U) * F({params})))\n")
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    glob = {"U": u, "F": f, "np": np}
    exec(compile(src, filename, "exec"), glob)
    return glob["inner_with_u"]


def _check_first_order(f, xs, modes):
    y = f(*xs)
    vs = _tmap(_randn, list(xs))
    if "rev" in modes:
        u = _tmap(_randn, y)
        out, pullback = sd.vjp(f, *xs)
        cots = pullback(_tmap(np.conj, u))
        cots = cots if isinstance(cots, tuple) else (cots,)
        assert len(cots) == len(xs), (len(cots), len(xs))
        for c, x in zip(cots, xs):
            shapes = [np.shape(leaf) for leaf in _leaves(c)], [np.shape(leaf) for leaf in _leaves(x)]
            assert shapes[0] == shapes[1], f"gradient shapes {shapes[0]} != {shapes[1]}"
        exact = _inner(vs, _tmap(np.conj, list(cots)))
        numeric = _inner(u, _numeric_jvp(f, xs, vs))
        assert scalar_close(numeric, exact), f"vjp check: analytic {exact}, numeric {numeric}"
    if "fwd" in modes:
        _, t = sd.jvp(f, tuple(xs), tuple(vs))
        check_equivalent(t, _numeric_jvp(f, xs, vs))


def _check(f, xs, modes, order):
    _check_first_order(f, xs, modes)
    y = f(*xs)
    if order > 1 and not isinstance(y, (tuple, list, dict)):
        u = _randn(y)
        h = _inner_with(u, f, len(xs))
        g = sd.grad(h, wrt=tuple(range(len(xs))) if len(xs) > 1 else 0)
        _check(g, xs, modes, order - 1)


def check_grads(fun, argnum=0, modes=None, order=2):
    modes = ("fwd", "rev") if modes is None else tuple(modes)

    def checker(*args, **kwargs):
        selected = [argnum] if isinstance(argnum, int) else list(argnum)
        f = _source_function(fun, args, kwargs, selected)
        _check(f, [args[i] for i in selected], modes, order)

    return checker


def check_equivalent(x, y):
    assert np.shape(_leaves(x)[0]) == np.shape(_leaves(y)[0]) or len(_leaves(x)) > 1
    v = _tmap(_randn, x)
    assert scalar_close(_inner(x, v), _inner(y, v)), f"Value mismatch:\nx: {x}\ny: {y}"


def combo_check(fun, *args, **kwargs):
    def _combo_check(*arg_lists, **kwarg_lists):
        pairs = [[(k, v) for v in vs] for k, vs in kwarg_lists.items()]
        for a in itertools.product(*arg_lists):
            for kw in itertools.product(*pairs):
                check_grads(fun, *args, **kwargs)(*a, **dict(kw))
    return _combo_check
