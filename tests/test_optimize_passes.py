"""The optimiser stops once every pass, in a row, reports that it changed nothing.

So a pass that changes the tree must say so (else optimisation stops early), and
one that says so must have changed it (else the optimiser loops for nothing).
Checked on half the corpus functions, in reverse and forward mode, against a
structural fingerprint of the tree before and after each pass.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build_allowing_refusal, numeric_grad
from corpus import CASES

import sourcediff
from sourcediff.ir import nodes
from sourcediff.opt import optimize, shapes


@pytest.fixture
def checked_passes(monkeypatch):
    """Every pass run, with its report and what it did."""
    runs = []
    real = optimize.Optimizer.passes

    def passes(self):
        def check(p):
            def run(fdef):
                before = nodes.fingerprint(fdef)
                said = p(fdef)
                runs.append((getattr(p, "__name__", p), said, nodes.fingerprint(fdef) != before))
                return said
            return run
        return tuple(check(p) for p in real(self))
    monkeypatch.setattr(optimize.Optimizer, "passes", passes)
    return runs


SAMPLE = CASES[::2]  # half the corpus: the fingerprints make this slow


@pytest.mark.parametrize("case", SAMPLE, ids=[c.id for c in SAMPLE])
def test_each_pass_reports_exactly_whether_it_changed_the_code(case, checked_passes):
    build_allowing_refusal(case, forward=True)  # (a primitive without a forward rule, say)
    wrong = [(name, said, did) for name, said, did in checked_passes if said != did]
    assert not wrong, f"passes that misreported (name, said, did): {wrong}"
    assert any(said for _, said, _ in checked_passes)


# -- factors the same along a sum's axes are applied to the sum (contract._hoist) ----------

def scaled_mixture(mu, log_s, x):
    d = (x[:, None, :] - mu) / np.exp(log_s)
    return np.sum(np.log(np.sum(np.exp(-0.5 * np.sum(d ** 2, axis=2)), axis=1)))


def _checked_source(f, args, wrt):
    g = sourcediff.grad(f, wrt=wrt)
    got = g(*args)
    for a, e in zip(got, numeric_grad(f, args, wrt)):
        np.testing.assert_allclose(a, e, rtol=1e-6, atol=1e-8)
    return sourcediff.source(g)


def test_a_factor_constant_along_the_summed_axis_divides_the_sum():
    r = np.random.default_rng(0)
    args = (r.standard_normal((3, 2)), 0.1 * r.standard_normal((3, 2)),
            r.standard_normal((7, 2)))
    src = _checked_source(scaled_mixture, args, (0, 1))
    # d's adjoint is summed over the points first, then divided by the (3, 2) scales
    assert "np.sum(d_bar, axis=0) / _t" in src, src
    assert "/ _t3, axis=0)" not in src, src


def test_a_factor_along_the_summed_axis_stays_inside():
    # w[:, None] varies along the summed axis 0 and c[None, :] (shape (1, 3)) keeps it:
    # taking either out of the sum would give a wrong gradient
    def f(a, w, c):
        return np.sum(np.sum(a * w[:, None] / c[None, :], axis=0) ** 2)
    r = np.random.default_rng(1)
    args = (r.standard_normal((4, 3)), r.standard_normal(4), 1.5 + r.random(3))
    _checked_source(f, args, (0, 1, 2))


# -- broadcasts and kept axes a product or a reshape would undo (shapes_rewrite) ---------

def pair_forces(x, k):
    diff = x[:, None, :] - x[None, :, :]
    dist = np.sqrt(np.sum(diff ** 2, axis=2) + 1e-6)
    f = np.sum((k * (dist - 0.3) / dist)[:, :, None] * diff, axis=1)
    return np.sum(f * x)


def test_no_broadcast_or_kept_axes_the_product_does_not_need():
    r = np.random.default_rng(2)
    src = _checked_source(pair_forces, (r.standard_normal((5, 2)), 1.3), (0, 1))
    # the adjoint of the sum over axis 1 is spread by the products that read it, and
    # the adjoint of c[:, :, None] is summed without keeping the axis it then drops
    assert "np.broadcast_to" not in src, src
    assert "keepdims=True), (5, 5))" not in src, src


def negated(x, w):
    return np.sum(w * -x)


def ratio(x, y):
    return np.sum(x / y)


def test_a_broadcast_under_a_minus_is_left_out_as_without_it():
    # w's adjoint was -np.broadcast_to(1.0, (4, 3)) * x (the minus made a (4, 3) array of
    # -1.0 first), y's -(np.sum(np.broadcast_to(1.0, (3, 4)) * x, axis=0) / y / y)
    r = np.random.default_rng(4)
    x, w = r.standard_normal((4, 3)), r.standard_normal((4, 3))
    src = _checked_source(negated, (x, w), (0, 1))
    assert "np.broadcast_to" not in src, src
    x, y = r.standard_normal((3, 1)), 1.0 + r.random(4)
    src = _checked_source(ratio, (x, y), (0, 1))
    assert "y_bar = -np.sum(x, axis=0) / y / y\n" in src, src    # (x's rows summed first)
    np.testing.assert_allclose(sourcediff.grad(ratio, wrt=(0, 1))(x, y)[1],
                               -np.sum(x) / y ** 2, rtol=1e-14)
    g = sourcediff.grad(ratio, wrt=1)
    np.testing.assert_allclose(sourcediff.hessian(ratio, wrt=1)(x, y), [
        numeric_grad(lambda v, i=i: g(x, v)[i], (y,), (0,))[0] for i in range(4)],
        rtol=1e-5, atol=1e-7)


def orbit(x, v, k):
    for _ in range(4):
        diff = x[:, None, :] - x[None, :, :]
        v = v - 0.1 * k * np.sum(diff, axis=1)
        x = x + 0.1 * v
    return np.sum(x ** 2) + np.sum(v ** 2)


def test_a_value_rebound_before_any_change_in_place_is_not_copied():
    # x_bar's value is handed on at the top of each reverse step, then x_bar is a new
    # buffer that the indexed adjoints are added into: the handed-on value needs no copy
    r = np.random.default_rng(3)
    src = _checked_source(orbit, (r.standard_normal((4, 2)), r.standard_normal((4, 2)), 0.7),
                          (0, 1, 2))
    assert "x_bar[" in src and "copy_of(x_bar)" not in src, src


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_pass_the_optimiser_skips_would_have_changed_nothing(case, monkeypatch):
    """The optimiser runs a pass again only when a pass changed what it reads
    (optimize.PIPELINE): every pass it skips is run anyway here, and every pass once more
    when it stops, and each must find nothing to do."""
    monkeypatch.setattr(optimize.Optimizer, "check_schedule", True)
    build_allowing_refusal(case, forward=True)


@pytest.mark.parametrize("case", SAMPLE, ids=[c.id for c in SAMPLE])
def test_a_stage_that_changed_the_code_says_so(case, monkeypatch):
    """The facts optimize's stages share (a Unit's shapes) are kept while no stage says it
    changed the code: each stage that changed it must say so."""
    runs = []

    def checked(stage):
        def run(u):
            before = nodes.fingerprint(u.fdef)
            said = stage.run(u)
            runs.append((stage.name, said, nodes.fingerprint(u.fdef) != before))
            return said
        return stage._replace(run=run)
    monkeypatch.setattr(optimize, "STAGES", tuple(checked(s) for s in optimize.STAGES))
    build_allowing_refusal(case, forward=True)
    assert runs and not [(name, said) for name, said, did in runs if did and not said]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_shapes_a_stage_keeps_are_those_of_its_result(case, monkeypatch):
    """A stage that says its change leaves every name its shape (``Stage.kept``) lets the
    stages after it read the shapes found before it: where those and the shapes found in
    the code it left both know a name's shape, they agree. (The latter may know less, or
    take ``a = 0.0; a += e`` for a number: an update in place binds nothing.)"""
    def check(stage):
        def run(u):
            said = stage.run(u)
            kept = u._shapes  # (found before the change, or during it)
            if said and kept is not None:
                now = shapes.analyse(u.fdef, u.ns, u.spec, u.params)
                both = [(n, kept.of(nodes.name(n)), now.of(nodes.name(n)))
                        for n in set(nodes.names_in(u.fdef))]
                assert not [b for b in both if None not in b[1:] and b[1] != b[2]], stage.name
            return said
        return stage._replace(run=run) if "shapes" in stage.kept else stage
    monkeypatch.setattr(optimize, "STAGES", tuple(check(s) for s in optimize.STAGES))
    build_allowing_refusal(case)
