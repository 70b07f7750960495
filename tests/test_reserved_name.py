"""Generated code reaches every runtime helper through one reserved name, ``_sd``
(``_sd.unbroadcast(x_bar, x)``), so the user's names are kept as written: a function,
a local or a parameter named ``like``, ``unbroadcast``, ``Stack`` or ``zeros_for`` is
the user's in generated code and differentiates correctly. Only a user name equal to
``_sd`` itself is renamed (issue #17)."""

import inspect
import re

import numpy as np
import pytest

from sourcediff import grad, hessian, jvp, runtime, source
from sourcediff.errors import UnsupportedSyntaxError
from sourcediff.ir.names import RUNTIME
from sourcediff.pipeline import driver
from sourcediff.tools.export import export_source
from sourcediff.transforms import entry

from checks import fd

X = np.array([0.3, -0.5, 1.1])
B = np.array([[1.0, 0.5, -2.0], [0.3, 1.0, 0.7]])


def like(a):  # the helper that gives gradients their argument's type
    return a * 3.0


def unbroadcast(a, b):  # the helper that sums broadcast cotangents
    return a * b + np.sin(a)


def calls_helper_named_functions(x, b):
    y = like(x) * b            # (broadcast: the adjoint calls the helper unbroadcast too)
    return np.sum(unbroadcast(y, np.cos(x)) ** 2)


def helper_named_locals_and_parameter(x, zeros_for):
    Stack = np.sin(x) * zeros_for       # (broadcast: x's adjoint is unbroadcast)
    scatter_add = np.tanh(Stack)
    return np.sum(scatter_add * Stack)


def _second(f, x, rest):
    """The Hessian by central differences of the gradient's finite differences."""
    return fd(lambda v: fd(lambda u: f(u, *rest), v, h=1e-4), x, h=1e-4)


def _names_in(src):
    return set(re.findall(r"\b\w+\b", src))


@pytest.mark.parametrize("f", [calls_helper_named_functions, helper_named_locals_and_parameter],
                         ids=lambda f: f.__name__)
def test_helper_named_user_names_differentiate(f):
    expected = fd(lambda v: f(v, B), X)
    np.testing.assert_allclose(grad(f)(X, B), expected, rtol=1e-6, atol=1e-8)
    adj = driver.build_adjoint(f, (0,))   # generic code: every helper call stays in it
    np.testing.assert_allclose(adj.fn(X, B)[1][0], expected, rtol=1e-6, atol=1e-8)
    v = np.array([1.0, -2.0, 0.5])
    assert jvp(f, (X, B), (v, np.zeros_like(B)))[1] == pytest.approx(expected @ v, rel=1e-6)
    np.testing.assert_allclose(hessian(f)(X, B), _second(f, X, (B,)), rtol=1e-4, atol=1e-5)


def test_source_keeps_the_user_names_and_reaches_helpers_through_sd():
    for f in (calls_helper_named_functions, helper_named_locals_and_parameter):
        for src in (source(grad(f)), driver.build_adjoint(f, (0,)).source):  # (generic too)
            assert not any(n.endswith("_user") for n in _names_in(src)), src
            # a bare name called is the user's, np's or a builtin: a helper only via _sd
            bare = {m.group(1) for m in re.finditer(r"(?<![\w.])(\w+)\(", src)}
            assert bare & set(runtime.HELPERS) <= {"like", "unbroadcast"}, src
    src = driver.build_adjoint(calls_helper_named_functions, (0,)).source
    assert re.search(r"\blike, x\b|\blike\(x\)", src), src        # the user's functions
    assert re.search(r"\bunbroadcast, y\b|[^.]unbroadcast\(y", src), src
    assert f"{RUNTIME}.unbroadcast(" in src                          # the helper, via _sd
    src = driver.build_adjoint(helper_named_locals_and_parameter, (0,)).source
    assert src.startswith("def helper_named_locals_and_parameter_grad(x, zeros_for):")
    for piece in ("Stack = ", "scatter_add = np.tanh(Stack)", "Stack_bar",
                  f"{RUNTIME}.unbroadcast("):
        assert piece in src, (piece, src)


def test_nested_function_reading_a_helper_named_global():
    """A nested function lifted with the locals it reads keeps the user's ``like``."""
    def f(x):
        w = x * 2.0

        def inner(v):
            return like(v) * w
        return inner(x) * x

    g = grad(f)
    assert g(1.5) == pytest.approx(float(fd(f, 1.5)), rel=1e-7)
    assert g(1.5) == pytest.approx(18.0 * 1.5 ** 2, rel=1e-12)   # d/dx 6 x^3
    assert grad(g)(1.5) == pytest.approx(float(fd(g, 1.5)), rel=1e-6)


_sd = np.array([0.5, 2.0, 1.5])   # a standard deviation, named like the reserved name


def reads_a_global_named_sd(x):
    return np.sum(((x - 1.0) / _sd) ** 2 * np.ones((2, 1)))


def has_a_local_named_sd(x, b):
    _sd = np.std(x) + 1.0            # (the local) ...
    return np.sum(np.exp(x * b / _sd))


