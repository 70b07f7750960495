"""The differentiated function's side effects run as written, once per call and in order:
a print, a log appended to an outer list, a counter in an outer dict or object, a random
draw. Dead-code elimination drops only what it can prove pure (usage.pure_function)."""

import numpy as np
import pytest

import sourcediff.tape as tape
from sourcediff import grad, jvp, source, value_and_grad, vjp
from sourcediff.errors import SourceDiffError

LOSSES = []
STATE = {"n": 0}


class Counter:
    n = 0
    last = None


COUNTER = Counter()


def logged(w):
    loss = np.sum(np.tanh(w) ** 2)
    print("loss", round(float(loss), 6))
    LOSSES.append(loss)
    STATE["n"] += 1
    COUNTER.n += 1
    COUNTER.last = loss
    return loss


W = np.array([0.3, -0.2, 0.5])
EXPECTED = np.sum(np.tanh(W) ** 2)
GRAD = 2 * np.tanh(W) * (1 - np.tanh(W) ** 2)


@pytest.fixture(autouse=True)
def fresh_state():
    LOSSES.clear()
    STATE["n"] = 0
    COUNTER.n = 0
    COUNTER.last = None


def _ran_once(capsys):
    assert len(LOSSES) == 1 and np.isclose(LOSSES[0], EXPECTED)
    assert STATE["n"] == 1 and COUNTER.n == 1 and np.isclose(COUNTER.last, EXPECTED)
    assert capsys.readouterr().out == f"loss {round(float(EXPECTED), 6)}\n"


def test_grad_runs_side_effects_once(capsys):
    g = grad(logged)(W)
    assert np.allclose(g, GRAD)
    _ran_once(capsys)
    grad(logged)(W)
    assert len(LOSSES) == 2 and STATE["n"] == 2 and COUNTER.n == 2


def test_value_and_grad_runs_side_effects_once(capsys):
    v, g = value_and_grad(logged)(W)
    assert np.isclose(v, EXPECTED) and np.allclose(g, GRAD)
    _ran_once(capsys)


def test_jvp_runs_side_effects_once(capsys):
    out, t = jvp(logged, (W,), (np.ones(3),))
    assert np.isclose(out, EXPECTED) and np.isclose(t, GRAD.sum())
    _ran_once(capsys)


def test_tape_runs_side_effects_once(capsys):
    assert np.allclose(tape.grad(logged)(W), GRAD)
    _ran_once(capsys)


def test_vjp_runs_side_effects_once():
    out, pullback = vjp(logged, W)
    assert np.isclose(out, EXPECTED)
    (ct,) = pullback(1.0)
    assert np.allclose(ct, GRAD)
    assert len(LOSSES) == 1 and STATE["n"] == 1  # the pullback neither reruns nor undoes f


def test_source_shows_the_side_effects():
    text = source(grad(logged))
    for line in ("print('loss'", "LOSSES.append(loss)", "STATE['n'] = STATE['n'] + 1",
                 "setattr(COUNTER, 'n', COUNTER.n + 1)", "setattr(COUNTER, 'last', loss)"):
        assert line in text
    assert ".pop()" not in text  # the log is not undone by the reverse pass


def test_impure_calls_stay_in_order():
    order = []

    def note(tag):
        order.append(tag)
        return tag

    def f(x):
        a = note("a")  # noqa: F841 (kept: it runs)
        y = x * 2.0
        b = note("b")  # noqa: F841
        return y * y

    assert grad(f)(1.5) == 12.0 and order == ["a", "b"]


def test_random_draws_are_kept_and_not_merged():
    def f(w):
        unused = np.random.randn(3)  # noqa: F841
        a = np.random.randn(3)
        b = np.random.randn(3)
        return np.sum(w * a + w * b)

    np.random.seed(0)
    g = grad(f)(np.ones(3))
    np.random.seed(0)
    np.random.randn(3)
    expected = np.random.randn(3) + np.random.randn(3)
    assert np.allclose(g, expected)
    after = np.random.randn()
    np.random.seed(0)
    np.random.randn(9)
    assert after == np.random.randn()  # exactly three draws, as written


