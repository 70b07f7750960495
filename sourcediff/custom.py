"""``@primitive``: user functions with user-written derivative rules.

``f = primitive(f)`` makes ``f`` opaque to the compiler and the tape; its
adjoint is ``f.defvjp(rule)`` with ``rule(g, ans, *args) -> tuple`` (one
cotangent per positional argument, ``None`` for "no gradient"), and its
tangent ``f.defjvp(rule)`` with ``rule(tangents, ans, *args) -> tangent``,
where ``tangents`` holds one tangent per argument (``None`` when inactive).
"""

from __future__ import annotations

import functools
import inspect

from . import registry
from .errors import MissingRuleError


class Primitive:
    """A user function the differentiators call but never look inside."""

    def __init__(self, fn):
        functools.update_wrapper(self, fn)
        self.fn = fn
        try:
            params = [p.name for p in inspect.signature(fn).parameters.values()]
        except (TypeError, ValueError):
            params = []
        self.rule = registry.register_user_primitive(self, ", ".join(params))
        self.rule.name = getattr(fn, "__qualname__", getattr(fn, "__name__", "primitive"))

    def __call__(self, *args, **kwargs):
        for a in (*args, *kwargs.values()):      # a tape tracer records the call
            hook = getattr(a, "_sd_call_primitive", None)
            if hook is not None:
                return hook(self, args, kwargs)
        return self.fn(*args, **kwargs)

    def defvjp(self, rule):
        """Set the adjoint: ``rule(g, ans, *args) -> tuple of cotangents``."""
        self.rule.user_vjp = rule
        return rule

    def defjvp(self, rule):
        """Set the tangent: ``rule(tangents, ans, *args) -> tangent of ans``."""
        self.rule.user_jvp = rule
        return rule

    def vjp_or_raise(self):
        if self.rule.user_vjp is None:
            raise MissingRuleError(
                f"primitive '{self.rule.name}' has no reverse rule",
                hint=f"add one with {self.rule.name}.defvjp(lambda g, ans, *args: (...,))")
        return self.rule.user_vjp

    def jvp_or_raise(self):
        if self.rule.user_jvp is None:
            raise MissingRuleError(
                f"primitive '{self.rule.name}' has no forward rule",
                hint=f"add one with {self.rule.name}.defjvp(lambda tangents, ans, *args: ...)")
        return self.rule.user_jvp

    def __repr__(self):
        rule = self.__dict__.get("rule")      # repr may run before __init__ sets it
        name = rule.name if rule else getattr(self.fn, "__name__", "?")
        return f"<sourcediff.primitive {name}>"


def primitive(fn):
    """Mark ``fn`` as opaque; give it rules with ``.defvjp`` / ``.defjvp``."""
    return Primitive(fn)
