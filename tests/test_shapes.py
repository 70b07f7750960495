"""Shape inference (sourcediff/opt/shapes.py) on small bodies: what it knows, and what it
must not claim to know."""

from __future__ import annotations

import gast
import numpy as np

from sourcediff.opt import shapes


def _env(src, **args):
    body = gast.parse(src).body
    env = dict(args)
    shapes.infer(body, {"np": np, "range": range}, env)
    return env


def test_shape_items_and_attributes_are_ints():
    env = _env("n = x.shape\nm = n[0]\nk = x.shape[1]\nd = x.ndim\nt = x.T", x=(4, 3))
    assert env["m"] == env["k"] == env["d"] == ()
    assert env["t"] == (3, 4)


def test_a_name_is_a_sequence_of_ints_only_if_every_assignment_makes_one():
    env = _env("r = range(3)\na = r[0]\nfor i in r:\n    b = i", x=(4, 3))
    assert env["a"] == env["b"] == ()
    # a range, then an array: the join over both assignments is unknown (never the ints of
    # the range, nor a row of the array)
    env = _env("r = range(3)\nr = A\na = r[0]\nfor row in r:\n    b = row", A=(2, 3))
    assert env["r"] is None and env["a"] is None and env["b"] is None
    env = _env("r = A\na = r[0]\nfor row in r:\n    b = row", A=(2, 3))   # the array only
    assert env["a"] == env["b"] == (3,)
