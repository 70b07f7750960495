"""The pipeline declared as data (issue #17): ``driver.FRONT``, ``driver.ADJOINT`` and
``driver.JVP`` are tables of named stages, each a function of one compilation unit
(``driver.Unit``); ``build_adjoint``/``build_jvp`` run them, and a new pass is one line."""

import numpy as np

from sourcediff.pipeline import driver
from sourcediff.ir import nodes as N


def f(x, w):
    h = np.tanh(x * w)
    for _i in range(2):
        h = np.sin(h) * w
    return np.sum(h * h)


X, W = np.array([0.3, -0.4, 0.8]), 0.7


def _fd(fn, x, eps=1e-6):
    return np.array([(fn(x + e) - fn(x - e)) / (2 * eps) for e in np.eye(x.size) * eps])


def test_the_pipelines_are_tables_of_named_stages():
    for pipeline in (driver.FRONT, driver.ADJOINT, driver.JVP):
        names = [name for name, _ in pipeline]
        assert len(set(names)) == len(names)
        assert all(isinstance(name, str) and callable(stage) for name, stage in pipeline)
    front = len(driver.FRONT)
    assert driver.ADJOINT[:front] == driver.FRONT and driver.JVP[:front] == driver.FRONT
    adjoint = [name for name, _ in driver.ADJOINT]
    assert adjoint.index("activity") < adjoint.index("reverse sweep") \
        < adjoint.index("save/restore") < adjoint.index("optimise") < adjoint.index("compile")


def test_build_adjoint_runs_the_table():
    u = driver.run(driver.ADJOINT, driver.Unit(f, (0,)))
    assert u.result.source == driver.build_adjoint(f, (0,)).source
    value, (g,) = u.result.fn(X, W)
    np.testing.assert_allclose(g, _fd(lambda x: f(x, W), X), rtol=1e-6)
    assert u.active >= {"h", "x"} and "w" not in u.active and u.names.role("x") is None


def test_a_new_pass_is_one_line():
    """A stage added to the table sees the unit between its neighbours: here one that
    negates the gradient before compiling (what a pass after the optimiser would do)."""
    def negate(u):
        ret = u.fdef.body[-1]
        grads = ret.value.elts[1].elts
        grads[0] = N.neg(grads[0])
    k = [name for name, _ in driver.ADJOINT].index("compile")
    pipeline = driver.ADJOINT[:k] + (("negate", negate),) + driver.ADJOINT[k:]
    u = driver.run(pipeline, driver.Unit(f, (0,)))
    _, (g,) = u.result.fn(X, W)
    np.testing.assert_allclose(-g, _fd(lambda x: f(x, W), X), rtol=1e-6)


def test_forward_mode_runs_its_table():
    u = driver.run(driver.JVP, driver.Unit(f, (0,)))
    v = np.array([1.0, -2.0, 0.5])
    _, t = u.result.fn(X, W, v)
    np.testing.assert_allclose(t, _fd(lambda x: f(x, W), X) @ v, rtol=1e-6)
    assert u.names.role(u.names.tangent("x")) == "tangent"