def test_a_user_name_equal_to_the_reserved_name_is_renamed():
    expected = fd(reads_a_global_named_sd, X)
    g = grad(reads_a_global_named_sd)
    np.testing.assert_allclose(g(X), expected, rtol=1e-6)
    np.testing.assert_allclose(g(X), 4.0 * (X - 1.0) / _sd ** 2, rtol=1e-12)
    np.testing.assert_allclose(hessian(reads_a_global_named_sd)(X), np.diag(4.0 / _sd ** 2),
                               rtol=1e-12)
    src = source(g)
    assert "_sd_user = _globals['_sd']" in src, src     # still read by its name, each call
    f = has_a_local_named_sd
    expected = fd(lambda v: f(v, B), X)
    np.testing.assert_allclose(grad(f)(X, B), expected, rtol=1e-6)
    np.testing.assert_allclose(hessian(f)(X, B), _second(f, X, (B,)), rtol=1e-4, atol=1e-5)
    src = source(grad(f))
    assert "_sd_user = _t1 + 1.0" in src and f"{RUNTIME}.unreduce(" in src, src


def test_the_reserved_global_is_read_at_each_call():
    global _sd
    g = grad(reads_a_global_named_sd)
    saved = _sd
    try:
        _sd = saved * 2.0
        np.testing.assert_allclose(g(X), 4.0 * (X - 1.0) / _sd ** 2, rtol=1e-12)
    finally:
        _sd = saved


def broadcasts(x, b):
    return np.sum(np.sin(x * b))


def test_exported_module_reaches_its_copied_helpers_through_sd():
    text = export_source(broadcasts, 0)
    assert "sourcediff import" not in text and "import sourcediff" not in text
    assert f"{RUNTIME}.unbroadcast(" in text
    assert re.search(rf"^{RUNTIME} = types.SimpleNamespace\(.*unbroadcast=unbroadcast", text,
                     re.M), text
    ns = {}
    exec(compile(text, "<exported>", "exec"), ns)
    np.testing.assert_allclose(ns["broadcasts_grad"](X, B), fd(lambda v: broadcasts(v, B), X),
                               rtol=1e-6)


def names_like_the_entry_codes(a, b):
    a = a * 2.0                      # (rebound: the entry code keeps the argument aside)
    _sd_arg0 = [1.0, 2.0]
    _sd_value = np.sum(a * b)
    return _sd_value + _sd_arg0[0]


def test_user_names_spelled_like_the_entry_codes_own():
    """The plain function ``grad`` returns runs the adjoint with a few names of its own
    (``_sd_arg0``, ``_sd_value``, ``_sd_dispatch``): a user's name spelled like one keeps
    the gradient right at every call (it was ``like(g, [1.0, 2.0])``, a list)."""
    g = grad(names_like_the_entry_codes)
    x = np.ones(3, dtype=np.float32)
    for _ in range(3):
        out = g(x, 2.0)
        assert type(out) is np.ndarray and out.dtype == np.float32 and out.shape == (3,)
        np.testing.assert_allclose(out, fd(lambda v: names_like_the_entry_codes(v, 2.0),
                                           x.astype(float)), rtol=1e-6)


def names_like_the_entry_codes_checks(x, d):
    _sd_sh0 = np.sin(x) * d["a"]     # the entry code's x.shape (its gradient's check)
    _sd_t1k = _sd_sh0 * x            # ... and d's keys (its guard)
    return np.sum(_sd_t1k)


def test_user_names_spelled_like_the_entry_codes_checks():
    """``_sd_sh0`` (the shape a gradient is checked against) and ``_sd_t1k`` (the keys
    of a dict argument) are the entry code's own too: a user's local spelled so keeps
    the plain path, right at every call (it was an ambiguous truth value, and an
    unbound local)."""
    g = grad(names_like_the_entry_codes_checks)
    x, d = np.array([0.3, -0.5, 1.1]), {"a": 1.5}
    for _ in range(3):
        out = g(x, d)
        np.testing.assert_allclose(out, 1.5 * (np.cos(x) * x + np.sin(x)), rtol=1e-14)
        np.testing.assert_allclose(out, fd(lambda v: names_like_the_entry_codes_checks(v, d),
                                           x), rtol=1e-6)


def entry_code_names(x, d, t, c, y):
    return np.sum(np.sin(x) * d["a"] * t[0]) * c + np.sum(y ** 2)


def test_every_name_the_entry_code_adds_is_reserved():
    """Each ``_sd_...`` name in the entry code (an array, a dict, a tuple, a float and a
    float32 argument) is one a user's name is checked against (entry._OWN)."""
    g = grad(entry_code_names, wrt=(0, 3, 4))
    args = (X, {"a": 0.5}, (2.0,), 0.7, np.ones(2, dtype=np.float32))
    for _ in range(2):
        g(*args)
    names = set(re.findall(r"\b_sd_\w+", inspect.getsource(g)))
    assert {"_sd_sh0", "_sd_t1k", "_sd_dispatch"} <= names, names
    assert not [n for n in names if not entry._OWN.fullmatch(n)], names


def calls_like(x):
    return np.sum(like(x) ** 2)


def test_a_helper_named_function_redefined_since_is_seen():
    """The gradient's guard checks the user's ``like`` by its own name: redefined (as in
    a notebook), the next call compiles again."""
    global like
    g = grad(calls_like)
    np.testing.assert_allclose(g(X), 18.0 * X, rtol=1e-12)     # like(x) = 3 x
    saved = like
    try:
        like = lambda a: a * 5.0       # noqa: E731
        np.testing.assert_allclose(g(X), 50.0 * X, rtol=1e-12)
    finally:
        like = saved
    np.testing.assert_allclose(g(X), 18.0 * X, rtol=1e-12)


def shuffles_a_local_named_like(x):
    like = np.array([x, 2.0 * x])
    np.random.shuffle(like)
    return like[0]


def test_an_error_names_the_users_name_as_written():
    with pytest.raises(UnsupportedSyntaxError) as info:
        grad(shuffles_a_local_named_like)(1.0)
    assert "may change like in function" in str(info.value), str(info.value)
    assert "_user" not in str(info.value)
