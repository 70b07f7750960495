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


def make_args(specs, rng, low=-1.5, high=1.5):
    """Concrete arguments for ``specs``: ('float',), ('f64',), ('0d',), ('array', shape),
    ('dict', {key: shape})."""
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
        self.used |= e.ops
        return body + [Stmt("assign", f"{name} = {e.text}", e.kinks)]

    def st_if(self, env, depth):
        cond = self.expr(env, (), self.draw(st.integers(0, 2)))
        name = self.fresh("b")
        shape = self._shape(env)
        e_then, e_else = env.copy(), env.copy()
        then = self._branch_var(e_then, depth, name, shape)
        nelif = self.draw(st.integers(0, 2))
        if nelif == 2:   # elif chain
            cond2 = self.expr(env, (), self.draw(st.integers(0, 1)))
            e_mid = env.copy()
            mid = self._branch_var(e_mid, depth, name, shape)
            orelse_body = self._branch_var(e_else, depth, name, shape)
            orelse = [Stmt("if", f"if {_paren(cond2.text)} > 0:", [cond2.text] + cond2.kinks,
                           mid, orelse_body)]
            owned = e_then.owned & e_mid.owned & e_else.owned
        elif nelif == 1 and env.locals:   # no else: update an existing variable
            target = self.pick(sorted(env.locals))
            e = self.fresh_expr(e_then, env.atoms[target], 2)
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
        names = sorted(env.atoms)
        nparams = self.draw(st.integers(1, 2))
        actual = [self.pick(names) for _ in range(nparams)]
        hname = self.fresh("helper")
        henv = Env()
        kinks, self.allow_kinks = self.allow_kinks, False
        params = []
        for k, a in enumerate(actual):
            p = f"p{k}"
            params.append(p)
            henv.atoms[p] = env.atoms[a]
            henv.locals.add(p)
        body = self.block(henv, self.draw(st.integers(0, 2)), depth - 1, in_helper=True)
        ret_shapes = [self.pick(sorted(set(henv.atoms.values()) | {()}))]
        if self.coin(0.3):
            ret_shapes.append(self.pick(sorted(set(henv.atoms.values()) | {()})))
        rets = [self.fresh_expr(henv, s, 2) for s in ret_shapes]
        self.allow_kinks = kinks
        lines = [f"def {hname}({', '.join(params)}):"]
        lines += render(body, 1, probe=False)
        lines.append(f"    return {', '.join(r.text for r in rets)}")
        self.helpers.append("\n".join(lines))
        targets = [self.fresh("r") for _ in rets]
        for t, s in zip(targets, ret_shapes):
            env.atoms[t] = s
            env.locals.add(t)
        self.used.add("helper")
        return [Stmt("assign", f"{', '.join(targets)} = {hname}({', '.join(actual)})")]

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


PRELUDE = '''import numpy as np


def _dist(v):
    return float(np.min(np.abs(v))) if np.size(v) else float("inf")


def _gap(a, axis):
    s = np.sort(np.asarray(a, dtype=float), axis=-1 if axis is None else axis)
    if axis is None:
        s = np.sort(np.ravel(a))
        return s[-1] - s[-2] if s.size > 1 else 1.0
    s = np.moveaxis(s, axis, -1)
    return s[..., -1] - s[..., -2] if s.shape[-1] > 1 else 1.0
'''

ALL_FEATURES = frozenset({"index", "linalg", "shape", "prod", "nonsmooth", "branch", "loop",
                          "inplace", "helper", "container", "append"})
STRAIGHT = frozenset({"index", "linalg", "shape", "prod", "nonsmooth"})
CONTROL = STRAIGHT | {"branch", "loop"}


@st.composite
def programs(draw, features=ALL_FEATURES, max_stmts=6, max_args=4):
    """A random :class:`Program` using the constructs in ``features``."""
    b = Builder(draw, features)
    env = Env()
    nargs = draw(st.integers(1, max_args))
    specs, params = [], []
    for k in range(nargs):
        if "container" in features and k == nargs - 1 and draw(st.integers(0, 4)) == 0:
            keys = (("w", b.pick(BASE_SHAPES[1:])), ("b", b.pick(BASE_SHAPES[1:])))
            specs.append(("dict", keys))
            params.append("d")
            for key, s in keys:
                env.atoms[f"d['{key}']"] = s
            b.used.add("dict_arg")
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
    as_name = b.coin(0.3)
    items = [params[i] if as_name else i for i in chosen_wrt]
    wrt = items[0] if len(items) == 1 and b.coin() else tuple(items)

    fname = "f"
    sig = ", ".join(params)
    main = [f"def {fname}({sig}):", *render(body, 1, False), f"    return {ret}"]
    probe = [f"def _probe_{fname}({sig}):", "    _k = []", *render(body, 1, True),
             "    return _k"]
    src = "\n\n\n".join([PRELUDE.rstrip()] + b.helpers + ["\n".join(main), "\n".join(probe)])
    return Program(src + "\n", fname, specs, wrt, b.tape_ok, frozenset(b.used))


# the named feature mixes the CI fuzz and the long runs draw programs from
STRATEGIES = {
    "straight": STRAIGHT,
    "control": CONTROL,
    "inplace_helpers_containers": frozenset({"index", "linalg", "inplace", "helper",
                                             "container", "append", "loop"}),
    "everything": ALL_FEATURES,
}
