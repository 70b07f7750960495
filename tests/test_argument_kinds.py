"""Everyday argument kinds through every public transform: NumPy integer scalars, None,
strings and containers held fixed; containers and ``*args`` differentiated by
``jacobian``, ``hessian``, ``hvp`` and ``vjp`` of a gradient; clear errors for what
cannot be (keywords to ``jacobian``, an item of ``*args`` by position). Values are
checked against central differences and hand-computed numbers."""

from __future__ import annotations

import dataclasses
import typing

import numpy as np
import pytest

import sourcediff as sd
from sourcediff.errors import ArgumentError, SourceDiffError
from sourcediff.values import structure

X = np.array([0.3, -0.7, 1.1])


def central(f, value, eps=1e-6):
    """d f / d value by central differences, for ``value`` and ``f``'s output each a
    float, an array or a container of them: the output's structure outside, the
    argument's inside, each block of shape ``out_leaf.shape + leaf.shape``."""
    leaves, rebuild = structure.flatten(value)
    outs, rebuild_out = structure.flatten(f(value))
    blocks = [[] for _ in outs]              # per output leaf: one block per input leaf
    for m, leaf in enumerate(leaves):
        base = np.array(leaf, dtype=float)
        cols = []
        for k in np.ndindex(base.shape):
            moved = []
            for sign in (1.0, -1.0):
                b = base.copy()
                b[k] += sign * eps
                parts = list(leaves)
                parts[m] = b if np.ndim(leaf) else float(b)
                moved.append(structure.flatten(f(rebuild(parts)))[0])
            cols.append([(np.asarray(u, float) - np.asarray(d, float)) / (2 * eps)
                         for u, d in zip(*moved)])
        for i, o in enumerate(outs):
            shape = np.shape(o) + base.shape
            blocks[i].append(np.stack([c[i] for c in cols], axis=-1).reshape(shape)
                             if cols else np.zeros(shape))
    return rebuild_out([rebuild(b) for b in blocks])


def close(a, b, tol=1e-6):
    """``a`` and ``b`` have the same structure and close leaves."""
    la, lb = structure.flatten(a)[0], structure.flatten(b)[0]
    assert len(la) == len(lb), (a, b)
    for u, v in zip(la, lb):
        np.testing.assert_allclose(np.asarray(u, float), np.asarray(v, float), atol=tol,
                                   rtol=tol)


# --- 1. NumPy integer scalars (and flags) held fixed ------------------------------------

def scaled(x, n):
    return np.sum(np.sin(x) ** 2) * n + np.sum(x[:n] ** 3)


@pytest.mark.parametrize("n", [2, np.int32(2), np.int64(2), np.uint8(2)],
                         ids=["int", "int32", "int64", "uint8"])
def test_an_integer_scalar_held_fixed_works_in_every_transform(n):
    def f(x):
        return scaled(x, 2)
    g = central(f, X)                        # 2 sin 2x + 3x^2 on the first two
    first_two = np.arange(3) < 2
    np.testing.assert_allclose(g, 2 * np.sin(2 * X) + np.where(first_two, 3 * X ** 2, 0.0),
                               atol=1e-6)
    h = np.diag(4 * np.cos(2 * X) + np.where(first_two, 6 * X, 0.0))      # by hand
    close(central(lambda x: sd.grad(scaled)(x, n), X), h, 1e-5)
    v = np.array([1.0, -2.0, 0.5])
    close(sd.grad(scaled)(X, n), g)
    close(sd.value_and_grad(scaled)(X, n), (f(X), g))
    close(sd.vjp(lambda x: scaled(x, n), X)[1](1.0), (g,))
    close(sd.jvp(scaled, (X, n), (v, 0)), (f(X), g @ v))
    close(sd.jvp(scaled, (X, n), (v, None)), (f(X), g @ v))
    close(sd.jacobian(scaled)(X, n), g)
    close(sd.hessian(scaled)(X, n), h, 1e-5)
    close(sd.hvp(scaled)(X, n, v), h @ v, 1e-5)
    close(sd.jvp(sd.grad(scaled), (X, n), (v, 0))[1], h @ v, 1e-5)
    close(sd.vjp(sd.grad(scaled), X, n)[1](v)[0], h @ v, 1e-5)
    close(sd.tape.grad(scaled)(X, n), g)
    close(sd.tape.value_and_grad(scaled)(X, n), (f(X), g))
    close(sd.tape.vjp(lambda x: scaled(x, n), X)[1](1.0), (g,))
    close(sd.tape.grad(lambda x, n: np.sum(sd.tape.grad(scaled)(x, n) * v))(X, n), h @ v,
          1e-5)


