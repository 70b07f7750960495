"""Hypothesis strategies for random, valid, differentiable NumPy programs.

A program is built as a small statement tree (assignments, if/elif/else,
``for``/``while`` loops, in-place writes into ``np.zeros``, calls of a second
generated function, tuples/lists/dicts) over *atoms*: expressions of known
shape (argument names, local names, ``d["w"]``, ``x[i]`` inside a loop).
Every expression is built for a target shape, so every program runs.

Domains are respected by construction (``np.log(1.0 + e ** 2)``,
``np.arcsin(0.9 * np.tanh(e))``, division by ``1.0 + e ** 2``). Non-smooth
operations (abs, maximum, clip, where, max-reductions, data-dependent ``if``)
record their *kink distance* in a companion ``_probe_<name>`` function that is
rendered from the same tree; the checker skips inputs that sit within 1e-3 of a
kink, where finite differences are meaningless.

The output is always a scalar (a sum of ``np.sum``/``np.mean`` terms).

Around the NumPy it writes the Python users write (``CONSTRUCTS`` lists each with its
tag): ``%``/``np.mod``/``np.remainder``/``math.fmod`` (jumps, recorded like kinks),
``.item()`` and ``float()``, helpers that are methods calling methods and an entry
point that is a bound method, defaults, keyword-only parameters and keyword calls, a
dataclass argument, and lambdas (local, closures, curried, and as the entry point).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st

BASE_SHAPES = [(), (3,), (2, 3), (2, 1), (1, 3), (2,), (3, 3)]

# elementwise unary templates: name -> template on one sub-expression {0}
UNARY = {
    "sin": "np.sin({0})", "cos": "np.cos({0})", "tanh": "np.tanh({0})",
    "exp": "np.exp({0})", "log": "np.log(1.0 + ({0}) ** 2)",
    "sqrt": "np.sqrt(1.0 + ({0}) ** 2)", "arcsin": "np.arcsin(0.9 * np.tanh({0}))",
    "arccos": "np.arccos(0.9 * np.tanh({0}))", "arctan": "np.arctan({0})",
    "sinh": "np.sinh({0})", "cosh": "np.cosh({0})", "square": "np.square({0})",
    "pow2": "({0}) ** 2", "pow3": "({0}) ** 3", "neg": "-({0})",
    "log1p": "np.log1p(({0}) ** 2)", "expm1": "np.expm1({0})",
    "recip": "1.0 / (1.0 + ({0}) ** 2)", "arcsinh": "np.arcsinh({0})",
    "arctanh": "np.arctanh(0.9 * np.tanh({0}))", "tan": "np.tan(0.5 * np.tanh({0}))",
    "cbrt": "np.cbrt(1.5 + np.tanh({0}))", "exp2": "np.exp2({0})",
    "log2": "np.log2(1.0 + ({0}) ** 2)", "log10": "np.log10(2.0 + np.sin({0}))",
    "arccosh": "np.arccosh(1.5 + ({0}) ** 2)", "powhalf": "(1.0 + ({0}) ** 2) ** 0.5",
    "reciprocal": "np.reciprocal(2.0 + np.cos({0}))", "scale": "0.5 * ({0})",
    "shift": "({0}) - 0.25",
}

# elementwise binary templates on {0}, {1} (operands broadcast to the target)
BINARY = {
    "add": "{0} + {1}", "sub": "{0} - {1}", "mul": "{0} * {1}",
    "div": "({0}) / (1.0 + ({1}) ** 2)", "np.add": "np.add({0}, {1})",
    "np.multiply": "np.multiply({0}, {1})", "np.subtract": "np.subtract({0}, {1})",
    "logaddexp": "np.logaddexp({0}, {1})", "arctan2": "np.arctan2({0}, 1.5 + ({1}) ** 2)",
    "hypot": "np.hypot({0}, 1.0 + ({1}) ** 2)",
    "powvar": "(1.0 + ({0}) ** 2) ** (0.5 * np.tanh({1}))",
    "np.divide": "np.divide({0}, 2.0 + np.sin({1}))",
}

# loop state updates: {s} is the state, {e} a fresh expression
LOOP_UPDATES = [
    "np.tanh(0.5 * {s} + {e})", "{s} + {e}", "0.9 * {s} + 0.1 * ({e})",
    "{s} * np.cos({e})", "{s} - 0.1 * {s} * ({e})",
]

CONSTS = ["0.5", "1.5", "-0.75", "2.0", "0.3", "-1.25"]

# ``%`` and friends: a positive constant divisor, or a positive expression ({0} is an
# expression of a shape that broadcasts to the target)
MOD_DIVISORS = ["0.7", "1.3", "2.0"]
MOD_EXPR_DIVISORS = ["(1.0 + ({0}) ** 2)", "(1.5 + np.tanh({0}))"]
MOD_FORMS = {"%": "{a} % {c}", "np.mod": "np.mod({a}, {c})",
             "np.remainder": "np.remainder({a}, {c})", "math.fmod": "math.fmod({a}, {c})"}

# scalars out of 0-d / one-element values ({0}: an expression of any shape)
ITEM_FORMS = ["np.sum({0}).item()", "np.mean({0}).item()", "np.ravel({0})[:1].item()",
              "float(np.sum({0}))", "float(np.mean({0}))"]

# bodies of local lambdas of one parameter v
LAMBDA_BODIES = ["v * v", "np.sin(v) * v", "0.5 * v + np.tanh(v)", "v / (1.0 + v ** 2)"]
CURRIED = "make = lambda a: lambda v: v * a  # noqa: E731"
DEFAULTS = ["0.5", "2.0", "-0.75"]


@dataclass
class Expr:
    text: str
    kinks: list = field(default_factory=list)   # expressions that must stay away from 0
    view: bool = False                           # may alias another array
    ops: set = field(default_factory=set)

    @property
    def base(self):
        """The name a view aliases (its leading identifier)."""
        text = self.text[self.text.index("(") + 1:] if self.text.startswith("np.") else self.text
        m = re.match(r"[A-Za-z_]\w*", text)
        return m.group(0) if m and self.view else None


@dataclass
class Stmt:
    kind: str                 # assign / aug / setitem / if / for / while / raw
    text: str = ""            # the statement (assign/aug/setitem/raw) or the header
    kinks: list = field(default_factory=list)
    body: list = field(default_factory=list)
    orelse: list = field(default_factory=list)


@dataclass
class Program:
    """One generated program: module source, entry point, argument specs, wrt."""

    source: str
    name: str
    args: list                 # one spec per argument (see make_args)
    wrt: object                # int, str or tuple for grad(..., wrt=)
    tape_ok: bool = True       # False when it writes traced values into np.zeros(...)
    features: frozenset = frozenset()

    @property
    def digest(self):
        h = hashlib.sha1((self.source + repr(self.args) + repr(self.wrt)).encode())
        return h.hexdigest()[:12]

    def __repr__(self):
        return (f"Program(args={self.args!r}, wrt={self.wrt!r}, tape_ok={self.tape_ok})\n"
                f"{self.source}")


@dataclass
class Params:
    """Stands in for a program's own ``Params`` when ``make_args`` is not given its module."""

    w: np.ndarray
    b: float


