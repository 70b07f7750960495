"""The rule table's machinery: what a derivative rule is, and how to add one.

A rule is written once, as small Python expression templates, and used twice:

* the compiler parses each template and inlines it into the generated adjoint,
  substituting the call's own argument names for the parameter names;
* the runtime tape compiles each template into a callable (``Rule.vjp_fn``).

Template vocabulary
    ``g``        the cotangent of the output (reverse mode)
    ``ans``      the output value
    ``x, y, ..`` the primitive's parameters, named as in ``params``
    ``dx, ..``   the tangent of parameter ``x`` (forward mode)
    ``np``, ``math`` and the helpers in :mod:`sourcediff.runtime`

A reverse template gives the contribution to one parameter's cotangent. A
forward template gives one parameter's term of the output tangent, linear in
its ``d<param>``; the output tangent is the sum of the active terms.
``broadcast=True`` marks an elementwise op whose operands broadcast: the
machinery sums each cotangent back to its operand's shape (``unbroadcast``)
and broadcasts each tangent term to the output's shape, and the compiler
leaves both out where it knows the shapes already agree.

``deriv=`` gives both templates of an elementwise function from its local derivative:
``deriv="np.cosh(x)"`` is ``g * np.cosh(x)`` in reverse mode and ``dx * np.cosh(x)`` in
forward mode (one per parameter, like ``vjp``). ``linear=True`` declares a function linear
in its first parameter: its forward template is the function applied to that tangent
(``np.reshape(da, shape)``).

The other keywords of ``defrule`` and ``defnondiff`` are the call's facts (shape, dtype,
aliasing, purity...: :mod:`sourcediff.prims.facts`), declared with its derivative.
"""

from __future__ import annotations

import ast
import inspect
from dataclasses import dataclass, field

from ..ir import nodes as N
from .. import runtime
from .facts import defchanging, deffacts, defhelper  # noqa: F401 (the rules modules declare)
from .facts import key as _key
from .facts import same as _same

_RULES: dict = {}          # id(function) -> Rule
_KEEPALIVE: list = []       # keep keyed objects alive so ids stay unique
_NONDIFF: dict = {}        # id(function) -> function (outputs carry no gradient)
_METHODS: dict = {}        # array method name -> function it stands for
_VIA: dict = {}            # id(function) -> (function, its NumPy definition)


@dataclass
class Param:
    name: str
    default: object = inspect.Parameter.empty
    variadic: bool = False     # ``*arrays``: a sequence of operands

    @property
    def required(self):
        return self.default is inspect.Parameter.empty and not self.variadic


@dataclass
class Rule:
    """Derivative rules of one primitive."""

    name: str
    fn: object
    params: list
    vjps: dict = field(default_factory=dict)    # param -> template source
    jvps: dict = field(default_factory=dict)    # param -> template source
    broadcast: bool = False
    seq_vjps: dict = field(default_factory=dict)  # variadic param -> template giving a list
    nondiff: frozenset = frozenset()  # params declared to carry no gradient (None, axis=...)
    user_vjp: object = None    # callable rule(g, ans, *args) -> tuple (primitive())
    user_jvp: object = None
    user: bool = False         # a user @primitive (register_user_primitive)
    complex_only: frozenset = frozenset()  # params whose rule is for complex values only
    why: dict = field(default_factory=dict)  # refused param -> the reason, for the error
    _vjp_fns: dict = field(default_factory=dict)
    _jvp_fns: dict = field(default_factory=dict)

    @property
    def param_names(self):
        return [p.name for p in self.params]

    def refuses(self, param, mode="rev"):
        """A differentiated value bound to ``param`` has no rule here (an error, never
        a silent zero): no template, and not declared non-differentiable."""
        table = self.vjps if mode == "rev" else self.jvps
        if self.user:
            return False  # a user @primitive: its own callables decide (custom.py)
        return (param not in table and param not in self.seq_vjps
                and param not in self.nondiff)

    def refusal(self, param):
        """The refused parameter, as an error message names it (with the reason where the
        rule states one)."""
        why = self.why.get(param)
        return f" with respect to its argument '{param}'" + (f" ({why})" if why else "")

    def template(self, param, mode="rev"):
        """The parsed template of ``param``'s rule in ``mode`` (``"rev"``: its VJP, else its
        JVP), or None: shared, to be copied by :func:`~sourcediff.ir.nodes.instantiate`."""
        table = self.vjps if mode == "rev" else self.jvps
        src = table.get(param)
        if src is None:
            return None
        return parse_template(src)

    # -- the tape's view of the same rule ---------------------------------
    def vjp_fn(self, param):
        """``f(g, ans, *params) -> cotangent`` for one parameter (or None)."""
        if param not in self._vjp_fns:
            src = self.vjps.get(param) or self.seq_vjps.get(param)
            self._vjp_fns[param] = None if src is None else _compile_lambda(
                ["g", "ans", *self.param_names], src, self.name)
        return self._vjp_fns[param]

    def jvp_fn(self, param):
        """``f(ans, d<param>, *params) -> tangent term`` for one parameter."""
        if param not in self._jvp_fns:
            src = self.jvps.get(param)
            self._jvp_fns[param] = None if src is None else _compile_lambda(
                ["ans", "d" + param, *self.param_names], src, self.name)
        return self._jvp_fns[param]

    def bind(self, args, kwargs):
        """Map call arguments to parameter names (like ``inspect.signature.bind``)."""
        bound = {}
        args = list(args)
        for p in self.params:
            if p.variadic:
                bound[p.name] = tuple(args)
                args = []
            elif args:
                bound[p.name] = args.pop(0)
            elif p.name in kwargs:
                bound[p.name] = kwargs.pop(p.name)
            elif not p.required:
                bound[p.name] = p.default
            else:
                raise TypeError(f"{self.name}() missing argument '{p.name}'")
        if args or kwargs:
            raise TypeError(f"{self.name}() got unexpected arguments")
        return bound


