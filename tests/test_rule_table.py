"""Issue #17: one home for each fact. A primitive is declared once in the rule table with
its derivative and its facts (shape, dtype kind, fresh or view, writes, purity, cost,
boolean output); the passes ask the table (:mod:`sourcediff.prims.facts`) and keep no list of
their own.

The first tests read the pass modules with ``ast`` and fail on a module-level table of
NumPy functions or runtime helpers; the others check that each query answers from the
declarations (a function declared here, in the test, is seen by the pass) and that
``deriv=`` and ``linear=`` give the templates a person would write.
"""

from __future__ import annotations

import ast
import math
import types

import numpy as np
import pytest

from sourcediff.prims import facts, registry
from sourcediff.front import fence
from sourcediff.opt import fold, inplace, remat, shapes, usage
from sourcediff import runtime
from sourcediff.ir import nodes as N
from sourcediff import grad
from sourcediff.errors import MissingRuleError
from sourcediff.tape import generated
from sourcediff.tape.graph import Const
from sourcediff.tape.tracer import Tracer
from test_architecture import MODULES


@pytest.fixture(autouse=True)
def _table_restored():
    """Rules and facts a test declares leave the table as it was (other tests audit every
    rule in the table, in whatever order they run)."""
    tables = (registry._RULES, registry._NONDIFF, registry._METHODS, facts._FACTS,
              facts._HELPER_FACTS)
    saved = [dict(t) for t in tables]
    named = {k: set(v) if isinstance(v, (set, frozenset)) else v for k, v in facts._NAMED.items()}
    yield
    for t, copy in zip(tables, saved):
        t.clear()
        t.update(copy)
    facts._NAMED.clear()
    facts._NAMED.update(named)

# the modules that transform code, and the runtime tape: they ask the table, never a list of
# their own
PASSES = [m for m in MODULES if m.split(".")[1:2] in (["front"], ["ad"], ["opt"], ["pipeline"],
                                                     ["tape"])]

# module-level literals that name NumPy functions without being facts of them, each with why
NOT_FACTS = {
    ("sourcediff.opt.inplace", "_IN_PLACE"): "the spelling of an operator's in-place ufunc (syntax)",
}


def _named(node):
    """What in a literal's item names a NumPy function or a runtime helper (or None)."""
    if isinstance(node, ast.Attribute):
        root = node
        while isinstance(root, ast.Attribute):
            root = root.value
        if isinstance(root, ast.Name) and root.id == "np":
            value = np
            for part in ast.unparse(node).split(".")[1:]:
                value = getattr(value, part, None)
            if callable(value) and not isinstance(value, type):  # (np.ndarray is a type)
                return ast.unparse(node)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        s = node.value
        if s in runtime.HELPERS or s in facts._HELPER_FACTS:
            return f"helper {s!r}"
        data = isinstance(getattr(np.ndarray, s, None), types.GetSetDescriptorType)
        if not s.startswith("_") and not data and callable(getattr(np, s, None)):
            return f"np.{s} (by name)"  # (an array's data attribute, x.shape, is not one)
    return None


def tables(source):
    """``(name, [what it names])`` for each module-level set, tuple, list or dict literal
    (also inside ``frozenset(...)``...) that names NumPy functions or runtime helpers."""
    found = []
    for stmt in ast.parse(source).body:
        if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
            target, value = stmt.targets[0].id, stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            target, value = ast.unparse(stmt.target), stmt.value
        else:
            continue  # (ADD, MUL = "add", "mul" is two constants, not a table)
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id in (
                "frozenset", "set", "tuple", "list", "dict") and value.args:
            value = value.args[0]
        if isinstance(value, ast.Dict):
            items = [k for k in value.keys if k is not None] + value.values
        elif isinstance(value, (ast.Set, ast.Tuple, ast.List)):
            items = value.elts
        else:
            continue
        names = [n for n in map(_named, items) if n]
        if names:
            found.append((target, names))
    return found