def make_args(specs, rng, low=-1.5, high=1.5, module=None):
    """Concrete arguments for ``specs``: ('float',), ('f64',), ('0d',), ('array', shape),
    ('dict', ((key, shape), ...)), ('dataclass', ((field, shape), ...)): an instance of
    ``module.Params`` (the program's own class), a field of shape () a Python float."""
    out = []
    for spec in specs:
        kind = spec[0]
        if kind == "float":
            out.append(float(rng.uniform(low, high)))
        elif kind == "f64":
            out.append(np.float64(rng.uniform(low, high)))
        elif kind == "0d":
            out.append(np.array(rng.uniform(low, high)))
        elif kind == "array":
            out.append(rng.uniform(low, high, size=spec[1]))
        elif kind == "dict":
            out.append({k: rng.uniform(low, high, size=s) for k, s in spec[1]})
        elif kind == "dataclass":
            cls = getattr(module, "Params", Params)
            out.append(cls(**{k: rng.uniform(low, high, size=s) if s else
                              float(rng.uniform(low, high)) for k, s in spec[1]}))
        else:
            raise ValueError(spec)
    return tuple(out)


def _bshape(*shapes):
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        return None


class Env:
    """Atoms in scope: text -> shape; which local names own their array."""

    def __init__(self):
        self.atoms = {}
        self.owned = set()
        self.locals = set()     # plain names assignable with `name = ...`
        self.loops = []         # (index name, trip count)

    def copy(self):
        e = Env()
        e.atoms = dict(self.atoms)
        e.owned = set(self.owned)
        e.locals = set(self.locals)
        e.loops = list(self.loops)
        return e

    def shapes(self):
        return sorted(set(self.atoms.values()) | set(BASE_SHAPES), key=lambda s: (len(s), s))