_TEMPLATE_CACHE: dict = {}


def parse_template(src):
    """Parse an expression template into a gast expression (cached and shared: never
    changed, but copied with its parameters by :func:`~sourcediff.ir.nodes.instantiate`)."""
    if src not in _TEMPLATE_CACHE:
        _TEMPLATE_CACHE[src] = N.parse_expr(src)
    return _TEMPLATE_CACHE[src]


def _compile_lambda(argnames, src, name):
    ns = {"np": runtime.np, "math": runtime.math}
    ns.update(runtime.HELPERS)
    code = f"lambda {', '.join(argnames)}: {src}"
    return eval(compile(code, f"<rule {name}>", "eval"), ns)


def _split_params(spec):
    """``spec`` split at its top-level commas (a default may be a tuple: ``axes=(-2, -1)``)."""
    parts, depth, start = [], 0, 0
    for i, c in enumerate(spec):
        depth += (c in "([{") - (c in ")]}")
        if c == "," and depth == 0:
            parts.append(spec[start:i])
            start = i + 1
    return [p.strip() for p in parts + [spec[start:]] if p.strip()]


def _parse_params(spec):
    params = []
    for part in _split_params(spec):
        if part.startswith("*"):
            params.append(Param(part[1:], variadic=True))
        elif "=" in part:
            name, default = part.split("=", 1)
            params.append(Param(name.strip(), eval(default, {"np": runtime.np})))
        else:
            params.append(Param(part))
    return params


def defrule(fns, params, vjp=(), jvp=(), *, broadcast=False, name=None, seq_vjp=None,
            refuse=(), deriv=None, linear=False, complex_only=(), why=None, **facts):
    """Register one rule for one or more aliases (``np.sin`` and ``math.sin``...).

    ``vjp`` and ``jvp`` are tuples aligned with the non-variadic parameters
    (``None`` declares a parameter non-differentiable: indices, conditions) or dicts by
    name. A parameter past the end of the tuple is non-differentiable if it has a default
    (``axis=None``); one without a default and without a rule is refused when a
    differentiated value reaches it, and so is each parameter named in ``refuse`` (one
    the output depends on in a way no rule states: ``np.random.normal``'s ``loc``).

    ``deriv`` (instead of ``vjp`` and ``jvp``) gives each parameter's local derivative,
    ``linear=True`` the forward template of a function linear in its first parameter, and
    the other keywords the call's :class:`~sourcediff.prims.facts.Facts`.

    ``complex_only`` names parameters whose templates are for complex values: for a real
    argument the function is piecewise constant there (``np.sign``), and an adjoint the
    compiler specialises to real arguments has no line for it. ``why`` maps a refused
    parameter to the reason its error gives.
    """
    if not isinstance(fns, (tuple, list)):
        fns = (fns,)
    plist = _parse_params(params)
    names = [p.name for p in plist if not p.variadic]
    if deriv is not None:
        if vjp or jvp:
            raise TypeError("defrule: give deriv= or vjp= and jvp=, not both")
        vjp, jvp = _from_deriv(names, deriv)
    vjps = dict(vjp) if isinstance(vjp, dict) else dict(zip(names, vjp))
    jvps = dict(jvp) if isinstance(jvp, dict) else dict(zip(names, jvp))
    if linear:
        if jvp:
            raise TypeError("defrule: give linear=True or jvp=, not both")
        first, *rest = names
        jvps = {first: f"{name or qualified_name(fns[0])}({', '.join(['d' + first, *rest])})"}
    nondiff = frozenset({k for k, v in vjps.items() if v is None} | {
        p.name for p in plist if p.name not in vjps and not p.required and not p.variadic}) - set(
        refuse)
    vjps = {k: v for k, v in vjps.items() if v is not None}
    jvps = {k: v for k, v in jvps.items() if v is not None}
    rule = None
    for fn in fns:
        rule = Rule(name or qualified_name(fn), fn, plist, vjps, jvps, broadcast,
                    dict(seq_vjp or {}), nondiff, complex_only=frozenset(complex_only),
                    why=dict(why or {}))
        _RULES[_key(fn)] = rule
        _KEEPALIVE.append(fn)
    deffacts(*fns, **facts)
    return rule