@pytest.mark.parametrize("n", [3, np.int32(3), np.bool_(True)], ids=["int", "int32", "bool"])
def test_an_integer_scalar_held_fixed_with_a_float_argument(n):
    def f(x, n):
        return np.sin(x) * n
    k = float(n)
    assert sd.grad(f)(0.4, n) == pytest.approx(np.cos(0.4) * k)
    assert sd.hessian(f)(0.4, n) == pytest.approx(-np.sin(0.4) * k)
    assert sd.hvp(f)(0.4, n, 2.0) == pytest.approx(-2 * np.sin(0.4) * k)
    assert sd.jvp(f, (0.4, n), (1.0, 0))[1] == pytest.approx(np.cos(0.4) * k)
    assert sd.tape.grad(f)(0.4, n) == pytest.approx(np.cos(0.4) * k)


def test_vjp_of_an_int_primal_says_how_to_hold_it_fixed():
    """vjp differentiates every primal: the hint is a lambda, not ``wrt``."""
    for vjp in (sd.vjp, sd.tape.vjp):
        with pytest.raises(ArgumentError, match="argument 1: it is an int") as err:
            vjp(scaled, X, np.int32(2))
        assert "lambda" in err.value.hint and "wrt" not in err.value.hint


# --- 2. None, strings and containers held fixed ------------------------------------------

def use(a):
    if a is None:
        return 1.5
    if isinstance(a, str):
        return 2.0 if a == "sin" else 3.0
    if isinstance(a, dict):
        return np.sum(a["w"] ** 2) + a["b"]
    if isinstance(a, (tuple, list)):
        return np.sum(a[0] ** 2) + a[1]
    return np.sum(a) + 0.5                   # an int, a flag, an int array


def weighted(x, a):
    return np.sum(np.sin(x)) * use(a) + np.sum(x ** 3)


HELD = {"None": None, "str": "sin", "tuple": (np.array([0.5, 1.5]), 0.25),
        "list": [np.array([0.5, 1.5]), 0.25], "dict": {"w": np.array([0.5, 1.5]), "b": 0.25}}


@pytest.mark.parametrize("name", list(HELD))
def test_an_argument_that_is_no_array_held_fixed(name):
    """jacobian and hessian crashed inside (float() of a dict, of None), hvp and jvp
    refused a None tangent; now None is the tangent of an argument held fixed."""
    a = HELD[name]
    c = use(a)
    g = np.cos(X) * c + 3 * X ** 2          # by hand
    H = np.diag(-np.sin(X) * c + 6 * X)
    v = np.array([1.0, -2.0, 0.5])
    close(sd.grad(weighted)(X, a), g)
    close(sd.jacobian(weighted)(X, a), g)
    close(sd.hessian(weighted)(X, a), H)
    close(sd.hvp(weighted)(X, a, v), H @ v)
    close(sd.jvp(weighted, (X, a), (v, None)), (weighted(X, a), g @ v))
    close(sd.jvp(sd.grad(weighted), (X, a), (v, None))[1], H @ v)
    close(sd.tape.grad(weighted)(X, a), g)
    close(central(lambda x: weighted(x, a), X), g)


def test_a_none_argument_differentiated_is_a_clear_error():
    with pytest.raises(ArgumentError, match="argument 1: it is None") as err:
        sd.grad(weighted, wrt=1)(X, None)
    assert "out of wrt" in err.value.hint and "dataclass" not in err.value.hint
    with pytest.raises(ArgumentError, match="argument 1: it is a string"):
        sd.hessian(weighted, wrt=1)(X, "sin")


def test_a_tangent_that_is_no_number_names_what_to_pass():
    with pytest.raises(ArgumentError, match="tangent 1 is a str") as err:
        sd.jvp(weighted, (X, None), (X, "zero"))
    assert "None" in err.value.hint and "complex" not in err.value.hint


# --- 3. jacobian, hessian and hvp with respect to a container ---------------------------

def net(p, x):
    if isinstance(p, dict):
        w, b = p["w"], p["b"]
    else:
        w, b = p[0], p[1]
    return np.sum(np.tanh(w * x) ** 2) * b + b ** 3


P = {"tuple": (np.array([0.5, -1.5]), 0.7), "list": [np.array([0.5, -1.5]), 0.7],
     "dict": {"w": np.array([0.5, -1.5]), "b": 0.7}}