def test_generator_draws_are_impure():
    from sourcediff.opt.usage import pure_function
    rng = np.random.default_rng(0)
    assert not pure_function(rng.normal) and not pure_function(np.random.randn)
    assert not pure_function(np.random.seed)
    assert pure_function(np.exp) and pure_function(np.zeros) and pure_function(len)

    def user(x):
        return x

    assert not pure_function(user)


def test_attribute_read_back_is_refused():
    def f(w):
        COUNTER.h = w * 2.0
        return np.sum(COUNTER.h)

    with pytest.raises(SourceDiffError, match="reads 'COUNTER' back"):
        grad(f)(W)


def test_attribute_of_a_method_call_is_refused():
    class Model:
        def value(self):
            return self.h

    m = Model()

    def f(w):
        m.h = w
        return np.sum(m.value())

    with pytest.raises(SourceDiffError, match="reads 'm' back"):
        grad(f)(W)


def test_outer_list_read_back_in_forward_mode_is_refused():
    def f(w):
        LOSSES.append(w * 2.0)
        return np.sum(LOSSES[-1])

    with pytest.raises(SourceDiffError, match="reading back 'LOSSES'"):
        jvp(f, (W,), (np.ones(3),))


# --- in-place updates of arrays made in the function (fence.check_inplace) -------------
X4 = np.array([1.0, 2.0, 3.0, 4.0])


def _slice_const(x):
    s = np.zeros(4)
    s[1:3] = 1.0
    return np.sum(s * x ** 2)


def _variable_bounds(x, a=1, b=3):
    s = np.zeros(len(x))
    s[a:b] = 1.0
    return np.sum(s * x ** 2)


def _method_copy(x):
    s = x.copy()
    s[0] = 0.0
    return np.sum(s * x)


def _astype(x):
    s = x.astype(float)
    s[0] = 0.0
    return np.sum(s * x)


def _empty(x):
    s = np.empty(4)
    s[:] = 2.0
    s[1:3] = x[1:3]
    return np.sum(s * x)


def _times_one(x):
    s = x * 1.0
    s[0] = 3.0
    return np.sum(s * s)


def _in_a_loop(x):
    out = []
    for k in range(2):
        s = np.zeros(4)
        s[k:k + 2] = 1.0
        out.append(np.sum(s * x ** 2))
    return out[0] + out[1]


@pytest.mark.parametrize("fn", [_slice_const, _variable_bounds, _method_copy, _astype,
                                _empty, _times_one, _in_a_loop])
def test_fresh_arrays_are_updated_in_place(fn):
    from sourcediff import check_grad
    check_grad(fn, X4.copy(), modes=("rev", "fwd"), order=1)
    x = X4.copy()
    grad(fn)(x)
    assert np.array_equal(x, X4)  # the argument is never written to


def test_astype_still_copies():
    def f(x):
        s = x.astype(float)  # a copy: the caller's x is not changed
        s[0] = 10.0
        return np.sum(s * x)

    x = X4.copy()
    assert np.allclose(grad(f)(x), [10.0, 4.0, 6.0, 8.0]) and np.array_equal(x, X4)


def _second_name(x):
    t = np.zeros(4)
    s = t
    s[0] = 1.0
    return np.sum(s * x)


def _view(x):
    t = np.zeros(4)
    s = t.reshape(2, 2)
    t[0] = 1.0
    return np.sum(s.ravel() * x)


def _slice_view(x):
    s = x[:]
    s[0] = 0.0
    return np.sum(s * x)


@pytest.mark.parametrize("fn", [_second_name, _view, _slice_view])
def test_real_aliasing_is_still_refused(fn):
    with pytest.raises(SourceDiffError, match="share|second name"):
        grad(fn)(X4.copy())


