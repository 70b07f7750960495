"""Ordinary user Python: parameters in dataclasses and NamedTuples, methods calling
methods, in-place updates of an argument, helpers redefined after the first call
(a notebook), and pickled gradients. Values are checked against central finite
differences and hand-computed numbers, in grad, jvp and the tape where they apply."""

import copy
import dataclasses
import importlib
import multiprocessing
import pickle
import subprocess
import sys
import textwrap
import typing

import numpy as np
import pytest

import sourcediff as sd
from sourcediff.values import structure
from sourcediff.errors import ArgumentError, MissingRuleError, SourceDiffError

import user_python_helpers as helpers
from checks import check_orders

X = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]) / 5.0
Y = np.array([1.0, -1.0, 0.5])


# --- helpers -------------------------------------------------------------------------

def fd_grad(f, args, i, eps=1e-6):
    """Central differences of scalar ``f`` with respect to argument ``i`` (any container),
    shaped like it. Every evaluation gets its own deep copy of the arguments."""
    flat, rebuild = structure.flatten(args[i])
    out = []
    for k, leaf in enumerate(flat):
        leaf = np.asarray(leaf, dtype=float)
        g = np.zeros(leaf.shape)
        for j in np.ndindex(leaf.shape):
            vals = []
            for sign in (1.0, -1.0):
                moved = leaf.copy()
                moved[j] += sign * eps
                new = [copy.deepcopy(v) for v in flat]
                new[k] = moved if leaf.ndim else float(moved)
                a = list(copy.deepcopy(args))
                a[i] = rebuild(new)
                vals.append(f(*a))
            g[j] = (vals[0] - vals[1]) / (2 * eps)
        out.append(g if leaf.ndim else float(g))
    return rebuild(out)


def assert_tree_close(got, want, rtol=1e-6, atol=1e-8):
    assert type(got) is type(want), (type(got), type(want))
    got_leaves, want_leaves = list(structure.leaves(got)), list(structure.leaves(want))
    assert [p for p, _ in got_leaves] == [p for p, _ in want_leaves]
    for (path, a), (_, b) in zip(got_leaves, want_leaves):
        assert type(a) is type(b) or isinstance(b, float), (path, type(a), type(b))
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=path)


def directional(grad_tree, tangent_tree):
    return sum(float(np.sum(np.asarray(g) * np.asarray(t))) for (_, g), (_, t) in zip(
        structure.leaves(grad_tree), structure.leaves(tangent_tree)))


# --- 1. parameters in dataclasses, NamedTuples and registered containers ------------

@dataclasses.dataclass
class Params:
    w: np.ndarray
    b: float


@dataclasses.dataclass(frozen=True)
class Checked:
    """Frozen, and its __post_init__ refuses what a gradient may well be."""
    scale: float
    w: np.ndarray

    def __post_init__(self):
        if self.scale <= 0:
            raise ValueError("scale must be positive")

    @property
    def doubled(self):
        return 2.0 * self.w


class Layer(typing.NamedTuple):
    w: np.ndarray
    b: np.ndarray


def linear_loss(p, X, y):
    return np.mean((X @ p.w + p.b - y) ** 2)


def layer_loss(layer, X):
    h = np.tanh(X @ layer.w + layer[1])
    return np.sum(h ** 2)


def checked_loss(c, x):
    return np.sum(np.sin(c.w * x) * c.scale)


def two_layers(params, X):
    h = np.tanh(X @ params[0].w + params[0].b)
    return np.sum((h @ params[1].w + params[1].b) ** 2)


def dict_of_dataclass(d, X, y):
    return linear_loss(d["lin"], X, y) + d["reg"] * np.sum(d["lin"].w ** 2)


def params_example():
    return Params(np.array([0.5, -1.0]), 0.25)


@pytest.mark.parametrize("mode", ["compile", "tape"])
def test_dataclass_params_gradient_is_a_dataclass(mode):
    p = params_example()
    g = sd.grad(linear_loss, mode=mode)(p, X, Y)
    assert isinstance(g, Params)
    r = X @ p.w + p.b - Y  # by hand: d/dw = 2/n X^T r, d/db = 2/n sum r
    assert_tree_close(g, Params(2 / 3 * X.T @ r, float(2 / 3 * np.sum(r))))
    assert_tree_close(g, fd_grad(linear_loss, (p, X, Y), 0))
    assert p.w.tolist() == [0.5, -1.0] and p.b == 0.25  # not mutated