class Builder:
    def __init__(self, draw, features, kinks=True):
        self.draw = draw
        self.features = features
        self.allow_kinks = kinks and "nonsmooth" in features
        self.n = 0
        self.helpers = []       # rendered helper sources
        self.tape_ok = True
        self.used = set()
        self.imports = set()    # extra import lines the program needs
        self.module_defs = []   # other module-level definitions (make = lambda ...)

    def fresh(self, prefix):
        self.n += 1
        return f"{prefix}{self.n}"

    def pick(self, seq):
        seq = list(seq)
        return seq[self.draw(st.integers(0, len(seq) - 1))]

    def coin(self, p_true=0.5):
        return self.draw(st.integers(0, 99)) < int(p_true * 100)

    # -- expressions ---------------------------------------------------------
    def compatible(self, env, target):
        return [s for s in env.shapes() if _bshape(s, target) == target]

    def derived(self, env, target):
        """Reductions, indexing, transposes and products of atoms giving ``target``."""
        out = []
        items = sorted(env.atoms.items())
        for a, s in items:
            if not s:
                continue
            probe = np.ones(s)
            if target == ():
                out.append(("reduce", f"np.sum({a})"))
                out.append(("reduce", f"np.mean({a})"))
                out.append(("reduce", f"{a}.sum()"))
                if "linalg" in self.features and len(s) == 1:
                    out.append(("norm", f"np.sqrt(1.0 + np.sum({a} * {a}))"))
                if self.allow_kinks and probe.size > 1:
                    out.append(("max", f"np.max({a})", f"_gap({a}, None)"))
            for ax in range(len(s)):
                for keep in (False, True):
                    if probe.sum(axis=ax, keepdims=keep).shape != target:
                        continue
                    kw = ", keepdims=True" if keep else ""
                    out.append(("reduce", f"np.sum({a}, axis={ax}{kw})"))
                    out.append(("reduce", f"np.mean({a}, axis={ax}{kw})"))
                    out.append(("reduce", f"{a}.sum(axis={ax}{kw})"))
                    if "prod" in self.features:
                        out.append(("prod", f"np.prod(1.5 + np.tanh({a}), axis={ax}{kw})"))
                    if self.allow_kinks and s[ax] > 1:
                        out.append(("max", f"np.max({a}, axis={ax}{kw})", f"_gap({a}, {ax})"))
            if "index" in self.features:
                for idx in _indices(s):
                    if probe[idx].shape == target:
                        out.append(("index", f"{a}[{_idx_text(idx)}]"))
                for iname, k in env.loops:
                    if s[0] >= k and probe[0].shape == target:
                        out.append(("index", f"{a}[{iname}]"))
            if len(s) == 2 and target == s[::-1]:
                out.append(("transpose", f"{a}.T"))
                out.append(("transpose", f"np.transpose({a})"))
            if "shape" in self.features and probe.size == int(np.prod(target)) and s != target:
                out.append(("reshape", f"np.reshape({a}, {target!r})"))
            if "shape" in self.features and len(s) == 1 and target == s:
                out.append(("flip", f"np.flip({a})"))
                out.append(("cumsum", f"np.cumsum({a})"))
        if "linalg" in self.features:
            for a, sa in items:
                for b, sb in items:
                    if not sa or not sb:
                        continue
                    try:
                        r = (np.ones(sa) @ np.ones(sb)).shape
                    except ValueError:
                        continue
                    if r == target:
                        out.append(("matmul", f"{a} @ {b}"))
                        out.append(("matmul", f"np.dot({a}, {b})"))
                        out.append(("matmul", f"np.matmul({a}, {b})"))
                        if len(sa) == 2 and len(sb) == 1:
                            out.append(("einsum", f"np.einsum('ij,j->i', {a}, {b})"))
                    if len(sa) == 1 and len(sb) == 1 and (sa[0], sb[0]) == target:
                        out.append(("outer", f"np.outer({a}, {b})"))
                    if len(sa) == 1 and sa == sb and target == (2,) + sa:
                        out.append(("stack", f"np.stack([{a}, {b}])"))
                    if len(sa) == 1 and len(sb) == 1 and target == (sa[0] + sb[0],):
                        out.append(("concatenate", f"np.concatenate([{a}, {b}])"))
        return out

    def expr(self, env, target, depth):
        draw_depth = depth
        options = []
        exact = sorted(a for a, s in env.atoms.items() if s == target)
        if exact:
            options += ["atom"] * 3
        if target == ():
            options.append("const")
        derived = self.derived(env, target)
        if derived:
            options += ["derived"] * 2
        if draw_depth > 0:
            options += ["unary"] * 3 + ["binary"] * 4
            if self.allow_kinks:
                options += ["nonsmooth"]
            if self.allow_kinks and "mod" in self.features and self.coin(0.6):
                options += ["mod"]
            if target == () and "item" in self.features:
                options += ["item"]
            if "lambda" in self.features and self.coin(0.4):
                options += ["curried"]
        if not options:
            comp = [a for a, s in sorted(env.atoms.items()) if _bshape(s, target) == target]
            if comp:
                return Expr(f"{self.pick(comp)} * np.ones({target!r})", ops={"broadcast"})
            return Expr(f"np.full({target!r}, {self.pick(CONSTS)})", ops={"full"})
        kind = self.pick(options)
        if kind == "atom":
            return Expr(self.pick(exact), view=True)
        if kind == "const":
            return Expr(self.pick(CONSTS))
        if kind == "derived":
            d = self.pick(derived)
            kinks = [d[2]] if len(d) > 2 else []
            return Expr(d[1], kinks=kinks, view=d[0] in ("index", "transpose", "reshape", "flip"),
                        ops={d[0]})
        if kind == "unary":
            name = self.pick(sorted(UNARY))
            sub = self.expr(env, target, depth - 1)
            return Expr(UNARY[name].format(sub.text), sub.kinks, ops=sub.ops | {name})
        if kind == "mod":
            return self.mod_expr(env, target, depth)
        if kind == "item":
            sub = self.expr(env, self._shape(env), depth - 1)
            form = self.pick(ITEM_FORMS)
            op = "item" if ".item()" in form else "float_call"
            return Expr(form.format(sub.text), sub.kinks, ops=sub.ops | {op})
        if kind == "curried":
            if CURRIED not in self.module_defs:
                self.module_defs.append(CURRIED)
            sub = self.expr(env, target, depth - 1)
            return Expr(f"make({self.pick(CONSTS)})({sub.text})", sub.kinks,
                        ops=sub.ops | {"lambda_curried"})
        if kind == "binary":
            comp = self.compatible(env, target)
            s1 = self.pick(comp)
            s2 = self.pick(comp)
            if _bshape(s1, s2) != target:
                s2 = target
            if self.coin():
                s1, s2 = s2, s1
            a = self.expr(env, s1, depth - 1)
            b = self.expr(env, s2, depth - 1)
            name = self.pick(sorted(BINARY))
            text = BINARY[name].format(_paren(a.text), _paren(b.text))
            return Expr(text, a.kinks + b.kinks, ops=a.ops | b.ops | {name})
        # non-smooth, kinks recorded
        which = self.pick(["abs", "maximum", "minimum", "clip", "where"])
        a = self.expr(env, target, depth - 1)
        if which == "abs":
            return Expr(f"np.abs({a.text})", a.kinks + [a.text], ops=a.ops | {"abs"})
        if which == "clip":
            return Expr(f"np.clip({a.text}, -0.5, 0.5)",
                        a.kinks + [f"({a.text}) + 0.5", f"({a.text}) - 0.5"],
                        ops=a.ops | {"clip"})
        comp = self.compatible(env, target)
        b = self.expr(env, self.pick(comp), depth - 1)
        if which in ("maximum", "minimum"):
            return Expr(f"np.{which}({a.text}, {b.text})",
                        a.kinks + b.kinks + [f"({a.text}) - ({b.text})"],
                        ops=a.ops | b.ops | {which})
        c = self.expr(env, self.pick(comp), max(depth - 2, 0))
        return Expr(f"np.where({_paren(c.text)} > 0, {a.text}, {b.text})",
                    a.kinks + b.kinks + c.kinks + [c.text], ops=a.ops | b.ops | c.ops | {"where"})

    def mod_expr(self, env, target, depth):
        """``a % c``, ``np.mod``, ``np.remainder`` or (scalars) ``math.fmod`` with a positive
        divisor ``c``: jumps where ``a / c`` is an integer, so the kink is the distance of
        ``a / c`` to the nearest integer, times ``c``."""
        forms = ["%", "np.mod", "np.remainder"] + (["math.fmod"] * 2 if target == () else [])
        which = self.pick(forms)
        a = self.expr(env, target, depth - 1)
        kinks = list(a.kinks)
        ops = set(a.ops)
        if self.coin(0.5):
            c = self.pick(MOD_DIVISORS)
        else:
            shape = () if which == "math.fmod" else self.pick(self.compatible(env, target))
            b = self.expr(env, shape, max(depth - 2, 0))
            c = self.pick(MOD_EXPR_DIVISORS).format(b.text)
            kinks += b.kinks
            ops |= b.ops | {"mod_expr_divisor"}
        if which == "math.fmod":
            self.imports.add("import math")
        text = MOD_FORMS[which].format(a=_paren(a.text) if which == "%" else a.text, c=c)
        return Expr(text, kinks + [f"_mdist({a.text}, {c})"], ops=ops | {"mod:" + which})

    def fresh_expr(self, env, target, depth):
        """An expression that is not a bare atom (so its result is a new array)."""
        e = self.expr(env, target, depth)
        if e.view:
            e = Expr(f"1.0 * {_paren(e.text)}", e.kinks, ops=e.ops)
        return e

    # -- statements ------------------------------------------------------------
    def block(self, env, n, depth, in_helper=False):
        stmts = []
        for _ in range(n):
            stmts += self.statement(env, depth, in_helper)
        return stmts

    def statement(self, env, depth, in_helper=False):
        kinds = ["assign"] * 4
        if env.locals:
            kinds += ["reassign"] * 2
        if env.owned:
            kinds += ["aug"]
        if depth > 0:
            if "branch" in self.features and not in_helper and self.allow_kinks_or_branch():
                kinds += ["if"] * 2
            if "loop" in self.features:
                kinds += ["for"] * 2 + ["while"]
            if "inplace" in self.features and not in_helper:
                kinds += ["inplace"] * 2
            if "helper" in self.features and not in_helper and len(self.helpers) < 2:
                kinds += ["helper"]
            if "container" in self.features:
                kinds += ["container"]
            if "append" in self.features and not in_helper:
                kinds += ["append"]
        if "lambda" in self.features:
            kinds += ["lambda"]
        kind = self.pick(kinds)
        self.used.add(kind)
        return getattr(self, "st_" + kind)(env, depth)

    def allow_kinks_or_branch(self):
        return True

    def _shape(self, env):
        return self.pick(env.shapes())

    def st_assign(self, env, depth):
        name = self.fresh("v")
        shape = self._shape(env)
        e = self.expr(env, shape, self.draw(st.integers(1, 3)))
        env.atoms[name] = shape
        env.locals.add(name)
        self._own(env, name, e)
        self.used |= e.ops
        return [Stmt("assign", f"{name} = {e.text}", e.kinks)]

    @staticmethod
    def _own(env, name, e):
        """``name = e``: name owns its array unless e may alias; an aliased base
        may no longer be updated in place (NumPy views would see the update)."""
        if e.view:
            env.owned.discard(name)
            env.owned.discard(e.base)
        else:
            env.owned.add(name)

    def st_reassign(self, env, depth):
        name = self.pick(sorted(env.locals))
        e = self.expr(env, env.atoms[name], self.draw(st.integers(1, 3)))
        self._own(env, name, e)
        self.used |= e.ops
        return [Stmt("assign", f"{name} = {e.text}", e.kinks)]

    def st_aug(self, env, depth):
        name = self.pick(sorted(env.owned))
        shape = env.atoms[name]
        e = self.expr(env, self.pick(self.compatible(env, shape)), self.draw(st.integers(0, 2)))
        op = self.pick(["+=", "-=", "*="])
        self.used |= e.ops | {"augassign"}
        return [Stmt("aug", f"{name} {op} {e.text}", e.kinks)]

    def _branch_var(self, env, depth, name, shape):
        body = self.block(env, self.draw(st.integers(0, 2)), depth - 1)
        e = self.fresh_expr(env, shape, self.draw(st.integers(1, 2)))
        self._pending = e.ops   # noted by st_if once it knows the assignment is kept
        return body + [Stmt("assign", f"{name} = {e.text}", e.kinks)]

    def st_if(self, env, depth):
        cond = self.expr(env, (), self.draw(st.integers(0, 2)))
        name = self.fresh("b")
        shape = self._shape(env)
        e_then, e_else = env.copy(), env.copy()
        then = self._branch_var(e_then, depth, name, shape)
        then_ops = self._pending
        self.used |= cond.ops
        nelif = self.draw(st.integers(0, 2))
        if nelif == 2:   # elif chain
            cond2 = self.expr(env, (), self.draw(st.integers(0, 1)))
            e_mid = env.copy()
            mid = self._branch_var(e_mid, depth, name, shape)
            self.used |= self._pending | then_ops | cond2.ops
            orelse_body = self._branch_var(e_else, depth, name, shape)
            self.used |= self._pending
            orelse = [Stmt("if", f"if {_paren(cond2.text)} > 0:", [cond2.text] + cond2.kinks,
                           mid, orelse_body)]
            owned = e_then.owned & e_mid.owned & e_else.owned
        elif nelif == 1 and env.locals:   # no else: update an existing variable
            target = self.pick(sorted(env.locals))
            e = self.fresh_expr(e_then, env.atoms[target], 2)
            self.used |= e.ops
            then = then[:-1] + [Stmt("assign", f"{target} = {e.text}", e.kinks)]
            orelse = []
            owned = env.owned & e_then.owned | ({target} & env.owned)
            stmt = Stmt("if", f"if {_paren(cond.text)} > 0:", [cond.text] + cond.kinks,
                        then, orelse)
            env.owned = {v for v in owned if v in env.locals}
            self.used.add("if")
            return [stmt]
        else:
            orelse = self._branch_var(e_else, depth, name, shape)
            self.used |= self._pending | then_ops
            owned = e_then.owned & e_else.owned
        env.atoms[name] = shape
        env.locals.add(name)
        env.owned = {v for v in owned if v in env.locals}
        return [Stmt("if", f"if {_paren(cond.text)} > 0:", [cond.text] + cond.kinks,
                     then, orelse)]

    def _loop_body(self, env, depth, benv):
        body = self.block(benv, self.draw(st.integers(0, 2)), depth - 1)
        if env.locals:
            state = self.pick(sorted(env.locals))
            shape = env.atoms[state]
            e = self.expr(benv, self.pick(self.compatible(benv, shape)),
                          self.draw(st.integers(0, 2)))
            upd = self.pick(LOOP_UPDATES).format(s=state, e=e.text)
            body.append(Stmt("assign", f"{state} = {upd}", e.kinks))
            benv.owned.add(state)
            self.used |= e.ops
        return body

    def st_for(self, env, depth):
        i, k = self.fresh("i"), self.draw(st.integers(1, 4))
        benv = env.copy()
        benv.loops.append((i, k))
        body = self._loop_body(env, depth, benv)
        if not body:
            body = [Stmt("raw", "pass")]
        env.owned &= benv.owned
        return [Stmt("for", f"for {i} in range({k}):", [], body)]

    def st_while(self, env, depth):
        j, k = self.fresh("j"), self.draw(st.integers(1, 4))
        benv = env.copy()
        body = self._loop_body(env, depth, benv)
        body.append(Stmt("raw", f"{j} = {j} + 1" if self.coin() else f"{j} += 1"))
        env.owned &= benv.owned
        return [Stmt("raw", f"{j} = 0"), Stmt("while", f"while {j} < {k}:", [], body)]

    def st_inplace(self, env, depth):
        y = self.fresh("y")
        two_d = self.coin(0.3)
        shape = self.pick([(2, 3), (3, 3)]) if two_d else self.pick([(2,), (3,), (4,)])
        like = [a for a, s in sorted(env.atoms.items()) if s == shape]
        if like and self.coin():
            init = f"{y} = np.zeros_like({self.pick(like)})"
        else:
            init = f"{y} = np.zeros({shape[0] if len(shape) == 1 else shape!r})"
            self.tape_ok = False
        out = [Stmt("raw", init)]
        row = shape[1:]
        mode = self.pick(["loop", "const", "slice"])
        if mode == "loop":
            i = self.fresh("i")
            benv = env.copy()
            benv.loops.append((i, shape[0]))
            e = self.expr(benv, row, self.draw(st.integers(1, 2)))
            op = self.pick(["=", "+="])
            out.append(Stmt("for", f"for {i} in range({shape[0]}):", [],
                            [Stmt("setitem", f"{y}[{i}] {op} {e.text}", e.kinks)]))
            self.used |= e.ops
        elif mode == "const":
            for _ in range(self.draw(st.integers(1, 3))):
                k = self.draw(st.integers(0, shape[0] - 1))
                e = self.expr(env, row, self.draw(st.integers(1, 2)))
                op = self.pick(["=", "+="])
                out.append(Stmt("setitem", f"{y}[{k}] {op} {e.text}", e.kinks))
                self.used |= e.ops
        else:
            e = self.expr(env, (shape[0] - 1,) + row, self.draw(st.integers(1, 2)))
            out.append(Stmt("setitem", f"{y}[1:] = {e.text}", e.kinks))
            self.used |= e.ops
        env.atoms[y] = shape
        env.locals.add(y)
        env.owned.add(y)
        self.used.add("inplace")
        return out

    def st_helper(self, env, depth):
        """A call of a generated helper: a module-level ``def``, or (feature ``method``) a
        method ``apply`` of a module-level object that calls another method,
        ``self.core(...)``. With feature ``signature`` the helper has an extra scalar
        parameter with a default (``scale=0.5``) or a keyword-only one (``*, k=2.0``),
        left to its default, passed by keyword or (not keyword-only) by position."""
        names = sorted(env.atoms)
        nparams = self.draw(st.integers(1, 2))
        actual = [self.pick(names) for _ in range(nparams)]
        hname = self.fresh("helper")
        style = self.pick(["def", "method"]) if "method" in self.features else "def"
        sig = (self.pick(["plain", "default", "kwonly"]) if "signature" in self.features
               else "plain")
        henv = Env()
        kinks, self.allow_kinks = self.allow_kinks, False
        params = []
        for k, a in enumerate(actual):
            p = f"p{k}"
            params.append(p)
            henv.atoms[p] = env.atoms[a]
            henv.locals.add(p)
        extra = {"plain": None, "default": "scale", "kwonly": "k"}[sig]
        default = self.pick(DEFAULTS)
        if extra:
            henv.atoms[extra] = ()
        body = self.block(henv, self.draw(st.integers(0, 2)), depth - 1, in_helper=True)
        ret_shapes = [self.pick(sorted(set(henv.atoms.values()) | {()}))]
        if self.coin(0.3):
            ret_shapes.append(self.pick(sorted(set(henv.atoms.values()) | {()})))
        rets = [self.fresh_expr(henv, s, 2) for s in ret_shapes]
        if extra and not re.search(rf"\b{extra}\b", " ".join(r.text for r in rets)) \
                and self.coin(0.7):
            # make the extra parameter matter (its gradient flows when it is passed)
            rets[0] = Expr(f"{extra} * {_paren(rets[0].text)}", rets[0].kinks, ops=rets[0].ops)
        self.allow_kinks = kinks
        sig_params = list(params)
        if extra:
            sig_params += (["*"] if sig == "kwonly" else []) + [f"{extra}={default}"]
        ret_text = ", ".join(r.text for r in rets)
        if style == "def":
            lines = [f"def {hname}({', '.join(sig_params)}):"]
            lines += render(body, 1, probe=False)
            lines.append(f"    return {ret_text}")
            callee = hname
        else:
            # keywords in a call of a method of a local (self.core(..., k=k)) are refused
            # by design ("pass the arguments by position"): forward them by position
            num = hname[len("helper"):]
            cls, obj = f"Helper{num}", f"obj{num}"
            core_params = params + ([f"{extra}={default}"] if extra else [])
            fwd = ", ".join(params + ([extra] if extra else []))
            c = self.pick(["1.0", "0.5", "-1.5"])
            call = f"self.core({fwd})"
            if len(rets) == 1 and self.coin():
                call = f"self.c * {call}"
            lines = [f"class {cls}:", "    def __init__(self, c):", "        self.c = c", "",
                     f"    def core(self, {', '.join(core_params)}):"]
            lines += render(body, 2, probe=False)
            lines += [f"        return {ret_text}", "",
                      f"    def apply(self, {', '.join(sig_params)}):",
                      f"        return {call}", "", "", f"{obj} = {cls}({c})"]
            callee = f"{obj}.apply"
            self.used.add("method")
        self.helpers.append("\n".join(lines))
        # the call: the extra parameter left out, by keyword, or by position
        call_args = list(actual)
        by_keyword = self.coin(0.2)
        if by_keyword:   # positional parameters passed by keyword
            call_args = [f"p{k}={a}" for k, a in enumerate(actual)]
            self.used.add("keyword_call")
        call_kinks = []
        if extra:
            how = self.pick(["omit", "keyword"] + (["position"] * 2 if sig == "default" else []))
            if how == "position" and by_keyword:
                how = "keyword"
            if how != "omit":
                e = self.expr(env, (), self.draw(st.integers(0, 1)))
                self.used |= e.ops
                call_kinks += e.kinks
                if how == "keyword" or by_keyword:
                    call_args.append(f"{extra}={e.text}")
                else:
                    call_args.append(e.text)
            self.used.add({"omit": "default_omitted", "keyword": "default_keyword",
                           "position": "default_positional"}[how])
            self.used.add("kwonly" if sig == "kwonly" else "default")
        targets = [self.fresh("r") for _ in rets]
        for t, s in zip(targets, ret_shapes):
            env.atoms[t] = s
            env.locals.add(t)
        self.used.add("helper")
        return [Stmt("assign", f"{', '.join(targets)} = {callee}({', '.join(call_args)})",
                     call_kinks)]

    def st_lambda(self, env, depth):
        """A lambda defined in the function and called: ``sq = lambda v: v * v``, one
        that reads a local (``lambda v: v * x0``, a closure) or one of two parameters."""
        lam, out = self.fresh("lam"), self.fresh("v")
        shape = self._shape(env)
        kind = self.pick(["plain", "closure", "two"])
        e = self.expr(env, shape, self.draw(st.integers(0, 2)))
        kinks, ops = list(e.kinks), set(e.ops)
        if kind == "plain":
            define = f"{lam} = lambda v: {self.pick(LAMBDA_BODIES)}  # noqa: E731"
            call = f"{lam}({e.text})"
        elif kind == "closure":
            near = [a for a, s in sorted(env.atoms.items()) if _bshape(s, shape) == shape]
            a = self.pick(near) if near else self.pick(CONSTS)
            define = f"{lam} = lambda v: v * np.cos({a})  # noqa: E731"
            call = f"{lam}({e.text})"
        else:
            e2 = self.expr(env, shape, self.draw(st.integers(0, 1)))
            kinks += e2.kinks
            ops |= e2.ops
            define = f"{lam} = lambda u, v: u * np.cos(v) + v  # noqa: E731"
            call = f"{lam}({e.text}, {e2.text})"
        if self.coin(0.3):   # called twice
            call = (f"{call} + {lam}({self.pick(CONSTS)} * {_paren(e.text)})" if kind != "two"
                    else f"{call} + {lam}({e2.text}, {e.text})")
        env.atoms[out] = shape
        env.locals.add(out)
        env.owned.add(out)
        self.used |= ops | {"lambda_local", "lambda_" + kind}
        return [Stmt("raw", define), Stmt("assign", f"{out} = {call}", kinks)]

    def st_container(self, env, depth):
        names = sorted(env.atoms)
        a, b = self.pick(names), self.pick(names)
        kind = self.pick(["tuple", "unpack", "list", "dict", "swap"])
        t = self.fresh("c")
        self.used.add(kind)
        env.owned -= {a, b}   # the container holds references to them
        if kind == "tuple":
            u = self.fresh("u")
            env.atoms[u] = env.atoms[b]
            env.locals.add(u)
            return [Stmt("raw", f"{t} = ({a}, {b})"), Stmt("raw", f"{u} = {t}[1]")]
        if kind == "unpack":
            u, w = self.fresh("u"), self.fresh("u")
            env.atoms[u], env.atoms[w] = env.atoms[a], env.atoms[b]
            env.locals |= {u, w}
            return [Stmt("raw", f"{t} = {a}, {b}"), Stmt("raw", f"{u}, {w} = {t}")]
        if kind == "list":
            env.atoms[f"{t}[0]"] = env.atoms[a]
            env.atoms[f"{t}[-1]"] = env.atoms[b]
            return [Stmt("raw", f"{t} = [{a}, {b}]")]
        if kind == "dict":
            env.atoms[f"{t}['p']"] = env.atoms[a]
            env.atoms[f"{t}['q']"] = env.atoms[b]
            return [Stmt("raw", f"{t} = {{'p': {a}, 'q': {b}}}")]
        # swap two locals of the same shape
        same = [(p, q) for p in sorted(env.locals) for q in sorted(env.locals)
                if p < q and env.atoms[p] == env.atoms[q]]
        if not same:
            return []
        p, q = self.pick(same)
        op, oq = p in env.owned, q in env.owned
        env.owned -= {p, q}
        env.owned |= ({q} if op else set()) | ({p} if oq else set())
        return [Stmt("raw", f"{p}, {q} = {q}, {p}")]

    def st_append(self, env, depth):
        acc, i, k = self.fresh("acc"), self.fresh("i"), self.draw(st.integers(1, 3))
        s = self.pick([(), (3,), (2,)])
        benv = env.copy()
        benv.loops.append((i, k))
        e = self.expr(benv, s, self.draw(st.integers(1, 2)))
        out = self.fresh("st")
        env.atoms[out] = (k,) + s
        env.locals.add(out)
        env.owned.add(out)
        self.used |= e.ops | {"append"}
        return [Stmt("raw", f"{acc} = []"),
                Stmt("for", f"for {i} in range({k}):", [],
                     [Stmt("setitem", f"{acc}.append({e.text})", e.kinks)]),
                Stmt("raw", f"{out} = np.stack({acc})")]


