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
from typing import Callable, Generic

from . import registry
from .._typing import F, P, T
from ..errors import MissingRuleError


class Primitive(Generic[P, T]):
    """A function the differentiators call but never look inside (see :func:`primitive`).

    Calling it calls the wrapped function. Its rules are set with
    :meth:`defvjp` (reverse mode: :func:`grad`, :func:`vjp`, the tape) and
    :meth:`defjvp` (forward mode: :func:`jvp`, :func:`hessian`); a mode whose
    rule is missing raises :class:`MissingRuleError` naming the rule to add.

    Examples
    --------
    >>> from sourcediff import Primitive, primitive
    >>> @primitive
    ... def double(x):
    ...     return 2.0 * x
    >>> isinstance(double, Primitive), double(1.5)
    (True, 3.0)
    """

    def __init__(self, fn: Callable[P, T]) -> None:
        functools.update_wrapper(self, fn)
        self.fn = fn
        try:
            params = [p.name for p in inspect.signature(fn).parameters.values()]
        except (TypeError, ValueError):
            params = []
        self.rule = registry.register_user_primitive(self, ", ".join(params))
        self.rule.name = getattr(fn, "__qualname__", getattr(fn, "__name__", "primitive"))

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> T:
        for a in (*args, *kwargs.values()):      # a tape tracer records the call
            hook = getattr(a, "_sd_call_primitive", None)
            if hook is not None:
                return hook(self, args, kwargs)
        return self.fn(*args, **kwargs)

    def defvjp(self, rule: F) -> F:
        """Set the reverse-mode rule: ``rule(g, ans, *args) -> tuple of cotangents``.

        ``g`` is the cotangent of the output, ``ans`` the output and ``args``
        the call's positional arguments; the rule returns one cotangent per
        argument (``None`` for "no gradient"). Returns ``rule``, so it can be
        used as a decorator.
        """
        self.rule.user_vjp = rule
        return rule

    def defjvp(self, rule: F) -> F:
        """Set the forward-mode rule: ``rule(tangents, ans, *args) -> tangent of ans``.

        ``tangents`` holds one tangent per positional argument (``None`` where
        the argument is not differentiated). Returns ``rule``.
        """
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


def primitive(fn: Callable[P, T]) -> Primitive[P, T]:
    """Make a function opaque to sourcediff, to give it derivative rules of your own.

    The compiler and the tape never read inside a primitive: they call it and
    use the rules set with ``.defvjp`` (reverse mode) and ``.defjvp``
    (forward mode). Use it for functions sourcediff cannot read (compiled
    code, a NumPy function without a rule), for a faster or more stable
    derivative than the one derived from the code (PyTorch's
    ``torch.autograd.Function``, JAX's ``custom_vjp``), or to cut a gradient
    by a rule returning ``None``. Check your rules with :func:`check_grad`.

    Parameters
    ----------
    fn : callable
        The function. Its positional arguments are the ones rules see.

    Returns
    -------
    Primitive
        A callable that calls ``fn``, with ``defvjp(rule)`` and ``defjvp(rule)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sourcediff import grad, jvp, primitive
    >>> @primitive
    ... def relu(x):
    ...     return np.maximum(x, 0.0)
    >>> @relu.defvjp
    ... def relu_vjp(g, ans, x):
    ...     return (g * (x > 0),)
    >>> @relu.defjvp
    ... def relu_jvp(tangents, ans, x):
    ...     return tangents[0] * (x > 0)
    >>> def loss(x):
    ...     return np.sum(relu(x) ** 2)
    >>> grad(loss)(np.array([-1.0, 2.0]))
    array([0., 4.])
    >>> jvp(relu, (np.array([-1.0, 2.0]),), (np.ones(2),))
    (array([0., 2.]), array([0., 1.]))
    """
    return Primitive(fn)