XS = np.array([1.2, 0.4])


@pytest.mark.parametrize("name", list(P))
def test_hessian_with_respect_to_a_container_has_its_structure(name):
    """Was a ValueError / TypeError from inside; now blocks shaped as jax.hessian's."""
    p = P[name]

    def f(q):
        return net(q, XS)

    def g(q):
        return sd.grad(net)(q, XS)
    J = sd.jacobian(net)(p, XS)
    close(J, central(f, p))
    assert type(J) is type(p)
    H = sd.hessian(net)(p, XS)
    want = central(g, p)                     # d(grad)/dp: grad's structure outside
    close(H, want, 1e-5)
    outer = tuple if isinstance(p, list) else type(p)   # (a list output: a tuple, as ever)
    assert type(H) is outer and all(type(row) is type(p) for row in
                                    (H.values() if isinstance(H, dict) else H))
    leaves = structure.flatten(p)[0]
    assert [np.shape(b) for b in structure.flatten(H)[0]] == [
        np.shape(u) + np.shape(v) for u in leaves for v in leaves]
    v = type(p)(zip(p, [np.array([1.0, 2.0]), -1.0])) if isinstance(p, dict) else \
        type(p)([np.array([1.0, 2.0]), -1.0])
    hv = sd.hvp(net)(p, XS, v)
    want_hv = central(lambda t: structure.flatten(sd.jvp(
        net, (t, XS), (v, None))[1])[0][0], p)
    close(hv, want_hv, 1e-5)


def test_jacobian_of_a_function_returning_a_dict():
    def f(x):
        return {"s": np.sin(x), "p": x[0] * x[1]}
    J = sd.jacobian(f)(X)
    assert set(J) == {"s", "p"}
    close(J["s"], np.diag(np.cos(X)))
    close(J["p"], np.array([X[1], X[0], 0.0]))


# --- 4. *args ---------------------------------------------------------------------------

def star(x, *args):
    return np.sum(x ** 2 * args[0]) + np.sin(args[1]) * np.sum(x) * args[1]


A0, A1 = np.array([0.5, 1.5]), 0.3
X2 = np.array([1.0, 2.0])


def test_hessian_with_respect_to_star_args_is_a_tuple_of_blocks():
    """``hessian(f, wrt="args")`` was refused (a name of no argument); now ``H[i][j]``
    over the items of ``*args``, checked at order 2 against differences of the
    gradient."""
    H = sd.hessian(star, wrt="args")(X2, A0, A1)
    want = central(lambda a: sd.grad(star, wrt="args")(X2, *a), (A0, A1))
    assert isinstance(H, tuple) and len(H) == 2 and all(len(r) == 2 for r in H)
    close(H, want, 1e-5)
    s, c = np.sin(A1), np.cos(A1)            # by hand: d2f/da1^2 = (2c - a1 s) sum(x)
    assert H[1][1] == pytest.approx((2 * c - A1 * s) * np.sum(X2))
    close(H[0][0], np.zeros((2, 2)))
    # mixed blocks with x, and hvp with one vector per item of *args
    Hx = sd.hessian(star, wrt=(0, "args"))(X2, A0, A1)
    close(Hx[0][1], central(lambda a: sd.grad(star)(X2, *a), (A0, A1)), 1e-5)
    v = (np.array([1.0, -1.0]), 2.0)
    close(sd.hvp(star, wrt="args")(X2, A0, A1, v),
          tuple(sum(H[i][j] @ v[j] if np.ndim(v[j]) else H[i][j] * v[j] for j in range(2))
                for i in range(2)))
    with pytest.raises(ArgumentError, match=r"vector for \*args must be a tuple of 2"):
        sd.hvp(star, wrt="args")(X2, A0, A1, (v[0],))


def test_vjp_of_a_gradient_with_respect_to_star_args():
    """Was refused ("not supported"); now one cotangent per primal, checked against
    differences of <v, gradient>."""
    ct = (np.array([1.0, -2.0]), 0.5)
    out, pull = sd.vjp(sd.grad(star, wrt="args"), X2, A0, A1)
    close(out, sd.grad(star, wrt="args")(X2, A0, A1))
    got = pull(ct)
    assert len(got) == 3

    def dot(*args):
        g = sd.grad(star, wrt="args")(*args)
        return np.sum(g[0] * ct[0]) + g[1] * ct[1]
    close(got, (central(lambda x: dot(x, A0, A1), X2), central(lambda a: dot(X2, a, A1), A0),
                central(lambda a: dot(X2, A0, a), A1)), 1e-5)
    t = sd.jvp(sd.grad(star, wrt="args"), (X2, A0, A1), (np.zeros(2), *ct))[1]
    assert isinstance(t, tuple)
    close(t, (np.zeros(2), (2 * np.cos(A1) - A1 * np.sin(A1)) * np.sum(X2) * ct[1]), 1e-5)