def _indices(shape):
    if len(shape) == 1:
        n = shape[0]
        out = [(k,) for k in range(n)] + [(-1,)]
        if n > 1:
            out += [(slice(1, None),), (slice(None, -1),), (slice(None, None, -1),),
                    (slice(None, None, 2),)]
        return out
    r, c = shape[:2]
    out = [(k,) for k in range(r)] + [(slice(None), k) for k in range(c)]
    out += [(r - 1, c - 1), (0, 0)]
    if r > 1:
        out.append((slice(1, None), slice(None)))
    if c > 1:
        out.append((slice(None), slice(None, None, -1)))
    return out


def _slice_text(s):
    if not isinstance(s, slice):
        return str(s)
    parts = ["" if s.start is None else str(s.start), "" if s.stop is None else str(s.stop)]
    text = ":".join(parts)
    if s.step is not None:
        text += f":{s.step}"
    return text


def _idx_text(idx):
    return ", ".join(_slice_text(s) for s in idx)


def _paren(text):
    simple = text.replace("_", "").replace(".", "").replace("[", "").replace("]", "")
    simple = simple.replace("'", "")
    if simple.isalnum() or text.startswith("np.") and text.endswith(")") and \
            text.count("(") == 1:
        return text
    return f"({text})"


def render(stmts, level, probe):
    pad = "    " * level
    lines = []
    for s in stmts:
        if probe:
            for k in s.kinks:
                lines.append(f"{pad}_k.append(_dist({k}))")
        if s.kind in ("assign", "aug", "setitem", "raw"):
            lines.append(pad + s.text)
            continue
        lines.append(pad + s.text)
        lines += render(s.body, level + 1, probe)
        if s.orelse:
            if len(s.orelse) == 1 and s.orelse[0].kind == "if" and not probe:
                sub = render(s.orelse, level, probe)
                sub[0] = pad + "el" + sub[0].lstrip()
                lines += sub
            else:
                lines.append(pad + "else:")
                lines += render(s.orelse, level + 1, probe)
    return lines


