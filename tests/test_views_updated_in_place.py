"""A view of an array the function then updates in place (front/views.py).

``y[1:] = np.sin(y[:-1])`` reads the view ``y[:-1]``; the reverse sweep read it again
after the update, saw the new values and gave a wrong gradient with no error (found by
the review of 2026-12-02). The adjoint now keeps such a view as a copy; a view the
function itself reads after the update (NumPy: it sees the new values) is refused.
Gradients are checked against central differences, and at order 2 against central
differences of the gradient.
"""

# ruff: noqa: E702  (statements on one line, separated by semicolons, are the point)
from __future__ import annotations

import numpy as np
import pytest
from conftest import numeric_grad

import sourcediff as sd
from sourcediff.errors import SourceDiffError


def shifted(x):
    y = x * 1.5
    y[1:] = np.sin(y[:-1])
    return np.sum(x * y ** 2)


def shifted_in_loop(x):
    y = x + 0.5
    for _ in range(3):
        y[1:] = np.tanh(y[:-1]) * x[1:]
    return np.sum(y ** 2)


def column_update(m):
    a = m * 2.0
    a[:, 0] = np.sin(a[:, 0]) * a[:, 1]
    return np.sum(a ** 2)


def transposed_read(m, w):
    a = m * 1.0
    a[0, :] = np.tanh(a.T @ w)
    return np.sum(a * m)


def rows(x, w):
    h = np.zeros((4, x.size))
    h[0] = x
    for i in range(1, 4):
        prev = h[i - 1]          # (a view of a row the loop does not write)
        h[i] = np.tanh(prev * w)
    return np.sum(h ** 2)


def stale_pair(x):
    y = x * 1.0
    a, b = y[:3], y[3:]          # (views, through the temporaries of a tuple display)
    y[0] = x[2] * 5.0
    return np.sum(a * b)


def stale(x):
    y = x * 2.0
    head = y[:-1]
    y[1:] = np.sin(head)
    return np.sum(head)          # (head sees the update)


X = np.linspace(-0.9, 1.1, 5)
M = np.array([[0.3, -1.2, 0.7], [1.1, 0.4, -0.6], [-0.8, 0.9, 0.2]])
CASES = [
    (shifted, (X,), 0),
    (shifted_in_loop, (X,), 0),
    (column_update, (M,), 0),
    (transposed_read, (M, np.array([0.5, -1.0, 2.0])), 0),
    (transposed_read, (M, np.array([0.5, -1.0, 2.0])), 1),
    (rows, (X[:3], 0.8), 0),
    (rows, (X[:3], 0.8), 1),
]


@pytest.mark.parametrize("f, args, wrt", CASES,
                         ids=[f"{f.__name__}-{w}" for f, _, w in CASES])
def test_gradient_reads_the_view_as_it_was(f, args, wrt):
    before = [np.copy(a) for a in args]
    got = sd.grad(f, wrt=wrt)(*args)
    np.testing.assert_allclose(got, numeric_grad(f, args, (wrt,))[0], rtol=1e-6, atol=1e-8)
    for a, b in zip(args, before):
        np.testing.assert_array_equal(a, b)  # (the caller's arrays untouched)


@pytest.mark.parametrize("f, args", [(shifted, (X,)), (column_update, (M,))],
                         ids=["shifted", "column_update"])
def test_second_order(f, args):
    x, eps = args[0], 1e-6
    fd = np.empty(x.shape + x.shape)
    for i in np.ndindex(x.shape):  # central differences of the gradient
        e = np.zeros_like(x)
        e[i] = eps
        fd[(Ellipsis,) + i] = (sd.grad(f)(x + e) - sd.grad(f)(x - e)) / (2 * eps)
    np.testing.assert_allclose(sd.hessian(f)(x), fd, rtol=1e-5, atol=1e-7)


def test_shifted_by_hand():
    """d/dx of sum(x * y**2), y_0 = 1.5 x_0 and y_{i+1} = sin(1.5 x_i), written out."""
    x = X
    y = 1.5 * x
    y[1:] = np.sin(1.5 * x[:-1])
    want = y ** 2                                                # x_i's own factor
    want[0] += x[0] * 2 * y[0] * 1.5                             # through y_0
    want[:-1] += x[1:] * 2 * y[1:] * np.cos(1.5 * x[:-1]) * 1.5  # through y_{i+1}
    np.testing.assert_allclose(sd.grad(shifted)(x), want, rtol=1e-12)


def test_a_view_bound_through_another_name_is_one_too():
    with pytest.raises(SourceDiffError, match="a view of 'y'"):
        sd.grad(stale_pair)(np.linspace(0.1, 1.2, 6))


def test_a_view_read_after_its_array_changes_is_refused():
    with pytest.raises(SourceDiffError) as info:
        sd.grad(stale)(X)
    text = str(info.value)
    assert "'head', a view of 'y'" in text and "updated in place" in text, text
    assert "stale" in text and "np.copy" in text, text


