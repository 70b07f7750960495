"""np.diff's adjoint written as region updates of the buffer its gradient is summed in
(sourcediff/opt/undiff.py), a fresh array added to a zero buffer after them made its
first value (regions.first_into_buffer), and the cotangent they read computed in the
definition of its single-use operand.

Gradients are checked against hand-written NumPy gradients and central differences,
at order 1 and 2; the rewrites themselves on small programs, and where they must not
happen.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import sourcediff as sd
from sourcediff.ir import codegen, names
from sourcediff.ir import nodes as N
from sourcediff.opt import inplace, regions, shapes, undiff
from sourcediff.opt.owners import F

from conftest import fd
from test_shape_facts import tv_by_hand
from test_shape_facts import tv_denoise as tv


def second_difference(x):
    return np.sum(np.diff(x, 2) ** 2) + np.sum(x ** 3)


def second_difference_by_hand(x):
    d = 2.0 * np.diff(x, 2)
    g = 3.0 * x ** 2
    g[2:] += d
    g[1:-1] -= 2.0 * d
    g[:-2] += d
    return g


def rows(x):
    return np.sum(np.sqrt(np.diff(x, axis=0) ** 2 + 1e-3)) + np.sum(x ** 3) / 3.0


def rows_by_hand(x):
    d = np.diff(x, axis=0)
    s = d / np.sqrt(d ** 2 + 1e-3)
    g = x ** 2
    g[1:] += s
    g[:-1] -= s
    return g


def columns(x):
    return np.sum(np.sqrt(np.diff(x, axis=1) ** 2 + 1e-3)) + np.sum(x ** 3) / 3.0


def columns_by_hand(x):
    d = np.diff(x, axis=1)
    s = d / np.sqrt(d ** 2 + 1e-3)
    g = x ** 2
    g[:, 1:] += s
    g[:, :-1] -= s
    return g


def middle_axis(x):
    return np.sum(np.diff(x, 2, axis=-2) ** 2) + np.sum(np.sin(x))


def middle_axis_by_hand(x):
    d = 2.0 * np.diff(x, 2, axis=-2)
    g = np.cos(x)
    g[:, 2:] += d
    g[:, 1:-1] -= 2.0 * d
    g[:, :-2] += d
    return g


def ridge(x):
    return np.sum(np.sqrt(np.diff(x, axis=0) ** 2 + 1e-3)) + 0.5 * np.sum(x ** 2)


def ridge_by_hand(x):
    d = np.diff(x, axis=0)
    s = d / np.sqrt(d ** 2 + 1e-3)
    g = x.copy()
    g[1:] += s
    g[:-1] -= s
    return g


def read_elsewhere(u):
    d = np.diff(u)                  # u is read by np.diff, by a slice and by np.exp
    return np.sum(d ** 2 * u[1:]) + np.sum(np.exp(u))


def read_elsewhere_by_hand(u):
    d = np.diff(u)
    g = np.exp(u)
    g[1:] += d ** 2
    s = 2.0 * d * u[1:]
    g[1:] += s
    g[:-1] -= s
    return g


CASES = [  # (f, its hand-written gradient, a small and a large shape, lines of the adjoint)
    (tv, tv_by_hand, 9, 10_000, ["u_bar = u - f", "u_bar[1:] += t9_bar",
                                 "u_bar[:-1] -= t9_bar"]),
    (second_difference, second_difference_by_hand, 9, 6000,
     ["x_bar[2:] += _t7", "x_bar[1:-1] -= 2 * _t7", "x_bar[:-2] += _t7"]),
    (rows, rows_by_hand, (5, 4), (100, 80), ["x_bar = x ** 2", "x_bar[1:] += t6_bar",
                                             "x_bar[:-1] -= t6_bar"]),
    # the ridge term's cotangent is x itself, not the function's to write into: a copy
    (ridge, ridge_by_hand, (5, 4), (100, 80), ["x_bar = _sd.copy_of(x)", "x_bar[1:] += t6_bar",
                                               "x_bar[:-1] -= t6_bar"]),
    (columns, columns_by_hand, (4, 5), (80, 100), ["x_bar[:, 1:] += t6_bar",
                                                   "x_bar[:, :-1] -= t6_bar"]),
    (middle_axis, middle_axis_by_hand, (2, 5, 3), (20, 30, 40),
     ["x_bar[:, 2:] += ", "x_bar[:, :-2] += "]),
    (read_elsewhere, read_elsewhere_by_hand, 7, 6000,
     ["u_bar = np.exp(u)", "u_bar[1:] += t4_bar", "u_bar[:-1] -= t4_bar"]),
]


def _args(f, shape, rng):
    x = rng.standard_normal(shape)
    return (x, rng.standard_normal(shape), 0.5, 1e-3) if f is tv else (x,)


def _lines(g):
    return [line.strip() for line in sd.source(g).splitlines()]


@pytest.mark.parametrize("f, by_hand, small, large, lines", CASES,
                         ids=[c[0].__name__ for c in CASES])
def test_adjoint_of_np_diff_is_region_updates(f, by_hand, small, large, lines):
    rng = np.random.default_rng(0)
    for shape in (small, large):
        args = _args(f, shape, rng)
        before = [np.copy(a) for a in args]
        g = sd.grad(f)
        got = g(*args)
        np.testing.assert_allclose(got, by_hand(*args), rtol=1e-12, atol=1e-12)
        assert all(np.array_equal(a, b) for a, b in zip(args, before))
        src = _lines(g)
        assert "undiff" not in sd.source(g)
        for line in lines:
            assert any(s.startswith(line) for s in src), (line, sd.source(g))
        if shape is small:
            np.testing.assert_allclose(got, fd(f, args, 0), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("f, by_hand, small", [c[:3] for c in CASES],
                         ids=[c[0].__name__ for c in CASES])
def test_second_order_against_differences(f, by_hand, small):
    args = _args(f, small, np.random.default_rng(1))
    x, rest = args[0], args[1:]
    h = sd.hessian(f)(*args)
    g = sd.grad(f)
    want = np.array([fd(lambda v, i=i: g(v, *rest).ravel()[i], (x,), 0)
                     for i in range(x.size)])
    np.testing.assert_allclose(np.reshape(h, (x.size, x.size)), want.reshape(x.size, x.size),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("f, shape", [(second_difference, 8), (ridge, (4, 3)),
                                      (read_elsewhere, 6), (middle_axis, (2, 5, 3))])
def test_reverse_over_the_region_updates(f, shape, monkeypatch):
    """vjp of the gradient (the tape run over the generated code, region updates and
    updates in place included: arrays of every size) against differences."""
    monkeypatch.setattr(inplace, "MIN_SIZE", 1)
    rng = np.random.default_rng(3)
    x, v = rng.standard_normal(shape), rng.standard_normal(shape)
    g = sd.grad(f)
    g(x)
    assert "undiff" not in sd.source(g)
    got = sd.vjp(g, x)[1](v)[0]
    np.testing.assert_allclose(got, fd(lambda y: np.sum(g(y) * v), (x,), 0), rtol=1e-5,
                               atol=1e-6)


def test_tv_benchmark_is_the_hand_written_gradient():
    """(m) of benchmarks/ at its size: the cotangent of np.diff(u) computed in one array,
    its constants folded (2 * 0.5 * lam is lam), and added into the data term's
    u - f, which is the gradient's buffer: the hand-written gradient line for line."""
    rng = np.random.default_rng(2)
    u, f = rng.standard_normal(10_000), rng.standard_normal(10_000)
    g = sd.grad(tv)
    np.testing.assert_allclose(g(u, f, 0.5, 1e-4), tv_by_hand(u, f, 0.5, 1e-4), rtol=1e-12,
                               atol=1e-12)
    body = [s for s in _lines(g) if s and not s.startswith(("#", '"""', "def"))]
    assert body == ["_t11 = np.diff(u)", "t9_bar = _t11 ** 2", "t9_bar += eps",
                    "np.sqrt(t9_bar, out=t9_bar)", "np.divide(lam, t9_bar, out=t9_bar)",
                    "t9_bar *= _t11", "_t11 = None", "u_bar = u - f", "u_bar[1:] += t9_bar",
                    "u_bar[:-1] -= t9_bar", "t9_bar = None", "return None, (u_bar,)"]