def test_the_scan_finds_a_table():
    src = ("_SAFE = {np.sum, np.linalg.norm}\n_HELPERS = ('unbroadcast', 'reshape_like')\n"
           "_VIEWS = frozenset({'reshape', 'transpose'})\n_ATTRS = {'shape', 'ndim'}\n"
           "_TYPES = (np.ndarray, np.float64)\nADD, MUL = 'add', 'mul'\nLIMIT = 4096\n")
    assert tables(src) == [("_SAFE", ["np.sum", "np.linalg.norm"]),
                           ("_HELPERS", ["helper 'unbroadcast'", "helper 'reshape_like'"]),
                           ("_VIEWS", ["np.reshape (by name)", "np.transpose (by name)"])]


def test_no_pass_keeps_a_table_of_primitives():
    assert len(PASSES) > 20 and {"sourcediff.opt.shapes", "sourcediff.tape.record",
                                 "sourcediff.tape.tracer", "sourcediff.tape.generated"} <= set(PASSES)
    found = {(m, name): names for m in PASSES if m in MODULES
             for name, names in tables(MODULES[m].read_text())}
    stale = set(NOT_FACTS) - set(found)
    assert not stale, f"listed in NOT_FACTS but gone: {sorted(stale)}"
    extra = {k: v for k, v in found.items() if k not in NOT_FACTS}
    assert not extra, ("a pass keeps its own list of primitives; declare the fact in the rule "
                       f"table (defrule/defnondiff/deffacts/defhelper keywords): {extra}")


# --- deriv= and linear= ------------------------------------------------------------------------
@pytest.mark.parametrize("fn, vjp, jvp", [
    (np.cosh, "g * np.sinh(x)", "dx * np.sinh(x)"),
    (np.cos, "-g * np.sin(x)", "-dx * np.sin(x)"),
    (np.log, "g / x", "dx / x"),
    (np.arccos, "-g / np.sqrt(1 - x * x)", "-dx / np.sqrt(1 - x * x)"),
    (np.tan, "g * (1 + ans * ans)", "dx * (1 + ans * ans)"),
])
def test_deriv_gives_both_templates(fn, vjp, jvp):
    rule = registry.lookup(fn)
    assert rule.vjps == {"x": vjp} and rule.jvps == {"x": jvp}


def test_deriv_of_two_parameters_and_linear():
    rule = registry.lookup(np.arctan2)
    assert rule.vjps == {"y": "g * x / (x * x + y * y)", "x": "-g * y / (x * x + y * y)"}
    assert rule.jvps == {"y": "dy * x / (x * x + y * y)", "x": "-dx * y / (x * x + y * y)"}
    assert registry.lookup(np.maximum).jvps == {"x": "dx * (x >= y)", "y": "dy * (x < y)"}
    assert registry.lookup(np.reshape).jvps == {"a": "np.reshape(da, shape)"}
    assert registry.lookup(np.fft.rfft).jvps == {"a": "np.fft.rfft(da, n, axis, norm)"}
    assert registry.lookup(np.reshape).nondiff == {"shape"}


@pytest.mark.parametrize("deriv, template", [
    ("np.cos(x)", "g * np.cos(x)"), ("-np.sin(x)", "-g * np.sin(x)"), ("1 / x", "g / x"),
    ("-1 / x", "-g / x"), ("2 * x", "g * 2 * x"), ("-a * b", "-g * a * b"),
    ("1 + x", "g * (1 + x)"), ("-a + b", "g * (-a + b)"), ("x < y", "g * (x < y)"),
    ("(a - b)", "g * (a - b)"), ("a % b", "g * (a % b)"), ("a @ b", "g * (a @ b)"),
    ("1 / a + b", "g * (1 / a + b)"), ("a if c else b", "g * (a if c else b)"),
])
def test_deriv_is_placed_as_a_person_would(deriv, template):
    """The template means ``g * deriv`` whatever the operators in ``deriv``."""
    assert registry._scaled(deriv, "g") == template
    env = {"np": np, "x": 0.7, "y": 1.3, "a": np.array([[0.4, 1.1], [-0.3, 2.0]]),
           "b": np.array([[2.5, -0.7], [1.2, 0.9]]), "c": False, "g": 1.5}
    assert eval(template, env) == pytest.approx(1.5 * eval(deriv, env))


def _cube(x):
    return x ** 3


