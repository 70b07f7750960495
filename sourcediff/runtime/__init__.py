"""Helpers that generated code and rule templates call, gathered by name in ``HELPERS``.

Each helper is small, pure, and itself has a rule in :mod:`sourcediff.prims.rules`,
so generated adjoints stay differentiable (``grad(grad(f))``). This is the lowest
layer that generated code sees. The helpers live in four modules, one idea each:

- :mod:`runtime_broadcast`: broadcasting and reductions (``unbroadcast``, ``unreduce`` ...);
- :mod:`runtime_linalg`: the cotangents of products and norms (matmul, dot, einsum, norm);
- :mod:`runtime_cot`: cotangent values and containers (``like``, ``Stack``,
  ``scatter_add``, ``add_cot``, ``get_cot`` ...) and zero tangents;
- :mod:`runtime_calls`: calls into the compiler (``vjp_call``, ``jvp_call``,
  ``adjoint_fn`` ...), through :mod:`compiler_hook`, never by importing the API.

This module gathers their public helpers into ``HELPERS`` (which the rule modules extend
with their own numeric helpers) and keeps each importable as ``runtime.<name>``.
"""

from __future__ import annotations

import math  # noqa: F401  (rule templates use runtime.math)

import numpy as np  # noqa: F401  (the rule table's templates read runtime.np)

from . import (broadcast as runtime_broadcast, calls as runtime_calls, cot as runtime_cot,
    linalg as runtime_linalg)
# the private helpers other modules (splitcall, the tape, numeric) read as runtime.<name>
from .broadcast import _spread  # noqa: F401
from .calls import _differentiable, _is_method, _made_gradient, _vjp  # noqa: F401
from .cot import _is_basic_index  # noqa: F401

MODULES = (runtime_broadcast, runtime_linalg, runtime_cot, runtime_calls)

HELPERS = {
    name: obj for module in MODULES for name, obj in vars(module).items()
    if callable(obj) and not name.startswith("_")
    and getattr(obj, "__module__", None) == module.__name__
}
globals().update(HELPERS)  # runtime.like, from .runtime import unbroadcast, ...
