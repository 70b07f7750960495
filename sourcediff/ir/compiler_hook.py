"""The compiler, as the helpers that generated code calls reach it.

The runtime helpers (:mod:`runtime`, :mod:`splitcall`) are the lowest layer, yet a call
into user code from differentiated code needs the callee's adjoint compiled at run time.
They reach the compiler here, never by importing the layers above: each entry point is
registered (``@provides``) by the module that defines it when that module is imported,
which ``import sourcediff`` does. This module imports nothing from the package.
"""

from __future__ import annotations

_ENTRIES = (
    "adjoint_of",     # compiled: a function's adjoint, cached
    "jvp_adjoint",    # compiled: a function's tangent code, cached
    "adjoint_view",   # compiled: a callee's adjoint as a plain function (for jvp of it)
    "tangent_view",   # compiled: a callee's tangent code as a plain function
    "residual_view",  # compiled: a method's residual form, self held (split_res of it)
    "output_shape_of",  # compiled: a user function's output shape at argument shapes
    "spec_of",        # shapes: the arguments' shapes an adjoint is specialised on
    "kinds_of",       # inplace: the arguments' kinds (fresh arrays are updated in place)
    "gradient_vjp",   # rereverse: vjp of a gradient sourcediff made (reverse over reverse)
    "gradient_adjoint_view",  # rereverse: that vjp as generated code (for forward mode)
    "grad",           # api: the public transforms (pickling remakes a gradient)
    "value_and_grad",
)


class Compiler:
    """The entry points, each set once by the module that defines it."""

    __slots__ = _ENTRIES

    def __getattr__(self, name):  # a slot not filled: its module was never imported
        raise RuntimeError(f"sourcediff's compiler entry point {name!r} is not registered: "
                           "import sourcediff before calling generated code")


compiler = Compiler()


def provides(fn):
    """Register ``fn`` as the entry point of its name (usable as a decorator)."""
    setattr(compiler, fn.__name__, fn)
    return fn
