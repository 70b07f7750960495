"""User names that generated code also uses: a user function named like a runtime helper
(``like``, ``unbroadcast``) is the user's in generated code, and user variables named
like compiler-made ones (``_h``, ``y_bar``) keep their meaning."""

import numpy as np
import pytest

from sourcediff import grad, jvp, tape

X = np.array([0.3, -0.5, 1.1])


def like(x):  # the name of the helper that gives gradients their argument's type
    return x * 3.0


def unbroadcast(a, b):  # the name of the helper that sums broadcast cotangents
    return a * b + np.sin(a)


def item_of(a):  # the name of the helper x.item() becomes
    return a ** 2


def uses_like(x):
    return np.sum(like(x) ** 2)


def uses_unbroadcast(x):
    return np.sum(unbroadcast(x, x[::-1]))


def uses_item_of(x):
    return np.sum(item_of(x)) + np.sum(x).item()


def compiler_like_names(x):
    _h = x * 2.0
    y_bar = np.sin(_h)
    _h = y_bar * x
    y_bar = y_bar + _h
    return np.sum(y_bar * _h)


def fd(f, x, eps=1e-6):
    return np.array([(f(x + e) - f(x - e)) / (2 * eps) for e in np.eye(x.size) * eps])


@pytest.mark.parametrize("f", [uses_like, uses_unbroadcast, uses_item_of,
                               compiler_like_names], ids=lambda f: f.__name__)
def test_user_names_keep_their_meaning(f):
    expected = fd(f, X)
    np.testing.assert_allclose(grad(f)(X), expected, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(tape.grad(f)(X), expected, rtol=1e-6, atol=1e-8)
    v = np.array([1.0, -2.0, 0.5])
    assert jvp(f, (X,), (v,))[1] == pytest.approx(expected @ v, rel=1e-6)


def underscore_names(x):
    _h = np.sin(x)
    y_bar = _h * 2.0
    return np.sum(y_bar * y_bar)


def test_user_names_spelled_like_generated_ones_are_kept():
    """``_h`` and ``y_bar`` are the user's names, not temporaries the optimiser may inline:
    the generated code keeps them as it keeps ``h`` and ``y`` (issue #17)."""
    import sourcediff as sd
    g = sd.grad(underscore_names)
    x = np.array([0.3, -1.2, 2.0])
    assert np.allclose(g(x), 8.0 * np.sin(x) * np.cos(x))
    src = sd.source(g)
    assert "_h = np.sin(x)" in src and "y_bar = _h * 2.0" in src


def helper_named_locals(x, b):
    unbroadcast = x * b           # locals named like helpers the gradient calls
    like = np.sin(unbroadcast)
    unreduce = np.sum(like)
    return unreduce


def helper_named_parameter(x, unbroadcast):
    return np.sum(np.cos(x * unbroadcast))


unreduce = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]])  # data named like a helper


def helper_named_data(x):
    return np.sum(np.sin(x) * unreduce)


B = np.array([[1.0, 0.5, -2.0], [0.3, 1.0, 0.7]])


@pytest.mark.parametrize("f, args", [(helper_named_locals, (X, B)),
                                     (helper_named_parameter, (X, B)),
                                     (helper_named_data, (X,))], ids=lambda v: getattr(
                                         v, "__name__", ""))
def test_locals_parameters_and_data_named_like_helpers(f, args):
    """A local, a parameter or a data global named like a runtime helper is the user's:
    kept as written in generated code, which reaches the helpers through ``_sd``
    (``_sd.unbroadcast``), also in code not specialised on shapes (where it stays)."""
    from sourcediff.pipeline import driver
    x, rest = args[0], args[1:]
    expected = fd(lambda v: f(v, *rest), x)
    np.testing.assert_allclose(grad(f)(*args), expected, rtol=1e-6, atol=1e-8)
    adj = driver.build_adjoint(f, (0,))  # no specialisation: the helpers stay in the code
    assert "_sd.unbroadcast(" in adj.source or "_sd.unreduce(" in adj.source
    assert "_user" not in adj.source
    np.testing.assert_allclose(adj.fn(*args)[1][0], expected, rtol=1e-6, atol=1e-8)
    v = np.array([1.0, -2.0, 0.5])
    tangents = (v,) + tuple(np.zeros_like(r) for r in rest)
    assert jvp(f, args, tangents)[1] == pytest.approx(expected @ v, rel=1e-6)


def test_data_named_like_a_helper_is_read_at_each_call():
    """Named like a helper, the global is read by its own name at each call."""
    global unreduce
    g = grad(helper_named_data)
    saved = unreduce
    try:
        unreduce = saved * 2.0
        np.testing.assert_allclose(g(X), np.cos(X) * np.sum(unreduce, axis=0), rtol=1e-12)
    finally:
        unreduce = saved
    np.testing.assert_allclose(g(X), np.cos(X) * np.sum(unreduce, axis=0), rtol=1e-12)
