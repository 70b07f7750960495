"""One name generator with roles (issue #17): every name the compiler adds to a function
is made by its NameGen, which records the name's role; passes ask the role, never the
spelling, so a user's names spelled like generated ones (``_tx``, ``v_dot``, ``_aux``,
``_value``, ``_stack``, ``_``) keep their meaning. Each case below gave a wrong gradient
(or value, or a crash) while a pass decided by spelling."""

import gast
import numpy as np
import pytest

import sourcediff
from sourcediff.pipeline import driver
from sourcediff import tape
from sourcediff.ir import nodes as N
from sourcediff.ir.names import ROLES, NameGen


def fd(f, x, eps=1e-6):
    x = np.asarray(x, dtype=float)
    return np.array([(f(x + e) - f(x - e)) / (2 * eps)
                     for e in np.eye(x.size).reshape((x.size,) + x.shape) * eps]
                    ).reshape(x.shape)


# -- the generator ----------------------------------------------------------------------
def test_roles_are_recorded_and_user_names_have_none():
    names = NameGen({"x", "_t1", "x_bar"})
    t = names.temp("t")
    assert t == "_t2" and names.role(t) == "temp"
    assert names.adjoint("x") == "x_bar_1" and names.role("x_bar_1") == "adjoint"
    assert names.adjoint(t) == "t2_bar"        # a temporary's adjoint drops the underscore
    assert names.adjoint("_t1") == "_t1_bar"   # ... a user's _t1 keeps it
    assert names.tangent("x") == "x_dot" and names.role("x_dot") == "tangent"
    assert names.save("x") == "x_prev" and names.save("x") == "x_prev2"
    assert names.role("x_prev2") == "save"
    assert names.dummy() == "_" and names.dummy() == "_"
    assert names.role("x") is None and names.role("x_bar") is None  # the user's
    assert set(names.roles.values()) <= set(ROLES)


def _compiled_unit(fn, wrt=(0,), pipeline=driver.ADJOINT, spec=None):
    return driver.run(pipeline, driver.Unit(fn, wrt, spec))


def loop_with_saves(x):
    s = 0.0
    y = x
    for _i in range(3):
        y = np.sin(y) * x
        s = s + y
    while s < 10.0:
        s = s * 2.0 + x
    return s


def test_every_name_the_generated_code_binds_is_the_users_or_has_a_role():
    for pipeline in (driver.ADJOINT, driver.JVP):
        u = _compiled_unit(loop_with_saves, pipeline=pipeline)
        user = set(N.names_in(u.parsed.tree))
        fdef = u.result.tree
        bound = set(N.names_in(fdef, gast.Store)) | {a.id for a in fdef.args.args}
        unknown = {n for n in bound - user if u.names.role(n) is None}
        assert not unknown, unknown
        made = bound - user
        assert {u.names.role(n) for n in made} >= (
            {"adjoint", "temp", "save", "stack", "control"} if pipeline is driver.ADJOINT
            else {"tangent", "temp", "control"})


# -- user names spelled like generated ones ---------------------------------------------
def user_tx(x):
    s = 0.0
    for i in range(3):
        _tx = np.sin(x * i)   # a user's name, not a temporary local to one iteration
        s = s + _tx
    return s + _tx * x


def user_dummy(x):
    _ = x * 3.0               # the reverse of a while loop counts with its own variable
    z = np.sin(_ * x)
    while z < 10.0:
        z = z * 2.0 + x
    return z


def user_stack(x):
    _stack = x * 2.0          # not the stack of saved values
    y = x
    for _i in range(3):
        y = np.sin(y) * _stack
    return np.sum(y)


def user_value(x):
    y = x * 2.0
    _value = np.cos(y)        # not the output kept for the return
    for _i in range(2):
        y = y * _value
    return y


@pytest.mark.parametrize("f, x", [(user_tx, 0.7), (user_dummy, 0.4),
                                  (user_stack, np.array([0.3, 0.5])), (user_value, 0.3)],
                         ids=lambda v: getattr(v, "__name__", ""))
def test_user_names_spelled_like_generated_ones_reverse(f, x):
    expected = fd(f, x)
    np.testing.assert_allclose(sourcediff.grad(f)(x), expected, rtol=1e-6, atol=1e-8)
    value, g = sourcediff.value_and_grad(f)(x)
    np.testing.assert_allclose(value, f(x))
    np.testing.assert_allclose(g, expected, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(tape.grad(f)(x), expected, rtol=1e-6, atol=1e-8)


def user_aux(x):
    _aux = np.sin(x)          # not the aux value has_aux splits off
    return np.sum(_aux * x), x * 2.0


def test_user_aux_name_with_has_aux():
    x = np.array([0.3, 0.5])
    g, aux = sourcediff.grad(user_aux, has_aux=True)(x)
    np.testing.assert_allclose(g, np.sin(x) + x * np.cos(x), rtol=1e-12)
    np.testing.assert_allclose(aux, 2.0 * x)


def user_dot(x):
    v_dot = x * 1.0           # a user's name, not a tangent: x * 1.0 is a copy of x
    v_dot[0] = 0.0
    return np.sum(v_dot) + x[0] ** 2


def test_user_dot_name_in_forward_mode():
    x = np.array([1.0, 2.0, 3.0])
    before = x.copy()
    value, tangent = sourcediff.jvp(user_dot, (x,), (np.array([1.0, 0.0, 0.0]),))
    assert value == pytest.approx(6.0)
    assert tangent == pytest.approx(2.0)   # d(x0^2)/dx0: v_dot[0] was overwritten
    np.testing.assert_array_equal(x, before)  # the caller's array is not written
    src = driver.build_jvp(user_dot, (0,)).source
    assert "v_dot = x * 1.0" in src


def user_h(x):
    _h = np.sin(x)
    return _h


def test_seed_of_a_user_output_is_named_after_it():
    """The cotangent parameter of a vjp adjoint is named after the user's output, even
    one spelled with an underscore; a temporary output gives ``out_bar``."""
    src = driver.build_adjoint(user_h, (0,), with_seed=True).source
    assert "def user_h_adjoint(x, _h_bar):" in src
    src = driver.build_adjoint(lambda x: np.sin(x) * 2.0, (0,), with_seed=True).source
    assert "out_bar)" in src.splitlines()[0]


y_bar = np.array([1.0, 2.0, 3.0])   # data named like the adjoint of a local y


def reads_global_y_bar(x):
    y = np.sum(x * x)
    z = y * y_bar
    return np.sum(z)


def test_user_global_named_like_an_adjoint_has_its_own_shape():
    """Shape specialisation takes an adjoint's shape from its value's, found through the
    NameGen (``names.primal``), not by the spelling ``y_bar``: the global ``y_bar`` is
    not a scalar like ``y`` (the gradient was silently wrong)."""
    x = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(sourcediff.grad(reads_global_y_bar)(x),
                               fd(reads_global_y_bar, x), rtol=1e-6)