def in_a_loop(x, w):
    s = 0.0
    for _ in range(3):
        y = np.sin(x)
        s = s + np.sum(np.cos(np.diff(y)) * w)
        x = y
    return s


def diff_of_a_product_in_a_loop(x):
    s = 0.0
    for i in range(3):
        s = s + np.sum(np.diff(x * (i + 1.0)) ** 2)
    return s


@pytest.mark.parametrize("f, args", [
    (in_a_loop, (np.linspace(-1.0, 1.0, 7), np.linspace(0.5, 1.5, 6))),
    (diff_of_a_product_in_a_loop, (np.linspace(-1.0, 1.0, 7) ** 3,)),
])
def test_np_diff_in_a_loop(f, args):
    g = sd.grad(f)
    np.testing.assert_allclose(g(*args), fd(f, args, 0), rtol=1e-6, atol=1e-7)
    h = sd.hessian(f)(*args)
    x, rest = args[0], args[1:]
    want = np.array([fd(lambda v, i=i: g(v, *rest)[i], (x,), 0) for i in range(x.size)])
    np.testing.assert_allclose(h, want, rtol=1e-5, atol=1e-5)


def weighted_steps(x, w):
    s = 0.0
    for _ in range(3):
        s = s + np.sum(np.diff(x) ** 2 * w)
        w = w * 0.5
    return s


