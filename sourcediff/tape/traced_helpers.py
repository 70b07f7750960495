"""The runtime helpers generated code calls, as the tape runs them inside that code
(:mod:`sourcediff.tape.generated`): each recorded as one operation through its rule, with
its declared non-differentiable parameters plain, a forward-only or rule-less one refused
when a traced value reaches it, generated code's plumbing run as written; and the
functions with a rule NumPy's protocols do not dispatch (a SciPy function written in
Python), read from a global or through a module's attributes."""

from __future__ import annotations

import functools
import types

import numpy as np

from ..prims import facts, registry
from .. import runtime
from ..errors import MissingRuleError
from . import record
from .graph import has_box, is_box, is_constant, unwrap_all
from .shim import traced_float

# the tape's own versions of the helpers that allocate or update buffers and call into
# generated code (name -> function), filled by @_traced_form (in generated.py); the
# tape runs the other helpers as their ``tape`` fact says (facts.of_helper(name).tape)
_TRACED: dict = {}


def _traced_form(name):
    def register(fn):
        _TRACED[name] = fn
        return fn
    return register


def _ruled(value):
    """A function with a rule that NumPy's protocols do not dispatch (a SciPy function
    written in Python, ``scipy.stats.norm.pdf``): recorded through its rule."""
    if value is float:
        return traced_float
    if value is complex:
        return _traced_complex
    if isinstance(value, np.ufunc) or not callable(value) or isinstance(value, type):
        return None
    if str(getattr(value, "__module__", "")).startswith("numpy"):
        return None
    try:
        rule = registry.lookup(value)
    except TypeError:   # unhashable
        return None
    if rule is None or not (rule.vjps or rule.seq_vjps or rule.jvps):
        return None   # (a user primitive records its own rule on traced values)
    return traced_helper(rule.name, value)


def _helper_name(value):
    """The name generated code calls ``value`` by, if it is a helper (``sp_polygamma``)."""
    if len(_NAMES) != len(runtime.HELPERS):
        _NAMES.clear()
        _NAMES.update({id(v): k for k, v in runtime.HELPERS.items() if callable(v)})
    name = _NAMES.get(id(value))
    return name if name is not None and runtime.HELPERS[name] is value else None


_NAMES: dict = {}


class _HelperModule:
    """A module of sourcediff's as traced code sees it: its helpers traced."""

    def __init__(self, module):
        self._module = module

    def __getattr__(self, name):
        value = getattr(self._module, name)
        if runtime.HELPERS.get(name) is value:
            return _TRACED.get(name) or traced_helper(name, value)
        ruled = _ruled(value)
        if ruled is None and (isinstance(value, types.ModuleType) and value.__name__.startswith(
                "scipy") or not isinstance(value, (type, types.FunctionType, types.ModuleType))
                and str(getattr(type(value), "__module__", "")).startswith("scipy.stats")):
            return _HelperModule(value)  # scipy.stats, scipy.stats.dirichlet: .pdf has a rule
        return ruled or value

    def __call__(self, *args, **kwargs):  # (scipy.stats.dirichlet(alpha): frozen)
        return self._module(*args, **kwargs)


def unsupported(name):
    return MissingRuleError(
        f"reverse over reverse cannot run the generated code's call of {name}",
        construct=name, hint="use forward over reverse: hessian(f), hvp(f) or "
                             "jvp(grad(f), ...)")


@functools.lru_cache(maxsize=None)
def traced_helper(name, fn):
    """``fn`` as the tape runs it inside generated code."""
    how = facts.of_helper(name).tape
    if how == "as written":   # generated code's plumbing (only Python containers and ``+``)
        return fn
    if how == "refused":      # forward-mode (tangent) code and run-once calls
        # (the functions building views of generated code, adjoint_fn, tangent_fn..., are
        # non-differentiable: they run on plain values)
        def refuse(*args, **kwargs):
            if has_box(args) or has_box(kwargs):
                raise unsupported(name)
            return fn(*args, **kwargs)
        return refuse
    rule = registry.lookup(fn)
    if registry.is_nondiff(fn) or rule is None:
        if rule is None and not registry.is_nondiff(fn):
            def missing(*args, **kwargs):
                if has_box(args) or has_box(kwargs):
                    raise unsupported(name)
                return fn(*args, **kwargs)
            return missing
        return lambda *args, **kwargs: fn(*unwrap_all(args), **unwrap_all(kwargs))
    if not (rule.vjps or rule.seq_vjps):
        def forward_only(*args, **kwargs):
            if has_box(args) or has_box(kwargs):
                raise record.missing_rule(fn, " (it has a forward rule only)")
            return fn(*args, **kwargs)
        return forward_only

    @functools.wraps(fn)
    def traced(*args, **kwargs):
        top = _top(args, kwargs)
        if top is None:
            return fn(*args, **kwargs)
        bound = rule.bind(args, dict(kwargs))
        boxed_param = False
        for pname, value in bound.items():
            if pname in rule.seq_vjps and isinstance(value, (list, tuple)) and any(
                    is_box(v) and v.level == top and not is_constant(v)
                    for _, v in record.seq_items(value)):
                boxed_param = True
            elif is_box(value) and value.level == top and not is_constant(value):
                boxed_param = True
                if pname not in rule.vjps and pname not in rule.seq_vjps \
                        and pname not in rule.nondiff:
                    raise record.missing_rule(fn, rule.refusal(pname))
        if not boxed_param:   # traced values only inside Python containers: plumbing
            return fn(*_plain_nondiff(rule, args), **{  # (a list argument read for its
                k: unwrap_all(v) if k in rule.nondiff else v  # shape, np.append's arr)
                for k, v in kwargs.items()})
        out = record.record(traced, rule, args, kwargs, strict=False, force=True)
        plain = out.value if is_box(out) else None
        if isinstance(plain, (list, tuple)):  # a list of cotangents: one traced item each
            return type(plain)(out[i] for i in range(len(plain)))
        return out
    return traced


def _plain_nondiff(rule, args):
    """``args`` with the values bound to the rule's non-differentiable parameters plain."""
    out = list(args)
    for i, p in enumerate(rule.params[:len(out)]):
        if p.variadic:
            break
        if p.name in rule.nondiff:
            out[i] = unwrap_all(out[i])
    return out


def _top(args, kwargs):
    box = record.find_top(args, kwargs)
    return None if box is None else box.level


def _traced_complex(real=0.0, imag=0.0):
    """``complex(a, b)`` of traced values, through its rule."""
    if has_box((real, imag)):
        return record.call_rule(complex, (real, imag), {})
    return complex(real, imag)