# the probe's helpers; they come after the probe, so a regression case (the source
# before ``def _probe_``) does without them
PROBE_HELPERS = '''def _dist(v):
    return float(np.min(np.abs(v))) if np.size(v) else float("inf")


def _gap(a, axis):
    s = np.sort(np.asarray(a, dtype=float), axis=-1 if axis is None else axis)
    if axis is None:
        s = np.sort(np.ravel(a))
        return s[-1] - s[-2] if s.size > 1 else 1.0
    s = np.moveaxis(s, axis, -1)
    return s[..., -1] - s[..., -2] if s.shape[-1] > 1 else 1.0


def _mdist(a, c):
    q = np.asarray(a, dtype=float) / np.asarray(c, dtype=float)
    return (q - np.round(q)) * c
'''

# a dataclass argument ``p`` (spec ('dataclass', ((field, shape), ...))); make_args builds
# it with the program module's own class when given the module
DATACLASS_SOURCE = '''@dataclass
class Params:
    w: np.ndarray
    b: float'''

ALL_FEATURES = frozenset({"index", "linalg", "shape", "prod", "nonsmooth", "branch", "loop",
                          "inplace", "helper", "container", "append", "mod", "item", "lambda",
                          "method", "signature", "dataclass"})
STRAIGHT = frozenset({"index", "linalg", "shape", "prod", "nonsmooth", "mod", "item", "lambda"})
CONTROL = STRAIGHT | {"branch", "loop"}