def test_dataclass_value_and_grad_and_jvp():
    p = params_example()
    value, g = sd.value_and_grad(linear_loss)(p, X, Y)
    np.testing.assert_allclose(value, linear_loss(p, X, Y))
    t = Params(np.array([1.0, -2.0]), 0.5)
    out, dout = sd.jvp(linear_loss, (p, X, Y), (t, np.zeros_like(X), np.zeros_like(Y)))
    np.testing.assert_allclose(out, linear_loss(p, X, Y))
    np.testing.assert_allclose(dout, directional(g, t), rtol=1e-10)


@pytest.mark.parametrize("mode", ["compile", "tape"])
def test_namedtuple_read_by_field_and_by_index(mode):
    layer = Layer(np.array([[0.3, -0.2], [0.1, 0.4]]), np.array([0.05, -0.1]))
    g = sd.grad(layer_loss, mode=mode)(layer, X)
    assert isinstance(g, Layer)
    assert_tree_close(g, fd_grad(layer_loss, (layer, X), 0))


def test_namedtuple_jvp():
    layer = Layer(np.array([[0.3, -0.2], [0.1, 0.4]]), np.array([0.05, -0.1]))
    t = Layer(np.array([[1.0, 0.0], [0.5, -1.0]]), np.array([0.0, 2.0]))
    _, dout = sd.jvp(layer_loss, (layer, X), (t, np.zeros_like(X)))
    np.testing.assert_allclose(dout, directional(sd.grad(layer_loss)(layer, X), t), rtol=1e-10)


@pytest.mark.parametrize("mode", ["compile", "tape"])
def test_frozen_dataclass_gradient_skips_post_init(mode):
    c = Checked(2.0, np.array([0.1, 0.2, 0.3]))
    x = np.array([1.0, -2.0, 0.5])
    g = sd.grad(checked_loss, mode=mode)(c, x)  # d/dscale < 0 here: no __post_init__ check
    assert isinstance(g, Checked)
    assert_tree_close(g, fd_grad(checked_loss, (c, x), 0))
    np.testing.assert_allclose(g.scale, np.sum(np.sin(c.w * x)))


@pytest.mark.parametrize("mode", ["compile", "tape"])
def test_list_of_namedtuples_and_dict_of_dataclass(mode):
    params = [Layer(np.array([[0.3, -0.2], [0.1, 0.4]]), np.array([0.05, -0.1])),
              Layer(np.array([0.7, -0.5]), np.array(0.2))]
    g = sd.grad(two_layers, mode=mode)(params, X)
    assert type(g) is list and all(isinstance(v, Layer) for v in g)
    assert_tree_close(g, fd_grad(two_layers, (params, X), 0))
    d = {"lin": params_example(), "reg": 0.1}
    g = sd.grad(dict_of_dataclass, mode=mode)(d, X, Y)
    assert isinstance(g["lin"], Params)
    assert_tree_close(g, fd_grad(dict_of_dataclass, (d, X, Y), 0))


class Affine:
    """A plain class made a container kind by registration."""

    def __init__(self, a, c):
        self.a, self.c = a, c


structure.register_container(Affine, lambda z: [z.a, z.c],
                             lambda z, kids: Affine(*kids), fields=("a", "c"))


def affine_loss(m, x):
    return np.sum((m.a * x + m.c) ** 2)


@pytest.mark.parametrize("mode", ["compile", "tape"])
def test_registered_container(mode):
    m, x = Affine(np.array([1.0, 2.0]), 0.5), np.array([0.3, -0.4])
    g = sd.grad(affine_loss, mode=mode)(m, x)
    assert isinstance(g, Affine)
    r = m.a * x + m.c
    np.testing.assert_allclose(g.a, 2 * r * x)
    np.testing.assert_allclose(g.c, 2 * np.sum(r))
    _, dout = sd.jvp(affine_loss, (m, x), (Affine(np.ones(2), 0.0), np.zeros(2)))
    np.testing.assert_allclose(dout, np.sum(2 * r * x))
    assert sd.register_container is structure.register_container


def reads_a_property(c, x):
    return np.sum(c.doubled * x)


def test_attribute_that_is_no_field_is_refused_not_zero():
    c = Checked(2.0, np.array([0.1, 0.2]))
    with pytest.raises(MissingRuleError, match=r"\.doubled of a Checked") as info:
        sd.grad(reads_a_property)(c, np.ones(2))
    assert "register_container" in info.value.hint


def test_a_class_of_arrays_that_is_no_container_says_how_to_make_it_one():
    class Plain:
        w = np.ones(2)
    with pytest.raises(ArgumentError, match="it is a Plain") as info:
        sd.grad(lambda p: np.sum(p.w))(Plain())
    assert "dataclass" in info.value.hint and "register_container" in info.value.hint


