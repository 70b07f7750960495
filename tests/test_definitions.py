"""Library functions differentiated through their NumPy definitions
(``sourcediff/prims/definitions.py``, declared with ``registry.defvia``): each definition
gives the library function's value, and its derivatives match central differences at
order 1 (compiler, tape, forward mode) and 2."""

import numpy as np
import pytest
import scipy.special as special

import sourcediff as sd
from sourcediff.prims import definitions, registry
from checks import check_orders

X = np.array([0.4, 1.3, 0.9, 0.2, 0.7])
T = np.array([0.0, 0.5, 1.25, 1.5, 2.5])
M = np.array([[0.4, 1.3, 0.9], [0.2, 0.7, -0.5], [1.1, -0.3, 0.6]])

# (the library call, as a function of a vector; at X)
CASES = {
    "trapezoid": lambda x: np.trapezoid(x ** 2),
    "trapezoid_x": lambda x: np.trapezoid(np.sin(T), x=T * x),
    "trapezoid_dx_axis": lambda x: np.sum(np.trapezoid(np.outer(x, x), dx=x[0], axis=0)),
    "trapezoid_2d_x": lambda x: np.sum(np.trapezoid(np.outer(x, T), np.outer(T, x), axis=1)),
    "polyval": lambda x: np.sum(np.polyval(x, np.array([0.3, -1.2]))),
    "polyval_at_x": lambda x: np.sum(np.polyval(np.array([1.0, -2.0, 0.5]), x)),
    "vecdot": lambda x: np.vecdot(x, np.sin(x)),
    "vector_norm": lambda x: np.linalg.vector_norm(np.reshape(x[:4], (2, 2))),
    "vector_norm_ord1_axis": lambda x: np.sum(np.linalg.vector_norm(
        np.reshape(x[:4], (2, 2)), ord=3, axis=0, keepdims=True)),
    "matrix_norm": lambda x: np.linalg.matrix_norm(np.reshape(x[:4], (2, 2))),
    "cov": lambda x: np.sum(np.cov(np.stack([x, x ** 2, np.sin(x)])) ** 2),
    "cov_rowvar_y": lambda x: np.sum(np.cov(np.stack([x, x ** 2], axis=1), np.cos(x),
                                            rowvar=False, ddof=0)),
    "corrcoef": lambda x: np.sum(np.corrcoef(np.stack([x, x ** 2, np.sin(x)])) ** 3),
    "convolve_full": lambda x: np.sum(np.convolve(x, np.array([1.0, -2.0, 0.5])) ** 2),
    "convolve_same": lambda x: np.sum(np.sin(np.convolve(x[:3], x, mode="same"))),
    "convolve_valid": lambda x: np.sum(np.convolve(x, x[:2] ** 2, mode="valid") ** 2),
    "interp_fp": lambda x: np.sum(np.interp(np.array([-1.0, 0.3, 1.7, 4.0, 9.0]), T * 2, x)),
    "interp_x": lambda x: np.sum(np.interp(x * 3.0, T, np.cos(T), left=0.5, right=-0.5) ** 2),
    "entr": lambda x: np.sum(special.entr(x)),
    "rel_entr": lambda x: np.sum(special.rel_entr(x, 2.0 - x * 0.5)),
    "kl_div": lambda x: np.sum(special.kl_div(x ** 2, x + 0.5)),
    "huber": lambda x: np.sum(special.huber(0.6, x - 0.5)) + special.huber(x[0], 2.0),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_function_differentiated_through_its_definition(name):
    check_orders(CASES[name], X)


def _library(name):
    """The library function ``definitions.<name>`` defines (``np.trapezoid``, not the
    deprecated alias ``np.trapz`` some NumPy versions still have)."""
    return next(fn for fn, d in registry._VIA.values() if d.__name__ == name
                and registry.qualified_name(fn) == d.__sourcediff_defines__)


@pytest.mark.parametrize("args", [
    ("trapezoid", (X,), {}), ("trapezoid", (np.outer(X, T), T), {"axis": 1}),
    ("trapezoid", (np.outer(X, T),), {"dx": 0.3, "axis": 0}),
    ("polyval", (X, T), {}), ("vecdot", (M, M.T), {"axis": 0}),
    ("vector_norm", (M,), {"ord": 1}), ("vector_norm", (M,), {"axis": 1, "keepdims": True}),
    ("matrix_norm", (M,), {"ord": "nuc"}), ("cov", (M,), {}), ("cov", (M, X[:3]), {"bias": True}),
    ("cov", (X,), {}), ("corrcoef", (M,), {}), ("corrcoef", (M, M ** 2), {"rowvar": False}),
    ("convolve", (X, X[:2]), {}), ("convolve", (X[:2], X), {"mode": "same"}),
    ("convolve", (X, X[:3]), {"mode": "valid"}),
    ("interp", (np.array([-1.0, 0.0, 0.3, 2.5, 3.0]), T, X), {}),
    ("interp", (1.7, T, X), {"left": -2.0, "right": 2.0}),
    ("entr", (np.array([0.0, 0.5, -1.0]),), {}),
    ("rel_entr", (np.array([0.0, 0.5, 0.5, -1.0]), np.array([1.0, 0.2, -1.0, 1.0])), {}),
    ("kl_div", (np.array([0.0, 0.5, 0.5]), np.array([1.0, 0.2, -1.0])), {}),
    ("huber", (0.5, np.array([-2.0, 0.1, 0.7])), {}), ("huber", (-1.0, 0.3), {}),
], ids=lambda a: a[0] if isinstance(a, str) else None)
def test_a_definition_gives_the_library_functions_value(args):
    name, pos, kw = args
    np.testing.assert_allclose(getattr(definitions, name)(*pos, **kw),
                               _library(name)(*pos, **kw), rtol=1e-12, atol=1e-12)


def test_an_argument_a_definition_does_not_take_is_refused():
    with pytest.raises(NotImplementedError, match="fweights"):
        sd.grad(lambda x: np.sum(np.cov(np.stack([x, x ** 2]), fweights=[1, 2, 1, 1, 1])))(X)


def test_a_loop_building_zeros_of_a_length_that_changes_per_step():
    """(np.convolve's definition: np.zeros(m - 1 - j) in a loop crashed shape inference)"""
    def f(x):
        total = 0.0
        for j in range(3):
            total = total + np.sum(np.concatenate([np.zeros(2 - j), x[j:] * x[0]]) ** 2)
        return total
    check_orders(f, X)