def test_the_adjoint_keeps_a_copy_and_other_modes_run_as_written():
    g = sd.grad(shifted)
    g(X)
    assert "copy_of(y[:-1])" in sd.source(g).replace("_sd.", ""), sd.source(g)
    v = np.ones_like(X)
    out, tangent = sd.jvp(shifted, (X,), (v,))
    np.testing.assert_allclose(out, shifted(X))
    np.testing.assert_allclose(tangent, numeric_grad(shifted, (X,), (0,))[0] @ v, rtol=1e-6)


def adds_through_a_view(x):
    y = x * 2.0
    v = y[1:]
    v += x[:-1]                  # (NumPy: y[1:] changes too)
    return np.sum(y ** 2)


def adds_through_a_second_name(x):
    y = x * 2.0
    z = y
    z += x
    return np.sum(y * x)


def accumulates_from_an_argument(x0, v):
    x = x0
    for _ in range(3):
        x += 0.1 * v             # (x0 is not read again: no one sees the change)
    return np.sum(x ** 2)


@pytest.mark.parametrize("f", [adds_through_a_view, adds_through_a_second_name])
def test_an_update_through_an_alias_read_later_is_refused(f):
    """``v += e`` on a view or second name of ``y``, ``y`` read afterwards: NumPy changes
    ``y``, the derivative (of ``v = v + e``) did not: value and gradient were wrong with
    no error (the dead ``v`` was even dropped)."""
    with pytest.raises(SourceDiffError) as info:
        sd.grad(f)(X)
    assert "in-place update of" in str(info.value) and "read afterwards" in str(info.value)