def test_jvp_tangent_must_match_the_container():
    p = params_example()
    with pytest.raises(ArgumentError, match="primal is a Params, the tangent a tuple"):
        sd.jvp(linear_loss, (p, X, Y), ((np.ones(2), 1.0), np.zeros_like(X), np.zeros_like(Y)))


# --- 2. methods that call methods ------------------------------------------------------

class Model:
    def __init__(self, scale):
        self.scale = scale

    def predict(self, w, X):
        return self.scale * (X @ w)

    def loss(self, w, X, y):
        return np.mean((self.predict(w, X) - y) ** 2)


def mse_by_hand(scale, w):
    r = scale * (X @ w) - Y
    return 2 / 3 * scale * X.T @ r


def test_bound_method_calling_a_method():
    model, w = Model(1.5), np.array([0.4, -0.3])
    want = mse_by_hand(1.5, w)
    np.testing.assert_allclose(sd.grad(model.loss)(w, X, Y), want, rtol=1e-12)
    np.testing.assert_allclose(sd.grad(Model.loss, wrt=1)(model, w, X, Y), want, rtol=1e-12)
    np.testing.assert_allclose(sd.grad(model.loss, mode="tape")(w, X, Y), want, rtol=1e-12)
    np.testing.assert_allclose(fd_grad(model.loss, (w, X, Y), 0), want, rtol=1e-6)
    t = np.array([1.0, 2.0])
    _, dout = sd.jvp(model.loss, (w, X, Y), (t, np.zeros_like(X), np.zeros_like(Y)))
    np.testing.assert_allclose(dout, want @ t, rtol=1e-12)


def test_method_reads_the_object_at_each_call():
    model, w = Model(1.5), np.array([0.4, -0.3])
    g = sd.grad(Model.loss, wrt=1)
    g(model, w, X, Y)
    np.testing.assert_allclose(g(Model(0.5), w, X, Y), mse_by_hand(0.5, w), rtol=1e-12)


@dataclasses.dataclass
class Regression:
    """A model that is itself the parameters: a dataclass whose methods call methods."""
    w: np.ndarray
    b: float

    def predict(self, X):
        return X @ self.w + self.b

    def loss(self, X, y):
        return np.mean((self.predict(X) - y) ** 2)


@pytest.mark.parametrize("mode", ["compile", "tape"])
def test_gradient_with_respect_to_self(mode):
    model = Regression(np.array([0.5, -1.0]), 0.25)
    g = sd.grad(Regression.loss, mode=mode)(model, X, Y)
    assert isinstance(g, Regression)
    want = sd.grad(linear_loss)(Params(model.w, model.b), X, Y)
    np.testing.assert_allclose(g.w, want.w, rtol=1e-12)
    np.testing.assert_allclose(g.b, want.b, rtol=1e-12)
    t = Regression(np.array([1.0, 1.0]), -1.0)
    _, dout = sd.jvp(Regression.loss, (model, X, Y), (t, np.zeros_like(X), np.zeros_like(Y)))
    np.testing.assert_allclose(dout, directional(g, t), rtol=1e-10)


@dataclasses.dataclass
class Linear:
    w: np.ndarray

    def forward(self, x):
        return x @ self.w


@dataclasses.dataclass
class Net:
    layer: Linear

    def loss(self, x):
        return np.sum(np.tanh(self.layer.forward(x)) ** 2)


@pytest.mark.parametrize("mode", ["compile", "tape"])
def test_method_of_a_field_with_respect_to_self(mode):
    net = Net(Linear(np.array([0.5, -1.0])))
    g = sd.grad(Net.loss, mode=mode)(net, X)
    assert isinstance(g, Net) and isinstance(g.layer, Linear)
    assert_tree_close(g, fd_grad(Net.loss, (net, X), 0))


class Decorated:
    def __init__(self, scale):
        self.scale = scale

    @sd.grad(wrt=1)
    def loss_grad(self, w):
        return self.scale * np.sum(w ** 2)

    @sd.grad
    def wrong(self, w):
        return np.sum(w ** 2)


def test_grad_decorating_a_method_in_the_class_body():
    w = np.array([1.0, -2.0])
    np.testing.assert_allclose(Decorated(3.0).loss_grad(w), 6.0 * w)
    with pytest.raises(ArgumentError, match="argument 0: it is a Decorated") as info:
        Decorated(3.0).wrong(w)
    assert "`self`" in info.value.hint and "wrt=1" in info.value.hint