def _scaled(d, g):
    """The template ``g`` times the local derivative ``d``, written as a person would:
    ``-np.sin(x)`` gives ``-g * np.sin(x)``, ``1 / x`` gives ``g / x``, ``1 + x`` gives
    ``g * (1 + x)``."""
    top = ast.parse(d, mode="eval").body
    if not (_enclosed(d) or isinstance(top, ast.BinOp) and isinstance(top.op, (ast.Mult, ast.Div))
            or isinstance(top, (ast.UnaryOp, ast.Call, ast.Name, ast.Attribute, ast.Subscript,
                                ast.Constant))):
        return f"{g} * ({d})"  # a sum, a comparison...: in parentheses
    sign, body = ("-", d[1:]) if d.startswith("-") else ("", d)
    if body.startswith("1 / "):
        return f"{sign}{g} / {body[4:]}"
    return f"{sign}{g} * {body}"


def _enclosed(d):
    """``d`` is one parenthesised expression: ``(a - b)``, not ``(a) - (b)``."""
    depth = 0
    for i, c in enumerate(d):
        depth += (c == "(") - (c == ")")
        if depth == 0:
            return i == len(d) - 1 and d[0] == "("
    return False


def _from_deriv(names, deriv):
    """The reverse and forward templates (dicts by parameter) of local derivatives."""
    if isinstance(deriv, str):
        deriv = (deriv,)
    if not isinstance(deriv, dict):
        deriv = dict(zip(names, deriv))
    vjp = {p: None if d is None else _scaled(d, "g") for p, d in deriv.items()}
    jvp = {p: None if d is None else _scaled(d, "d" + p) for p, d in deriv.items()}
    return vjp, jvp


def defnondiff(*fns, **facts):
    """Functions whose outputs never carry a gradient (``np.sign``, ``len``...); the
    keywords are their :class:`~sourcediff.prims.facts.Facts`."""
    for fn in fns:
        _NONDIFF[_key(fn)] = fn
        _KEEPALIVE.append(fn)
    deffacts(*fns, **facts)


def defmethod(name, fn):
    """``x.name(...)`` on an array means ``fn(x, ...)``."""
    _METHODS[name] = fn


def defvia(fns, definition):
    """``fns`` (aliases of one library function) are differentiated through
    ``definition``: the same function written with NumPy operations that have rules
    (:mod:`sourcediff.prims.definitions`). The compiler reads it as it reads user code,
    the tape runs it, so every mode and order follows from the table; no template."""
    if not isinstance(fns, (tuple, list)):
        fns = (fns,)
    for fn in fns:
        _VIA[_key(fn)] = (fn, definition)
        _KEEPALIVE.append(fn)
    definition.__sourcediff_defines__ = qualified_name(fns[0])


def via(fn):
    """The NumPy definition ``fn`` is differentiated through, or None."""
    hit = _VIA.get(_key(fn))
    return hit[1] if hit is not None and _same(hit[0], fn) else None


def lookup(fn):
    """The rule for ``fn``, or None."""
    rule = _RULES.get(_key(fn))
    if rule is not None and _same(rule.fn, fn):
        return rule
    return None


def is_nondiff(fn):
    return _same(_NONDIFF.get(_key(fn)), fn)


def method_function(name):
    return _METHODS.get(name)


def qualified_name(fn):
    mod = getattr(fn, "__module__", None) or ""
    name = getattr(fn, "__name__", repr(fn))
    if isinstance(fn, runtime.np.ufunc) and getattr(runtime.np, name, None) is not fn:
        return name  # a ufunc from elsewhere (scipy.special.expit ...)
    if isinstance(fn, runtime.np.ufunc) or mod.startswith("numpy"):
        for sub in ("linalg", "fft", "random"):  # the public submodule it is reached by
            if getattr(getattr(runtime.np, sub), name, None) is fn and getattr(
                    runtime.np, name, None) is not fn:
                return f"np.{sub}.{name}"
        public = ".".join(p for p in mod.split(".")[1:] if not p.startswith("_"))
        if public and getattr(runtime.np, name, None) is not fn:  # np.polynomial.polynomial
            return f"np.{public}.{name}"
        return f"np.{name}"
    if mod in ("math", "_operator", "operator"):
        return f"{mod.lstrip('_')}.{name}"
    return f"{mod}.{name}" if mod else name


def register_user_primitive(fn, params):
    """A user ``@primitive``: a rule with callables instead of templates."""
    rule = Rule(qualified_name(fn), fn, _parse_params(params), user=True)
    _RULES[_key(fn)] = rule
    _KEEPALIVE.append(fn)
    return rule