def _sigmoid(x, y):
    return 1.0 / (1.0 + math.exp(-x * y))


def test_a_rule_declared_with_deriv_differentiates_against_finite_differences():
    registry.defrule(_cube, "x", deriv="3 * x * x")
    registry.defrule(_sigmoid, "x, y", deriv=("ans * (1 - ans) * y", "ans * (1 - ans) * x"))
    h = 1e-6
    for fn, args in ((_cube, (0.8,)), (_sigmoid, (0.3, -1.7))):
        rule = registry.lookup(fn)
        ans = fn(*args)
        for i, p in enumerate(rule.param_names):
            up, down = list(args), list(args)
            up[i] += h
            down[i] -= h
            fd = (fn(*up) - fn(*down)) / (2 * h)
            assert rule.vjp_fn(p)(1.0, ans, *args) == pytest.approx(fd, rel=1e-6)
            assert rule.jvp_fn(p)(ans, 2.0, *args) == pytest.approx(2.0 * fd, rel=1e-6)
    with pytest.raises(TypeError, match="not both"):
        registry.defrule(_cube, "x", ("g",), deriv="3 * x * x")


# --- each fact, asked by its pass, answers from the table ------------------------------------
def _rows_twice(a):
    return np.concatenate([a, a])


def _call(src):
    return N.parse_expr(src)


def test_shape_facts():
    ns = {"np": np, "f": _rows_twice}
    sh = shapes.Shapes(ns, {"x": (2, 3), "g": (4, 3)})
    assert sh.of(_call("f(x)")) is None       # not declared: its shape is not guessed
    registry.deffacts(_rows_twice, shaped=True)
    assert sh.of(_call("f(x)")) == (4, 3)
    assert sh.of(_call("unbroadcast(g, x)")) == (2, 3)   # helper: shape_like=1
    assert facts.of_helper("scatter_into").shape_like == 1
    assert facts.of(runtime.zeros_for).shape_like == 0


def _same_kind_fn(a):
    return a[::-1].copy()


def test_dtype_kind_facts():
    kinds = inplace.Kinds({"np": np, "f": _same_kind_fn}, {"x": inplace.F})
    assert kinds.of(_call("f(x)")) is None
    registry.deffacts(_same_kind_fn, same_kind=True)
    assert kinds.of(_call("f(x)")) == inplace.F
    assert kinds.of(_call("np.tanh(x)")) == inplace.F                  # float_ufunc
    assert kinds.of(_call("unbroadcast(x, x)")) == inplace.F           # helper, same_kind
    assert facts.of(np.tanh).float_ufunc and not facts.of(math.tanh).float_ufunc


def _fresh_fn(a):
    return np.array(a)


def _view_fn(a):
    return a[1:]


def test_aliasing_facts():
    assert not fence._is_fresh(_fresh_fn, np)
    registry.deffacts(_fresh_fn, fresh=True)
    registry.deffacts(_view_fn, view=True)
    assert fence._is_fresh(_fresh_fn, np) and fence._is_fresh(np.zeros, np)
    assert fence._is_fresh(runtime.copy_of, np) and not fence._is_fresh(np.asarray, np)
    ns = {"np": np, "v": _view_fn}
    assert fence._view_of(_call("v(y)"), ns, np) == "y"
    assert fence._view_of(_call("np.fliplr(y)"), ns, np) == "y"
    assert fence._view_of(_call("y.squeeze()"), ns, np) == "y"        # a method, by name
    assert fence._view_of(_call("np.copy(y)"), ns, np) is None
    assert facts.named("copyto", "writes") and facts.changes_object("append")
    assert not facts.named("copy", "writes") and not facts.changes_object("copy")


def _pure_fn(a):
    return a


def test_purity_cost_and_boolean_facts():
    assert not usage.pure_function(_pure_fn)
    registry.deffacts(_pure_fn, pure=True)
    assert usage.pure_function(_pure_fn) and usage.pure_function(len)
    assert facts.of_helper("scatter_add").pure is False
    assert facts.of_helper("unbroadcast").pure is None
    assert remat._expensive(_call("np.linalg.solve(a, b)"))
    assert not remat._expensive(_call("np.tanh(a)"))
    assert fold._may_be_bool(_call("np.isnan(a)")) and fold._may_be_bool(_call("np.signbit(a)"))
    assert not fold._may_be_bool(_call("np.exp(a)"))