@st.composite
def programs(draw, features=ALL_FEATURES, max_stmts=6, max_args=4):
    """A random :class:`Program` using the constructs in ``features``.

    The entry point is always the module's ``f``: a ``def``; (feature ``method``) the bound
    method ``model.loss`` of a module-level object, which calls ``self.predict``; or
    (feature ``lambda``) a lambda made inside another function, ``f = _make_f(1.0)``.
    """
    b = Builder(draw, features)
    env = Env()
    nargs = draw(st.integers(1, max_args))
    specs, params = [], []
    for k in range(nargs):
        last = draw(st.integers(0, 4)) if k == nargs - 1 else None
        if "container" in features and last == 0:
            keys = (("w", b.pick(BASE_SHAPES[1:])), ("b", b.pick(BASE_SHAPES[1:])))
            specs.append(("dict", keys))
            params.append("d")
            for key, s in keys:
                env.atoms[f"d['{key}']"] = s
            b.used.add("dict_arg")
            continue
        if "dataclass" in features and last == 1:
            fields = (("w", b.pick(BASE_SHAPES[1:])), ("b", ()))
            specs.append(("dataclass", fields))
            params.append("p")
            for key, s in fields:
                env.atoms[f"p.{key}"] = s
            b.imports.add("from dataclasses import dataclass")
            b.module_defs.insert(0, DATACLASS_SOURCE)
            b.used.add("dataclass_arg")
            continue
        shape = b.pick(BASE_SHAPES)
        name = f"x{k}"
        if shape == ():
            kind = b.pick(["float", "float", "f64", "0d"])
            specs.append((kind,))
        else:
            specs.append(("array", shape))
        params.append(name)
        env.atoms[name] = shape
        env.locals.add(name)
    nstmts = draw(st.integers(1, max_stmts))
    body = b.block(env, nstmts, depth=2)
    # the output: a scalar sum of terms over some atoms (always the newest local)
    atoms = sorted(env.atoms)
    chosen = [a for a in atoms if a in env.locals and a not in params][-1:]
    for _ in range(draw(st.integers(1, 3))):
        chosen.append(b.pick(atoms))
    terms = []
    for a in chosen:
        form = b.pick(["np.sum({0})", "np.mean({0} * {0})", "np.sum(np.sin({0}))",
                       "0.5 * np.sum({0})"])
        terms.append(form.format(a))
    ret = " + ".join(terms)
    if len(terms) == 1 and b.coin(0.2):
        ret = f"float({ret})"
        b.tape_ok = False   # the tape refuses float(tracer), by design
    # wrt: an index, a name, or a tuple of them
    order = draw(st.permutations(list(range(nargs))))
    count = draw(st.integers(1, nargs))
    chosen_wrt = sorted(order[:count])
    if "p" in params and params.index("p") in chosen_wrt:
        b.used.add("dataclass_wrt")
    as_name = b.coin(0.3)
    items = [params[i] if as_name else i for i in chosen_wrt]
    wrt = items[0] if len(items) == 1 and b.coin() else tuple(items)

    fname = "f"
    sig = ", ".join(params)
    entries = ["def"] * 4
    if "method" in features:
        entries.append("method")
    if "lambda" in features:
        entries.append("lambda")
    entry = b.pick(entries)
    scale = b.pick(["1.0", "0.5", "-2.0"])
    if entry == "def":
        main = [f"def {fname}({sig}):", *render(body, 1, False), f"    return {ret}"]
    elif entry == "method":
        main = ["class Model:", "    def __init__(self, scale):", "        self.scale = scale",
                "", f"    def predict(self, {sig}):", *render(body, 2, False),
                f"        return {ret}", "", f"    def loss(self, {sig}):",
                f"        return self.scale * self.predict({sig})", "", "",
                f"model = Model({scale})", f"{fname} = model.loss"]
        b.used.add("method_entry")
    else:
        main = [f"def _body({sig}):", *render(body, 1, False), f"    return {ret}", "", "",
                "def _make_f(c):", f"    return lambda {sig}: c * _body({sig})", "", "",
                f"{fname} = _make_f({scale})"]
        b.used.add("lambda_entry")
    probe = [f"def _probe_{fname}({sig}):", "    _k = []", *render(body, 1, True),
             "    return _k"]
    head = "\n".join(["import numpy as np"] + sorted(b.imports))
    src = "\n\n\n".join([head] + b.module_defs + b.helpers
                         + ["\n".join(main), "\n".join(probe), PROBE_HELPERS.rstrip()])
    return Program(src + "\n", fname, specs, wrt, b.tape_ok, frozenset(b.used))