# --- one-element outputs ----------------------------------------------------------------
WROW = np.array([[0.3, -0.2, 0.5]])


def _one(x):
    return np.tanh(WROW @ x)            # shape (1,)


def _one_by_one(x):
    return np.tanh(WROW @ x[:, None])   # shape (1, 1)


@pytest.mark.parametrize("fn", [_one, _one_by_one])
@pytest.mark.parametrize("mode", ["compile", "tape"])
def test_one_element_output_is_a_scalar(fn, mode):
    x = np.array([1.0, 2.0, 3.0])
    expected = (1 - np.tanh(WROW @ x) ** 2) * WROW[0]
    for _ in range(2):  # the first call and the cached one
        assert np.allclose(grad(fn, mode=mode)(x), expected)
        value, g = value_and_grad(fn, mode=mode)(x)
        assert np.shape(value) == np.shape(fn(x)) and np.allclose(value, fn(x))
        assert np.allclose(g, expected)


def test_two_elements_are_still_refused():
    from sourcediff.errors import NonScalarOutputError
    with pytest.raises(NonScalarOutputError):
        grad(lambda x: x * 2.0)(np.ones(2))


# --- generator helpers --------------------------------------------------------------------
def _pairs(W):
    for i in range(0, len(W) - 1, 2):
        yield W[i], W[i + 1]


def _squares(x):
    for v in x:
        yield v ** 2


def _chained(x):
    yield from _squares(x)
    yield x[0] * 3.0


def _gen_for(W):
    s = 0.0
    for a, b in _pairs(W):
        s = s + np.sum(a * b)
    return s


def _gen_zip(x):
    s = 0.0
    for a, b in zip(_squares(x), x):
        s = s + a * b
    return s


def _gen_unpack(x):
    a, b, c = _squares(x)
    return a * b + c


def _gen_list(x):
    t = list(_squares(x))
    return t[0] + t[2]


def _gen_from(x):
    s = 0.0
    for v in _chained(x):
        s = s + v
    return s


def _gen_nested(x):
    def doubled(y):
        for v in y:
            yield v * 2.0
    s = 0.0
    for v in doubled(x):
        s = s + v * v
    return s


@pytest.mark.parametrize("fn", [_gen_zip, _gen_unpack, _gen_list, _gen_from, _gen_nested])
def test_generator_helpers_are_differentiated(fn):
    from sourcediff import check_grad
    check_grad(fn, np.array([1.0, 2.0, 3.0]), modes=("rev",), order=1)


def test_generator_of_layers():
    W = [np.ones(2) * i for i in range(4)]
    g = grad(_gen_for)(W)
    assert all(np.allclose(gi, e) for gi, e in zip(g, [1.0, 0.0, 3.0, 2.0]))


def test_grad_of_a_generator_function_is_refused():
    from sourcediff.errors import UnsupportedSyntaxError
    with pytest.raises(UnsupportedSyntaxError, match="yield"):
        grad(_squares)(np.ones(2))


def test_generator_returning_a_value_is_refused():
    def gen(x):
        yield x
        return x

    def f(x):
        s = 0.0
        for v in gen(x):
            s = s + v
        return s

    with pytest.raises(SourceDiffError, match="returns a value"):
        grad(f)(1.0)


# --- nested functions reading the factory's variables -------------------------------------
def _make(scale):
    def loss(w):
        c = w * 2.0

        def sq(v):
            return v * v * scale

        def inner(v):
            return sq(v) * c + v * scale
        return np.sum(inner(w))
    return loss


def test_nested_function_reads_the_factory_cells():
    w = np.array([1.0, 2.0])
    for scale in (3.0, 5.0):  # two closures, one compiled gradient, each its own cell
        g = grad(_make(scale))(w)
        assert np.allclose(g, 6 * scale * w ** 2 + scale)
        _, t = jvp(_make(scale), (w,), (np.ones(2),))
        assert np.isclose(t, np.sum(6 * scale * w ** 2 + scale))