def test_an_alias_nothing_reads_afterwards_is_fine():
    v = np.array([0.2, -0.4, 0.1, 0.3, 0.5])
    got = sd.grad(accumulates_from_an_argument, wrt=(0, 1))(X, v)
    for a, want in zip(got, numeric_grad(accumulates_from_an_argument, (X, v), (0, 1))):
        np.testing.assert_allclose(a, want, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(got[0], 2 * (X + 0.3 * v))  # by hand


# --- statements on one line (semicolons): "after" is the order statements run in -------
# check_augmented compared line numbers: on one line ``v += e`` and a later read of ``y``
# were missed (a wrong gradient with no error). The order now is the statements' own.
def adds_then_reads_on_one_line(x):
    y = np.sin(x)
    v = y[1:]; v += x[:-1]; s = np.sum(y * y)
    return s


def second_name_on_one_line(x):
    y = x * 2.0
    z = y; z += x; s = np.sum(y * x)
    return s


def reads_earlier_on_the_line_in_a_loop(x):
    y = np.sin(x)
    s = 0.0
    for _ in range(2):       # (the next iteration reads the y this one changed)
        s = s + np.sum(y * y); v = y[1:]; v += x[:-1]
    return s


def reads_through_another_name(x):
    y = np.sin(x)
    w = y
    v = y[1:]; v += x[:-1]; s = np.sum(w * w)
    return s


def reads_through_a_chain_of_names(x):
    y = np.sin(x)
    w = y; v = w[1:]; v += x[:-1]
    return np.sum(y * y)


def bound_twice(x):
    y = np.sin(x)
    a = x * 1.0
    v = a[1:]; v = y[1:]; v += x[:-1]  # (the update goes through the second binding)
    return np.sum(y * y)


def unpacked_views(x):
    y = np.sin(x)
    v, c = y[1:], 2.0
    v += x[:-1]
    return c * np.sum(y * y)


def rows_of_a_matrix(x):
    y = np.outer(x, x)
    for r in y:              # (each row a view of y)
        r += x
    return np.sum(y * y)


def items_of_a_list(x):
    y = np.sin(x)
    z = np.cos(x)
    for a in [y, z]:
        a += x
    return np.sum(y * z)


def items_appended_to_a_list(x):
    y = np.sin(x)
    rows = []
    rows.append(y)
    for a in rows:
        a += x
    return np.sum(y * y)


def read_by_a_nested_function(x):
    y = np.sin(x)

    def energy():            # (defined before the update, called after)
        return np.sum(y * y)
    v = y[1:]; v += x[:-1]
    return energy()


def read_by_a_lambda(x):
    y = np.sin(x)
    energy = lambda: np.sum(y * y)  # noqa: E731
    v = y[1:]; v += x[:-1]
    return energy()


def stale_on_one_line(x):
    y = x * 2.0
    head = y[:-1]; y[1:] = np.sin(head); s = np.sum(head)
    return s


def stale_in_the_next_iteration(x):
    y = x * 2.0
    head = y[:-1]
    s = 0.0
    for _ in range(2):       # (read before the update in this iteration, after in the next)
        s = s + np.sum(head ** 2); y[1:] = np.sin(x[1:])
    return s + np.sum(y)


def view_of_an_augmented_array_on_one_line(x):
    y = x * 2.0
    v = y[1:]; y += x; s = np.sum(v)
    return s


REFUSED = [
    (adds_then_reads_on_one_line, "share its data with 'y'"),
    (second_name_on_one_line, "share its data with 'y'"),
    (reads_earlier_on_the_line_in_a_loop, "share its data with 'y'"),
    (reads_through_another_name, "share its data with 'w'"),
    (reads_through_a_chain_of_names, "share its data with 'y'"),
    (bound_twice, "share its data with 'y'"),
    (unpacked_views, "share its data with 'y'"),
    (rows_of_a_matrix, "share its data with 'y'"),
    (items_of_a_list, "share its data with 'y'"),
    (items_appended_to_a_list, "share its data with 'y'"),
    (read_by_a_nested_function, "share its data with 'y'"),
    (read_by_a_lambda, "share its data with 'y'"),
    (stale_on_one_line, "'head', a view of 'y'"),
    (stale_in_the_next_iteration, "'head', a view of 'y'"),
    (view_of_an_augmented_array_on_one_line, "share its data with 'v'"),
]


@pytest.mark.parametrize("f, message", REFUSED, ids=[f.__name__ for f, _ in REFUSED])
def test_a_read_after_the_update_is_refused_on_one_line_too(f, message):
    """Each was a wrong gradient with no error, but for three kept as they were (the
    loop's next iteration, the two stale views): on one line, or (a second name, a
    chain of names, a name bound twice, unpacking, a loop's items, a list's, a nested
    function or lambda, ``y += e`` with a view ``v`` of ``y`` read after) on any lines.
    NumPy changes the array the update goes through, the derivative (of ``v = v + e``)
    does not."""
    with pytest.raises(SourceDiffError) as info:
        sd.grad(f)(X)
    assert message in str(info.value), str(info.value)
    assert info.value.lineno is not None and f.__name__ in str(info.value)


def update_read_before_on_one_line(x):
    y = np.sin(x)
    s = np.sum(y * y); v = y[1:]; v += x[:-1]
    return s + np.sum(v ** 2)


def nothing_reads_y_after(x):
    y = np.sin(x)
    v = y[1:]; v += x[:-1]; s = np.sum(v * v)
    return s


def update_on_several_lines(x):
    y = np.sin(x)
    v = y[1:]
    v += (x[:-1]     # (reads y in its own right side: before the update)
          + y[0])
    return np.sum(v * v)


def shifted_on_one_line(x):
    y = x * 1.5
    y[1:] = np.sin(y[:-1]); s = np.sum(x * y ** 2)
    return s


def stale_read_before_on_one_line(x):
    y = x * 2.0
    head = y[:-1]; s = np.sum(head ** 2); y[1:] = np.sin(head)
    return s + np.sum(y)


def rebound_before_the_update(x):
    t = x * 2.0
    h = t[1:]; h = np.sin(x[1:]); h += x[:-1]  # (h a new array when updated)
    return np.sum(t[1:] * h)


def bound_again_in_a_loop(x):
    s = 0.0
    for _ in range(3):
        h = np.tanh(x + s)   # (a new array each iteration)
        w = h; h = h * 1.0; h += x; s = s + np.sum(w * h)
    return s


FINE = [update_read_before_on_one_line, nothing_reads_y_after, update_on_several_lines,
        shifted_on_one_line, stale_read_before_on_one_line, rebound_before_the_update,
        bound_again_in_a_loop]


@pytest.mark.parametrize("f", FINE, ids=lambda f: f.__name__)
def test_a_read_before_the_update_on_one_line_is_differentiated(f):
    """(``update_on_several_lines`` and ``rebound_before_the_update`` were refused:
    a read on a later line of the update's own statement; ``h`` once a view of ``t``.)"""
    got = sd.grad(f)(X)
    np.testing.assert_allclose(got, numeric_grad(f, (X,), (0,))[0], rtol=1e-6, atol=1e-8)
    fd = np.empty((X.size, X.size))
    for i in range(X.size):  # order 2: central differences of the gradient
        e = np.zeros_like(X)
        e[i] = 1e-6
        fd[:, i] = (sd.grad(f)(X + e) - sd.grad(f)(X - e)) / 2e-6
    np.testing.assert_allclose(sd.hessian(f)(X), fd, rtol=1e-5, atol=1e-7)


def test_the_view_on_one_line_is_kept_as_a_copy():
    g = sd.grad(shifted_on_one_line)
    np.testing.assert_allclose(g(X), sd.grad(shifted)(X), rtol=1e-12)  # (as on two lines)
    assert "copy_of(y[:-1])" in sd.source(g).replace("_sd.", ""), sd.source(g)


def test_the_rows_of_a_vector_are_numbers_and_share_nothing():
    def f(x):
        s = 0.0
        for r in x:          # (r a number: r += 1 binds a new one)
            r += 1.0; s = s + r * r
        return s + np.sum(x ** 2)
    np.testing.assert_allclose(sd.grad(f)(X), 2 * (X + 1.0) + 2 * X, rtol=1e-12)