def test_an_item_of_star_args_by_position_says_to_name_args():
    with pytest.raises(SourceDiffError, match=r"items of \*args") as err:
        sd.hessian(star, wrt=1)(X2, A0, A1)
    assert "wrt='args'" in err.value.hint


# --- 5. keywords -------------------------------------------------------------------------

def test_keyword_arguments_to_jacobian_hessian_hvp_are_a_clear_error():
    """Were a TypeError from inside (jac() got an unexpected keyword argument)."""
    def f(x, n=2.0):
        return np.sum(np.sin(x) * n)
    for call in (lambda: sd.jacobian(f)(X, n=3.0), lambda: sd.hessian(f)(X, n=3.0),
                 lambda: sd.hvp(f)(X, X, n=3.0)):
        with pytest.raises(ArgumentError, match="by position.*keyword argument.*n") as err:
            call()
        assert "lambda" in err.value.hint
    close(sd.hessian(lambda x: f(x, n=3.0))(X), np.diag(-3.0 * np.sin(X)))

    def g(x, *, k=2.0):
        return np.sum(x * k)
    with pytest.raises(ArgumentError, match="keyword-only parameter 'k'"):
        sd.jacobian(g, wrt="k")(X)


def test_vjp_of_a_gradient_gives_an_argument_held_fixed_a_plain_zero():
    """The cotangent of an int, a flag, None or a string primal of vjp(grad(f)) was a
    zero of the primal's own type (np.int32(0), np.False_, array(0.) for None); now 0.0
    for a number, float zeros for an int array, None for anything else, and the float
    parts as before (checked against differences of <v, gradient>)."""
    v = np.array([1.0, -2.0, 0.5])

    def dot(x, a):
        return np.sum(sd.grad(weighted)(x, a) * v)
    for a, want in ((3, 0.0), (np.int32(3), 0.0), (np.bool_(True), 0.0), (None, None),
                    ("sin", None), (np.array([1, 2]), np.zeros(2))):
        cx, ca = sd.vjp(sd.grad(weighted), X, a)[1](v)
        close(cx, central(lambda x, a=a: dot(x, a), X), 1e-5)
        if want is None:
            assert ca is None
        else:
            assert type(ca) is type(want) and np.all(ca == 0)
    p = {"w": np.array([0.5, 1.5]), "b": 1}
    cx, cp = sd.vjp(sd.grad(weighted), X, p)[1](v)
    assert cp["b"] == 0.0 and type(cp["b"]) is float
    close(cp["w"], central(lambda w: dot(X, {"w": w, "b": 1}), p["w"]), 1e-5)


# --- 6. dataclasses and NamedTuples: second derivatives -------------------------------

@dataclasses.dataclass
class Layer:
    w: np.ndarray
    b: float


class Pair(typing.NamedTuple):
    w: np.ndarray
    b: float


def layer_loss(p, x):
    return np.sum(np.tanh(p.w * x) ** 2) * p.b + p.b ** 3


@pytest.mark.parametrize("kind", [Layer, Pair])
def test_hessian_with_respect_to_a_dataclass(kind):
    """Forward mode over the gradient of a dataclass argument had no tangent rule for
    runtime.attr_cot (a MissingRuleError naming sourcediff's own helper); it is linear
    in the field's cotangent. Checked against differences of the gradient."""
    p = kind(np.array([0.5, -1.5]), 0.7)
    H = sd.hessian(layer_loss)(p, XS)
    assert type(H) is kind and type(H.w) is kind and type(H.b) is kind
    close(H, central(lambda q: sd.grad(layer_loss)(q, XS), p), 1e-5)
    assert H.b.b == pytest.approx(6 * 0.7)                 # d2/db2 (b^3) = 6b, by hand
    v = kind(np.array([1.0, 2.0]), -1.0)
    close(sd.jvp(sd.grad(layer_loss), (p, XS), (v, None))[1],
          kind(H.w.w @ v.w + H.w.b * v.b, H.b.w @ v.w + H.b.b * v.b), 1e-5)
    close(sd.hvp(layer_loss)(p, XS, v), kind(H.w.w @ v.w + H.w.b * v.b,
                                             H.b.w @ v.w + H.b.b * v.b), 1e-5)