def weighted_steps_by_hand(x, w):
    d = np.diff(x)
    s = 2.0 * d * (w + 0.5 * w + 0.25 * w)
    g = np.zeros_like(x)
    g[1:] += s
    g[:-1] -= s
    return g


@pytest.mark.parametrize("n", [7, 6000])
def test_np_diff_accumulated_in_a_loop_updates_one_buffer(n):
    """x_bar += undiff(...) each iteration: x_bar's symbolic zero before the loop is its
    zeros, and each iteration adds into two of its regions (no array per iteration)."""
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal(n), rng.standard_normal(n - 1)
    g = sd.grad(weighted_steps)
    got = g(x, w)
    np.testing.assert_allclose(got, weighted_steps_by_hand(x, w), rtol=1e-12, atol=1e-12)
    src = _lines(g)
    assert f"x_bar = np.zeros(({n},))" in src and "x_bar[1:] += _t6" in src
    assert "x_bar[:-1] -= _t6" in src and "undiff" not in sd.source(g)
    if n < 10:
        np.testing.assert_allclose(got, fd(weighted_steps, (x, w), 0), rtol=1e-6, atol=1e-7)
        h = sd.hessian(weighted_steps)(x, w)
        want = np.array([fd(lambda v, i=i: g(v, w)[i], (x,), 0) for i in range(n)])
        np.testing.assert_allclose(h, want, rtol=1e-5, atol=1e-5)


def two_differences_per_step(x, w):
    s = 0.0
    for _ in range(3):
        s = s + np.sum(np.diff(x) ** 2 * w) + np.sum(np.cos(np.diff(x, 2)))
        w = w * 0.5
    return s


def two_differences_per_step_by_hand(x, w):
    g = weighted_steps_by_hand(x, w)
    s = -3.0 * np.sin(np.diff(x, 2))
    g[2:] += s
    g[1:-1] -= 2.0 * s
    g[:-2] += s
    return g


@pytest.mark.parametrize("n", [7, 6000])
def test_two_differences_accumulated_in_a_loop(n):
    """Both accumulations of the loop into the same buffer are region updates (the
    buffer's zeros made once, for the first)."""
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal(n), rng.standard_normal(n - 1)
    g = sd.grad(two_differences_per_step)
    got = g(x, w)
    np.testing.assert_allclose(got, two_differences_per_step_by_hand(x, w), rtol=1e-11,
                               atol=1e-12)
    src = sd.source(g)
    assert "undiff" not in src and src.count("x_bar = np.zeros") == 1
    assert re.search(r"x_bar\[1:-1\] -= 2 \* \w+\n", src) \
        and re.search(r"x_bar\[:-1\] -= \w+\n", src), src
    if n < 10:
        np.testing.assert_allclose(got, fd(two_differences_per_step, (x, w), 0), rtol=1e-6,
                                   atol=1e-7)


def diff_n(x, n):
    return np.sum(np.diff(x, n) ** 2) + np.sum(x ** 2)


def fifth_difference(x):
    return np.sum(np.diff(x, 5) ** 2) + np.sum(x ** 2)


def test_the_helper_stays_where_the_regions_are_not_known():
    """float32 (not float64: the helper keeps its dtype), an order known only at run time
    (the shape is unknown), an order beyond MAX_ORDER: undiff, as it was."""
    x = np.linspace(-1.0, 1.0, 12) ** 3
    g = sd.grad(second_difference)
    got = g(x.astype(np.float32))
    assert got.dtype == np.float32 and "undiff" in sd.source(g)
    np.testing.assert_allclose(got, second_difference_by_hand(x), rtol=1e-4, atol=1e-4)
    g = sd.grad(diff_n)
    np.testing.assert_allclose(g(x, 2), fd(diff_n, (x, 2), 0), rtol=1e-6, atol=1e-7)
    assert "undiff" in sd.source(g)
    assert undiff.MAX_ORDER < 5
    g = sd.grad(fifth_difference)
    np.testing.assert_allclose(g(x), fd(fifth_difference, (x,), 0), rtol=1e-5, atol=1e-6)
    assert "undiff" in sd.source(g)