# --- 3. in-place updates of an argument ------------------------------------------------

def update_first(x):
    x[0] = x[0] * x[1]
    return np.sum(x ** 2)


def tangent_subscript3(x):
    y = x ** 2.0
    x[0] = y[1] * y[2]
    return np.sum(x * y)


def update_list(xs):
    xs[0] = xs[0] * xs[1]
    return xs[0] + xs[1]


@pytest.mark.parametrize("f", [update_first, tangent_subscript3])
def test_in_place_update_of_an_argument(f):
    x = np.array([1.5, 2.0, -0.5])
    before = x.copy()
    want = fd_grad(f, (x,), 0)
    for g in (sd.grad(f)(x), sd.value_and_grad(f)(x)[1], sd.grad(f, mode="tape")(x)):
        np.testing.assert_allclose(g, want, rtol=1e-6)
        np.testing.assert_array_equal(x, before)
    value, dout = sd.jvp(f, (x,), (np.array([1.0, -1.0, 2.0]),))
    np.testing.assert_array_equal(x, before)
    np.testing.assert_allclose(value, f(x.copy()))
    np.testing.assert_allclose(dout, want @ np.array([1.0, -1.0, 2.0]), rtol=1e-6)


def test_in_place_update_by_hand_and_list_argument():
    x = np.array([1.0, 2.0, 3.0])
    # x0' = x0 x1: d/dx0 = 2 x0' x1 = 8, d/dx1 = 2 x0' x0 + 2 x1 = 8, d/dx2 = 6
    np.testing.assert_allclose(sd.grad(update_first)(x), [8.0, 8.0, 6.0])
    xs = [2.0, 3.0]
    assert sd.grad(update_list)(xs) == [3.0, 3.0]  # x0 x1 + x1
    assert xs == [2.0, 3.0]


# --- 4. a helper redefined after the first call (a notebook) ----------------------------

NOTEBOOK = """
import numpy as np

def helper(x):
    return x ** 2

def outer(x):
    return helper(x)

def with_default(x, k=1.0):
    return k * helper(x)
"""


@pytest.fixture
def notebook(tmp_path, monkeypatch):
    (tmp_path / "user_python_notebook.py").write_text(textwrap.dedent(NOTEBOOK))
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("user_python_notebook", None)
    mod = importlib.import_module("user_python_notebook")
    yield mod
    sys.modules.pop("user_python_notebook", None)


def cubed(x):
    return x ** 3


def test_redefined_global_helper(notebook):
    g, vg, gd = sd.grad(notebook.outer), sd.value_and_grad(notebook.outer), \
        sd.grad(notebook.with_default)
    assert (g(1.5), vg(1.5), gd(1.5)) == (3.0, (2.25, 3.0), 3.0)
    assert g(1.5) == 3.0  # the fast path
    notebook.helper = cubed  # def helper(x): return x ** 3, run again in the notebook
    assert (g(1.5), vg(1.5), gd(1.5)) == (6.75, (3.375, 6.75), 6.75)
    assert g(2.0) == 12.0


def test_redefined_closure_helper():
    def helper(x):
        return x ** 2

    def outer(x):
        return helper(x) + 1.0
    g = sd.grad(outer)
    assert g(2.0) == 4.0

    def helper(x):  # noqa: F811 (the point of the test)
        return x ** 3
    assert g(2.0) == 12.0
    _, dout = sd.jvp(outer, (2.0,), (1.0,))
    assert dout == 12.0


def test_redefined_function_called_through_a_module_attribute(notebook):
    import user_python_notebook as nb

    def via_module(x):
        return nb.helper(x) * 2.0
    g = sd.grad(via_module)
    assert g(1.5) == 6.0
    nb.helper = cubed
    assert g(1.5) == 13.5


# --- 5. pickling ---------------------------------------------------------------------------

def test_pickle_round_trip():
    x, y = np.array([0.5, 1.5]), np.array([0.2, 2.0])
    made = [sd.grad(helpers.rosen), sd.value_and_grad(helpers.rosen),
            sd.grad(helpers.rosen, wrt=(0, 1)), sd.grad(helpers.mse, wrt="w")]
    for g in made[:3]:
        want = g(x, y)
        loaded = pickle.loads(pickle.dumps(g))
        assert loaded is g  # by reference: the same object in this process
        np.testing.assert_allclose(np.hstack([np.ravel(v) for v in _flat(loaded(x, y))]),
                                   np.hstack([np.ravel(v) for v in _flat(want)]))
    w = np.array([1.0, -1.0])
    np.testing.assert_allclose(pickle.loads(pickle.dumps(made[3]))(w, X, Y),
                               2 / 3 * X.T @ (X @ w - Y), rtol=1e-12)


