"""Data a function reads from its module or closure is read at each call, as Python does.

The expected values are worked out by hand: d/dx (k x^2) = 2 k x, d2/dx2 (c x^3) = 6 c x.
"""

import numpy as np
import pytest

import sourcediff as sd
from sourcediff.pipeline import driver

k = 2.0
table = np.array([1.0, 2.0, 3.0])


def scaled_square(x):
    return k * x * x


def dot_table(x):
    return np.sum(x * table)


def square_beside_table(x):
    unused = table * 2.0  # noqa: F841 - read, but not by the gradient
    return x * x


def make_scaled(c):
    def f(x):
        return c * x * x
    return f


def make_cubic(c):
    def f(x):
        return c * x ** 3
    return f


@pytest.fixture
def restore_globals():
    saved = k, table
    yield
    globals().update(k=saved[0], table=saved[1])


@pytest.fixture
def builds(monkeypatch):
    """How many adjoints and tangent functions get compiled."""
    count = {"n": 0}
    for name in ("build_adjoint", "build_jvp"):
        real = getattr(driver, name)

        def counting(*args, _real=real, **kwargs):
            count["n"] += 1
            return _real(*args, **kwargs)
        monkeypatch.setattr(driver, name, counting)
    return count


def test_a_global_changed_between_calls_is_seen(restore_globals):
    global k
    g = sd.grad(scaled_square)
    vg = sd.value_and_grad(scaled_square)
    assert g(3.0) == 12.0 and vg(3.0) == (18.0, 12.0)
    k = 5.0
    assert g(3.0) == 30.0                       # the same gradient function
    assert vg(3.0) == (45.0, 30.0)
    assert sd.grad(scaled_square)(3.0) == 30.0  # a new one
    out, pullback = sd.vjp(scaled_square, 3.0)
    assert out == 45.0 and pullback(1.0) == (30.0,)
    assert sd.jvp(scaled_square, (3.0,), (1.0,)) == (45.0, 30.0)
    assert sd.grad(sd.grad(scaled_square))(3.0) == pytest.approx(10.0)


def test_a_global_array_rebound_between_calls_is_seen(restore_globals):
    global table
    g = sd.grad(dot_table)
    x = np.zeros(3)
    np.testing.assert_array_equal(g(x), [1.0, 2.0, 3.0])
    table = np.array([-1.0, 0.5, 4.0])
    np.testing.assert_array_equal(g(x), [-1.0, 0.5, 4.0])


def test_a_gradient_that_is_a_global_array_is_a_copy(restore_globals):
    grad = sd.grad(dot_table)(np.zeros(3))
    grad[0] = 99.0
    np.testing.assert_array_equal(table, [1.0, 2.0, 3.0])
    _, pullback = sd.vjp(dot_table, np.zeros(3))
    pullback(1.0)[0][1] = 99.0
    np.testing.assert_array_equal(table, [1.0, 2.0, 3.0])


def test_closures_share_one_compiled_gradient_each_with_its_own_values(builds):
    for i in range(20):
        c = float(i) + 0.5  # a fresh object each time (a freed one's id comes back)
        assert sd.grad(make_scaled(c))(3.0) == 6.0 * c
        assert sd.jvp(make_scaled(c), (3.0,), (1.0,)) == (9.0 * c, 6.0 * c)
        out, pullback = sd.vjp(make_scaled(c), 3.0)
        assert out == 9.0 * c and pullback(2.0) == (12.0 * c,)
    assert builds["n"] == 3  # grad, vjp and jvp: once each


def test_higher_order_of_closures_reads_each_closure():
    for c in (1.5, -2.0):
        assert sd.grad(sd.grad(make_cubic(c)))(2.0) == pytest.approx(12.0 * c)
        assert sd.hessian(make_cubic(c))(2.0) == pytest.approx(12.0 * c)


def test_a_closure_variable_changed_after_grad_is_seen():
    scale = 2.0

    def f(x):
        return scale * x * x

    g = sd.grad(f)
    assert g(1.0) == 4.0
    scale = 7.0
    assert g(1.0) == 14.0
    assert sd.jvp(f, (1.0,), (1.0,)) == (7.0, 14.0)


def _exec_function(src, ns, filename):
    """``f`` from ``src``, executed in the globals ``ns`` (its source readable)."""
    import linecache
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    exec(compile(src, filename, "exec"), ns)  # noqa: S102
    return ns["f"]


def test_the_cache_key_holds_the_objects_it_names():
    """The key names the function's globals and the static objects it reads by identity,
    and holds them: a dead object's id, reused by a new one, can never match. (An id()
    key served the adjoint of one exec'd copy to another: 4 wrong gradients in 300.)"""
    import gc

    from sourcediff.ir.freevars import Same, cache_key
    src = "def f(x):\n    return act(k * x)\n"
    act = lambda v: v  # noqa: E731
    ns = {"k": 1.0, "act": act}
    key = cache_key(_exec_function(src, ns, "<test_free_variables key>"), (0,))
    del ns
    gc.collect()
    held = [part.obj for part in key if isinstance(part, Same)]
    assert len(held) == 1 and held[0]["k"] == 1.0   # the globals, still alive
    reads = key[3]
    assert float in reads and act in reads  # k's type; act itself


def test_a_function_rebound_in_the_module_is_compiled_again():
    import math
    ns = {"math": math, "act": math.tanh}
    f = _exec_function("def f(x):\n    return act(x)\n", ns, "<test_free_variables act>")
    assert sd.grad(f)(0.5) == pytest.approx(1.0 - math.tanh(0.5) ** 2)
    ns["act"] = math.sin
    assert sd.grad(f)(0.5) == pytest.approx(math.cos(0.5))


def test_the_generated_code_shows_the_reads(restore_globals):
    src = sd.source(sd.grad(scaled_square))
    assert "k = _globals['k']" in src
    src = sd.source(sd.grad(make_scaled(3.0)))
    assert "c = _closure['c'].cell_contents" in src


def test_the_compiled_gradient_holds_no_data_from_compile_time(restore_globals):
    from sourcediff.transforms import api
    adj = api.adjoint_of(dot_table, (0,), "grad")
    assert "table" not in adj.fn.__globals__        # read by the prologue instead
    adj = api.adjoint_of(square_beside_table, (0,), "grad")
    assert "table" not in adj.fn.__globals__        # not read at all
    assert "_globals['table']" not in adj.source
    assert sd.grad(square_beside_table)(3.0) == 6.0