# -- the rewrites on small programs ----------------------------------------------------------

def _program(src):
    return N.parse(src).body[0]


def _body(fdef):
    return [line.strip() for line in codegen.to_source(fdef).splitlines()[1:]]


def _expand(src, shapes_of, temps=()):
    fdef = _program(src)
    gen = names.NameGen(taken=shapes_of)
    for t in temps:
        gen.reserve(t, "temp")
    N.set_anno(fdef, "names", gen)
    kinds = inplace.Kinds({"np": np}, {n: F for n in shapes_of})
    sh = shapes.Shapes({"np": np}, dict(shapes_of))
    changed = undiff.expand(fdef, kinds, lambda: sh, {"np": np})
    return changed, _body(fdef)


SHAPES = {"a": (5,), "c": (4,), "d": (4,), "t": (4,), "v": (5,)}


def test_a_single_use_operand_takes_the_cotangent_its_constants_folded():
    changed, body = _expand("def f(a, c, d):\n    t = 0.5 * c\n"
                            "    v = undiff(2 * t * d, a, 1, -1)\n    return v\n",
                            SHAPES, temps=["t"])
    assert changed
    assert body == ["t = c * d", "v = zeros_for(a)", "v[1:] += t", "v[:-1] -= t", "return v"]


@pytest.mark.parametrize("between, temps", [
    ("d = c + 1.0", ["t"]),   # changes what the product reads
    ("e = t", ["t"]),         # t is read twice
    ("e = c", []),            # t is the user's
])
def test_the_cotangent_gets_a_name_of_its_own_otherwise(between, temps):
    changed, body = _expand(f"def f(a, c, d):\n    t = 0.5 * c\n    {between}\n"
                            "    v = undiff(2 * t * d, a, 1, -1)\n    return v\n",
                            {**SHAPES, "e": (4,)}, temps=temps)
    assert changed and body[0] == "t = 0.5 * c"
    assert body[2:] == ["_t1 = 2 * t * d", "v = zeros_for(a)", "v[1:] += _t1", "v[:-1] -= _t1",
                        "return v"]


@pytest.mark.parametrize("call, shape", [
    ("undiff(d, a, 1, -1)", (6,)),    # d is not of np.diff(a)'s shape
    ("undiff(d, a, 2, -1)", (5,)),    # ... not of np.diff(a, 2)'s
    ("undiff(d, a, 1, 1)", (5,)),     # no such axis
    ("undiff(d, a, n, -1)", (5,)),    # an order known at run time only
])
def test_no_regions_where_the_shapes_do_not_say_so(call, shape):
    changed, body = _expand(f"def f(a, d, n):\n    v = {call}\n    return v\n",
                            {"a": shape, "d": (4,), "n": (), "v": shape})
    assert not changed


def test_a_fresh_array_added_after_region_updates_is_the_first_value():
    fdef = _program("def f(x, a, b, c):\n    v = zeros_for(x)\n    v[1:] += a\n    y = c\n"
                    "    v[:-1] -= a\n    v = v + (b - c)\n    return v\n")
    assert regions.first_into_buffer(fdef, lambda p, e: True, lambda e: True, lambda e: True)
    assert _body(fdef) == ["v = b - c", "v[1:] += a", "y = c", "v[:-1] -= a", "return v"]
    fdef = _program("def f(x, a, b):\n    v = zeros_for(x)\n    v[1:] += a\n"
                    "    v = v + b\n    return v\n")
    assert regions.first_into_buffer(fdef, lambda p, e: True, lambda e: False, lambda e: True)
    assert _body(fdef)[0] == "v = copy_of(b)"


@pytest.mark.parametrize("between", [
    "b = 2.0",          # changes what the sum reads
    "b[0] = 2.0",       # ... an item of it
    "y = v[0]",         # reads the buffer
    "v[1:] = a",        # a store, not an addition
    "v[1:] += v[0]",    # an update that reads the buffer
])
def test_the_first_value_never_moves_past_what_it_depends_on(between):
    fdef = _program(f"def f(x, a, b):\n    v = zeros_for(x)\n    v[1:] += a\n    {between}\n"
                    "    v = v + b * 2.0\n    return v\n")
    assert not regions.first_into_buffer(fdef, lambda p, e: True, lambda e: True,
                                         lambda e: True)


def test_the_first_value_moves_only_if_pure():
    fdef = _program("def f(x, a, b):\n    v = zeros_for(x)\n    v[1:] += a\n"
                    "    v = v + g(b)\n    return v\n")
    assert not regions.first_into_buffer(fdef, lambda p, e: True, lambda e: True,
                                         lambda e: False)