def test_a_fact_has_one_spelling():
    with pytest.raises(TypeError):
        registry.deffacts(_pure_fn, pur=True)


# --- the tape asks the same table --------------------------------------------------------------
def _summed_twice_at_0(x):
    return np.sum(_NOT_SHIMMED["zeros_at_0"](x))


# (a function whose globals the tape does not replace: np.zeros_like reaches the tape through
# NumPy's __array_function__, as from a helper of another module)
_NOT_SHIMMED = {"np": np}
exec("def zeros_at_0(x):\n    y = np.zeros_like(x)\n    y[0] = 2 * x[0]\n    return y\n",
     _NOT_SHIMMED)


def _add_reduce(x):
    return np.add.reduce(x * x)


def test_the_tape_asks_the_table():
    x = np.array([1.0, 3.0])
    # like: np.zeros_like's result stays traced (a constant), so y[0] = 2 * x[0] records
    np.testing.assert_allclose(grad(_summed_twice_at_0, mode="tape")(x), [2.0, 0.0])
    # reduce_as: np.add.reduce is recorded as np.sum (d/dx sum(x * x) = 2 x)
    np.testing.assert_allclose(grad(_add_reduce, mode="tape")(x), 2 * x)
    registry.deffacts(np.zeros_like, like=False)
    registry.deffacts(np.add, reduce_as=None)
    with pytest.raises(ValueError):   # a plain array: the traced value cannot be stored
        grad(_summed_twice_at_0, mode="tape")(x)
    with pytest.raises(MissingRuleError, match="np.add.reduce"):
        grad(_add_reduce, mode="tape")(x)


def _sorts_a_constant(x):
    y = np.zeros_like(x) + 1.0
    y.sort()
    return np.sum(y * x)


@pytest.mark.parametrize("method", ["sort", "partition", "put", "itemset", "resize", "setfield",
                                    "setflags", "byteswap"])
def test_methods_that_change_an_array_are_one_fact(method):
    """The tape never forwards a changing method to a traced constant's array (a recorded
    operation may have saved it) and the fence reads a discarded call of it as an effect:
    both ask facts.changes_object (the tape's own list lacked fill, the fence's setfield)."""
    assert facts.changes_object(method)
    constant = Tracer(np.array([2.0, 1.0]), Const(), 1)
    with pytest.raises(AttributeError, match=method):
        getattr(constant, method)
    assert constant.tolist() == [2.0, 1.0]   # (one that does not change it is forwarded)


def test_a_sorted_constant_is_refused_not_wrong():
    with pytest.raises(AttributeError, match="sort"):
        grad(_sorts_a_constant, mode="tape")(np.array([1.0, 3.0]))


def test_tape_facts_of_helpers_are_declared_once():
    """Each helper's ``tape`` fact names a runtime helper; a helper the tape has its own
    version of (@_traced_form) has none."""
    declared = {name for name in runtime.HELPERS if facts.of_helper(name).tape}
    assert {"add_cot", "keys_of", "held", "split_call", "pullback_of"} <= declared
    assert all(facts.of_helper(name).tape in ("as written", "refused") for name in declared)
    assert facts.named("Stack", "tape") and not facts.named("zeros_for", "tape")
    assert set(generated._TRACED) <= set(runtime.HELPERS)
    assert not declared & set(generated._TRACED)
    assert {"zeros_for", "scatter_add", "vjp_call", "real_if"} <= set(generated._TRACED)


def test_a_shape_argument_is_a_fact():
    sh = shapes.Shapes({"np": np, "f": _rows_twice}, {})
    assert sh.of(_call("np.zeros((2, 3))")) == (2, 3)
    registry.deffacts(_rows_twice, shape_arg=True)
    assert sh.of(_call("f((4, 1))")) == (4, 1)
    registry.deffacts(np.zeros, shape_arg=False)
    assert sh.of(_call("np.zeros((2, 3))")) is None
