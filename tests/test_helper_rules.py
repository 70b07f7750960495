"""Issue #16: every helper generated code calls is differentiable again, in both modes.

Generated adjoints call the runtime helpers (``unbroadcast``, ``einsum_vjp``, ``get_cot``...).
Forward mode over an adjoint (``hessian``) needs each helper's forward rule; reverse mode
over it (``vjp(grad(f))``, the tape run over the generated code) its reverse rule. The
audit below checks the table; the exemptions are listed by kind, each with its reason, and
the audit fails when an exemption is stale too."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import numeric_grad

import sourcediff
from sourcediff import grad, runtime, vjp
from sourcediff.prims import registry
from sourcediff.errors import MissingRuleError
from sourcediff.tape import generated

# helpers that are not rules but plumbing the passes (reverse.py, forward.py) and the tape
# over generated code (tape/generated.py) handle themselves: buffers, containers, copies
PLUMBING = {
    "Stack": "the loops' saved-value stack: a list",
    "add_cot": "cotangent addition (+ on numbers and arrays, item by item on containers)",
    "add_owned": "cotangent addition into a fresh buffer; the tape adds out of place",
    "nonzero_or_none": "the identity",
    "like": "gives the final gradient its argument's type: after differentiated code",
    "attr_cot": "a container's cotangent with one field set: moves items only",
    "attr_tangent": "a field of a container's tangent: moves items only",
    "scatter_add": "x_bar[idx] += g into a buffer: the tape records a functional update",
    "scatter_into": "scatter_add into a buffer allocated on first use (as scatter_add)",
    "tangent_setitem": "the tangent of y[idx] = v (forward code): a functional update",
    "plus_tangent": "the tangent of a + b on sequences (forward code): joins or adds",
}
# calls into generated code: differentiated through the callee's own generated code
# (forward: jvp_call of tangent_view; reverse over reverse: tape.generated runs adjoint_view)
CALLS = {"vjp_call", "vjp_method", "jvp_call", "jvp_method", "jvp_pair", "split_call",
         "split_method", "pullback_of", "split_res", "pullback_res"}
# helpers that only forward rules' templates call (tangent code): differentiating tangent
# code again in reverse mode (reverse over forward over reverse) is refused, never a number
TANGENT_CODE = {"einsum_vjp_dops", "multi_dot_vjp_dops", "multi_dot_jvp", "norm_vjp_dx",
                "norm_vjp_dans", "eigh_jvp", "qr_jvp", "svd_jvp"}
# helpers of a rule whose second derivative is refused (a MissingRuleError, never a number)
ELSEWHERE = {"odeint_hvp": "the tangent of odeint's adjoint solve: a third derivative "
                           "through odeint is refused (tests/test_breadth_scipy.py)",
             "odeint_jvp": "odeint's sensitivity solve, in tangent code: grad of a jvp "
                           "through odeint (reverse over forward) is refused, as odeint_hvp"}
EXEMPT = set(PLUMBING) | CALLS | TANGENT_CODE | set(ELSEWHERE)


def incomplete(helpers):
    """The helpers (name -> function) that can receive a differentiated value and lack a
    reverse or a forward rule for it."""
    bad = {}
    for name, fn in helpers.items():
        if not callable(fn) or registry.is_nondiff(fn):
            continue
        rule = registry.lookup(fn)
        if rule is None:
            bad[name] = "no rule"
            continue
        for p in rule.params:
            if p.name in rule.nondiff:
                continue
            rev = p.name in rule.vjps or p.name in rule.seq_vjps
            fwd = p.name in rule.jvps
            if not (rev or fwd):
                continue  # refused in both modes (a MissingRuleError: sp_jv's real order v)
            if not (rev and fwd):
                bad[name] = f"'{p.name}': " + ("no reverse rule" if fwd else "no forward rule")
    return bad


def test_every_helper_has_both_rules_or_is_declared():
    bad = {k: v for k, v in incomplete(runtime.HELPERS).items() if k not in EXEMPT}
    assert not bad, f"give these helpers a reverse and a forward rule (rules_cot.py): {bad}"
    stale = sorted(n for n in EXEMPT if n in runtime.HELPERS
                   and n not in incomplete({n: runtime.HELPERS[n]}))
    assert not stale, f"these have both rules now: take them off the exemptions: {stale}"
    assert EXEMPT <= set(runtime.HELPERS), sorted(EXEMPT - set(runtime.HELPERS))


def test_the_audit_can_fail():
    def half(v, shape):
        return v / 2
    registry.defrule(half, "v, shape", {"shape": None}, ("half(dv, shape)", None))
    try:
        assert incomplete({"half": half}) == {"half": "'v': no reverse rule"}
        registry.defrule(half, "v, shape", ("g / 2", None), ("dv / 2", None))
        assert incomplete({"half": half}) == {}
        assert "nope" in incomplete({"nope": lambda v: v})
    finally:
        registry._RULES.pop(registry._key(half), None)


def test_reverse_over_reverse_refuses_a_helper_without_a_reverse_rule():
    """Generated gradient code calling a helper with a forward rule only: vjp of that
    gradient is a MissingRuleError naming it, never a silent zero."""
    def halve(x):
        return x / 2

    def halve_cot(v):
        return v / 2
    registry.defrule(halve, "x", ("halve_cot(g)",), ("halve(dx)",))
    registry.defrule(halve_cot, "v", {}, ("halve_cot(dv)",))
    runtime.HELPERS["halve_cot"] = halve_cot
    try:
        def f(x):
            return np.sum(halve(x * x) ** 2)
        x = np.array([0.5, -1.0])
        assert np.allclose(grad(f)(x), x ** 3)
        with pytest.raises(MissingRuleError, match="halve_cot"):
            vjp(grad(f), x)[1](np.ones(2))
    finally:
        for fn in (halve, halve_cot):
            registry._RULES.pop(registry._key(fn), None)
        runtime.HELPERS.pop("halve_cot", None)
        generated.traced_helper.cache_clear()


def test_tangent_code_helpers_are_refused_by_the_tape():
    """Reverse mode over tangent code that calls a helper without a reverse rule is a
    MissingRuleError naming it (the tape over generated code checks, it never guesses)."""
    from sourcediff.tape.graph import Node, new_level
    from sourcediff.tape.tracer import Tracer
    assert sourcediff  # (the table is registered)
    traced = Tracer(np.array([0.5, 2.0]), Node(), new_level())
    x = np.array([0.5, 2.0])
    wrapped = generated.traced_helper("norm_vjp_dx", runtime.HELPERS["norm_vjp_dx"])
    with pytest.raises(MissingRuleError, match="norm_vjp_dx"):
        wrapped(1.0, 1.0, x, traced)
    for name in sorted(TANGENT_CODE):
        assert generated.traced_helper(name, runtime.HELPERS[name]) is not \
            runtime.HELPERS[name], name


MATMUL_SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)),
                 ((5, 2, 3), (3,)), ((3,), (5, 3, 4)), ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)),
                 ((5, 1, 2, 3), (4, 3, 2))]


@pytest.mark.parametrize("sa, sb", MATMUL_SHAPES, ids=str)
def test_matmul_cotangents_of_every_rank(sa, sb):
    """``matmul_vjp_a`` and ``matmul_vjp_b`` (the cotangents of ``a @ b`` the generic code
    and the tape call) against central differences of ``sum(g * (a @ b))``: vectors,
    matrices, stacks, and stacks broadcast against a smaller operand."""
    r = np.random.default_rng(len(sa) * 10 + len(sb))
    a, b = r.standard_normal(sa), r.standard_normal(sb)
    g = r.standard_normal(np.shape(a @ b))
    want = numeric_grad(lambda a, b: np.sum(g * (a @ b)), (a, b), (0, 1))
    for got, w in zip((runtime.matmul_vjp_a(g, a, b), runtime.matmul_vjp_b(g, a, b)), want):
        assert np.shape(got) == np.shape(w)
        np.testing.assert_allclose(got, w, rtol=1e-7, atol=1e-9)