def _flat(v):
    if isinstance(v, tuple):
        return [u for item in v for u in _flat(item)]
    return [v]


def test_pickle_loads_in_a_fresh_process():
    blobs = pickle.dumps([sd.grad(helpers.rosen), sd.value_and_grad(helpers.rosen),
                          sd.grad(helpers.rosen, wrt=(0, 1))])
    code = ("import pickle, sys, numpy as np\n"
            "gs = pickle.loads(sys.stdin.buffer.read())\n"
            "x, y = np.array([0.5, 1.5]), np.array([0.2, 2.0])\n"
            "print(gs[0](x, y).tolist(), gs[1](x, y)[0], gs[2](x, y)[1].tolist())\n")
    proc = subprocess.run([sys.executable, "-c", code], input=blobs, capture_output=True,
                          env=_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    x, y = np.array([0.5, 1.5]), np.array([0.2, 2.0])
    want = f"{sd.grad(helpers.rosen)(x, y).tolist()} {helpers.rosen(x, y)} " \
           f"{sd.grad(helpers.rosen, wrt=1)(x, y).tolist()}"
    assert proc.stdout.decode().strip() == want


def _env():
    import os
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([here, root, env.get("PYTHONPATH", "")])
    return env


def test_multiprocessing_pool_map():
    g = sd.grad(helpers.outer)  # 3 helper(x) = 3 x**2
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        got = pool.map(g, [1.0, 2.0])
    assert got == [6.0, 12.0]


def test_pickling_a_gradient_of_a_nested_function_says_why_not():
    def local(x):
        return x ** 2
    with pytest.raises((SourceDiffError, pickle.PicklingError, AttributeError)) as info:
        pickle.dumps(sd.grad(local))
    assert "local" in str(info.value)


def test_pickling_a_gradient_of_a_redefined_function_says_why_not(monkeypatch):
    g = sd.grad(helpers.rosen)
    monkeypatch.setattr(helpers, "rosen", helpers.mse)
    with pytest.raises(pickle.PicklingError, match=r"grad\(user_python_helpers/rosen, wrt=0\)"):
        pickle.dumps(g)
    assert g.__qualname__ == "rosen" and "rosen" in repr(g)


# --- several lambdas on one line ---------------------------------------------------------
# inspect gives a lambda's whole line; the lambda a code object came from is told apart by
# its bytecode, or by the columns of its instructions (3.11+)
SQUARE, SINE = (lambda x: np.sum(x ** 2)), (lambda x: np.sum(np.sin(x)))
TWICE, THRICE = (lambda x: x * 2.0), (lambda x: x * 3.0)


def test_lambdas_on_one_line_get_their_own_gradient():
    x = np.array([0.3, 0.7, -1.1])
    np.testing.assert_allclose(sd.grad(SQUARE)(x), 2 * x)
    np.testing.assert_allclose(sd.grad(SINE)(x), np.cos(x))
    assert sd.grad(TWICE)(1.5) == 2.0
    assert sd.grad(THRICE)(1.5) == 3.0
    # in the opposite order of first use too (each has its own cache entry)
    assert sd.grad(lambda y: THRICE(y) + TWICE(y))(0.5) == 5.0
    if sys.version_info >= (3, 11):
        assert "cos" in sd.source(sd.grad(SINE)) and "cos" not in sd.source(sd.grad(SQUARE))


# --- an object called like a function (a layer with __call__; was "no derivative rule") --
class _Module:
    def __call__(self, x):
        return self.forward(x)


class _Dense(_Module):
    def __init__(self, w, b):
        self.w, self.b = w, b

    def forward(self, x):
        return np.tanh(self.w * x + self.b)


class _Scale:
    def __init__(self, s):
        self.s = s

    def __call__(self, x, power=2.0):
        return self.s * x ** power


_LAYER = _Dense(np.array([0.5, -1.0, 2.0]), 0.1)
_SCALE = _Scale(1.5)


def _calls_objects(x):
    h = _LAYER(x)
    return np.sum(_SCALE(h, power=3.0)) + np.sum(_SCALE(x))


def test_an_object_with_call_is_differentiated_through_its_code():
    x = np.array([0.4, -1.3, 0.9])
    f = _calls_objects
    check_orders(f, x, tape=False)