# --- 7. the call itself ------------------------------------------------------------------

def test_too_few_arguments_and_no_vector_are_clear_errors():
    """jvp, vjp, jacobian and hessian called with too few arguments failed inside the
    compiler (IndexError, "g_jvp() missing x_dot"); hvp without its vector or with None
    was an unpacking or a TypeError."""
    def g(x, p):
        return np.sum(x * p)
    for call in (lambda: sd.jvp(g, (X,), (X,)), lambda: sd.vjp(g, X),
                 lambda: sd.jacobian(g)(X), lambda: sd.hessian(g)(X)):
        with pytest.raises(ArgumentError, match="missing a required argument: 'p'") as err:
            call()
        assert "g(x, p)" in err.value.hint
    for call in (lambda: sd.hvp(g)(), lambda: sd.hvp(g)(X, 2.0, None)):
        with pytest.raises(ArgumentError, match="hvp needs the vector last"):
            call()


def test_a_refusal_of_hessian_names_the_function_where_it_is_defined():
    """Not the grad's generated dispatch function (<sourcediff dispatch g:...>)."""
    def g(x, n):
        return np.sum(x) * n
    with pytest.raises(ArgumentError, match="argument 1: it is an int") as err:
        sd.hessian(g, wrt=1)(X, 3)
    assert err.value.filename == __file__


# --- 8. a mixed second derivative through a helper ------------------------------------

def _bump(x, a):
    return np.sum(np.sin(x) * a)


def through_helper(x, a, b):
    return _bump(x, a) * b


def test_jvp_of_a_gradient_along_an_argument_it_leaves_out_through_a_helper():
    """jvp(grad(f, wrt=1)) moving argument 0 (and the reverse) gave 0 where f calls a
    helper: the helper's residual form, made for the caller's wrt only, read sin(x) as
    a constant (``held``), so its tangent was lost: a silent wrong mixed derivative (and
    jacobian(grad(f, wrt=1), wrt=0), as hessian's blocks, the same through a dict)."""
    x, a, b = np.array([1.0, 2.0]), np.array([0.5, 1.5]), 0.3
    v = np.array([1.0, -2.0])
    mixed = np.diag(np.cos(x) * b)           # d/dx d/da, by hand
    close(sd.jvp(sd.grad(through_helper, 1), (x, a, b), (v, None, None))[1], mixed @ v)
    close(sd.jvp(sd.grad(through_helper, 0), (x, a, b), (None, v, None))[1], mixed @ v)
    close(central(lambda t: sd.grad(through_helper, 1)(t, a, b), x), mixed, 1e-5)
    close(sd.jacobian(sd.grad(through_helper, 1), 0)(x, a, b), mixed)

    def with_dict(x, p):
        return _bump(x, p["a"]) * p["b"]
    p = {"a": a, "b": b}
    J = sd.jacobian(sd.grad(with_dict, 1), 0)(x, p)
    close(J, central(lambda t: sd.grad(with_dict, 1)(t, p), x), 1e-5)
    close(J["a"], mixed)


def _sin_times(x, a):
    return np.sin(x) * a


def _squared(x, a):
    return _sin_times(x, a) ** 2


def test_third_and_fourth_derivatives_along_an_argument_left_out_through_a_helper():
    """d3/dx2 da of (a sin x)^2 through a helper was half its value (4a cos 2x): the
    tangent along a of the residuals a reads was lost at third order as at second."""
    x, a = 0.7, 1.3
    d = sd.grad
    assert d(d(d(_squared, 0), 0), 1)(x, a) == pytest.approx(4 * a * np.cos(2 * x), rel=1e-12)
    assert sd.jvp(d(d(_squared, 0), 0), (x, a), (0.0, 1.0))[1] == pytest.approx(
        4 * a * np.cos(2 * x), rel=1e-12)
    assert d(d(d(_squared, 1), 1), 0)(x, a) == pytest.approx(2 * np.sin(2 * x), rel=1e-12)
    assert d(d(d(d(_squared, 0), 0), 1), 1)(x, a) == pytest.approx(4 * np.cos(2 * x),
                                                                  rel=1e-12)
    h = 1e-5
    second = d(d(_squared, 0), 0)
    assert d(d(d(_squared, 0), 0), 1)(x, a) == pytest.approx(
        (second(x, a + h) - second(x, a - h)) / (2 * h), rel=1e-7)
