"""Type variables and aliases shared by the annotations of the public API.

Typing only: nothing here runs when differentiating. ``grad(f)`` keeps ``f``'s
parameters (``P``); the gradient with respect to the first argument has that
argument's type (``X``); ``T`` is an output and ``A`` auxiliary data.
"""

from __future__ import annotations

from typing import Literal, ParamSpec, Tuple, TypeVar, Union

P = ParamSpec("P")
T = TypeVar("T")
X = TypeVar("X")
A = TypeVar("A")
F = TypeVar("F")

#: an argument chosen by position or by parameter name, or a tuple of them
Wrt = Union[int, str, Tuple[Union[int, str], ...]]
#: how ``grad`` differentiates: the compiler (default) or the runtime tape
Mode = Literal["compile", "tape"]