# The constructs added for user-style Python: the tag a program carries in
# ``Program.features`` when it has one, and patterns its entry source (before
# ``def _probe_``) must then contain. run.py tallies them; tests/test_fuzz.py checks that
# the generator emits each one and that the tags tell the truth.
CONSTRUCTS = {
    "mod:%": [r"\S % \S"],
    "mod:np.mod": [r"np\.mod\("],
    "mod:np.remainder": [r"np\.remainder\("],
    "mod:math.fmod": [r"^import math$", r"math\.fmod\("],
    "mod_expr_divisor": [r"(% |, )\((1\.0 \+ \(|1\.5 \+ np\.tanh\()"],
    "item": [r"[)\]]\.item\(\)"],
    "float_call": [r"float\(np\.(sum|mean)\("],
    "method_entry": [r"^class Model:$", r"return self\.scale \* self\.predict\(",
                     r"^f = model\.loss$"],
    "method": [r"^class Helper\d+:$", r"return (self\.c \* )?self\.core\(",
               r"= obj\d+\.apply\("],
    "default": [r"^\s*def \w+\((self, )?[\w, ]*scale=[-\d.]+\):$"],
    "kwonly": [r"^\s*def \w+\((self, )?[\w, ]*\*, k=[-\d.]+\):$"],
    "default_omitted": [],          # the call forms are checked on the AST in test_fuzz.py
    "default_keyword": [r"\b(scale|k)="],
    "default_positional": [],
    "keyword_call": [r"\(p0="],
    "dataclass_arg": [r"^@dataclass\nclass Params:$", r"\bp\.(w|b)\b"],
    "dataclass_wrt": [r"^@dataclass\nclass Params:$"],
    "lambda_plain": [r"^\s+lam\d+ = lambda v: "],
    "lambda_closure": [r"^\s+lam\d+ = lambda v: v \* np\.cos\("],
    "lambda_two": [r"^\s+lam\d+ = lambda u, v: "],
    "lambda_curried": [r"^make = lambda a: lambda v: v \* a", r"make\(-?[\d.]+\)\("],
    "lambda_entry": [r"^def _make_f\(c\):$", r"^    return lambda [\w, ]*: c \* _body\(",
                     r"^f = _make_f\("],
}


def entry_source(source):
    """The program without its probe (what a regression case keeps)."""
    return source.split("def _probe_")[0]


# the named feature mixes the CI fuzz and the long runs draw programs from
STRATEGIES = {
    "straight": STRAIGHT,
    "control": CONTROL,
    "inplace_helpers_containers": frozenset({"index", "linalg", "inplace", "helper",
                                             "container", "append", "loop", "method",
                                             "signature", "dataclass", "lambda", "item"}),
    "everything": ALL_FEATURES,
}
