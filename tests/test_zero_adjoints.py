"""Adjoints known to hold their zero placeholder (sourcediff/ad/zeros.py), and what that
lets shape specialisation drop inside loops (sourcediff/opt/shapes_rewrite.py, saves.prune_unread).

A reverse loop cuts an adjoint back to ``0.0`` (or ``None``) each iteration once it is
consumed; the first contribution of the next iteration is then taken as it is. The
adjoint keeps its primal's shape throughout the loop, so ``unbroadcast``, ``unreduce``,
``scatter_into`` and ``real_cot`` go, and so do the saves only they read (values kept
for their shape). Each case checks the gradient against central differences and the
generated source.
"""

from __future__ import annotations

import re

import astor
import gast
import numpy as np
from generated_checks import checked_source, pushed

from sourcediff.ir import nodes as N
from sourcediff.ad.zeros import zero_adjoints


def _reverse_loop(src):
    return src[src.index("reversed("):]


def pairs(x, v, k):
    for _ in range(6):
        diff = x[:, None, :] - x[None, :, :]
        dist = np.sqrt(np.sum(diff ** 2, axis=2) + 1e-6)
        c = k * (dist - 0.3) / dist
        f = np.sum(c[:, :, None] * diff, axis=1)
        v = v - 0.01 * f
        x = x + 0.01 * v
    return np.sum(x ** 2) + 0.5 * np.sum(v ** 2)


def _pairs_args():
    r = np.random.default_rng(0)
    return r.uniform(0.0, 1.0, (5, 2)), 0.1 * r.standard_normal((5, 2)), 1.3


def test_loop_adjoints_keep_their_shape():
    src = checked_source(pairs, _pairs_args(), (0, 1, 2))
    loop = _reverse_loop(src)
    for helper in ("unbroadcast(", "unreduce(", "scatter_into(", "real_cot(",
                   "scatter_add("):
        assert helper not in loop, helper
    assert not re.search(r"\w+_bar = (0\.0|None)\n", loop)  # no re-zeroing per iteration


def test_values_kept_only_for_their_shape_are_not_saved():
    src = checked_source(pairs, _pairs_args(), (0, 1, 2))
    saved = pushed(src)
    # diff ** 2 (read back only by unreduce for its shape), the sum under the sqrt, the
    # product summed into f, and v (read only before the loop's first pop) are not saved
    assert saved <= {"diff", "dist", "c", "x", "_t8", "_t10"}, saved
    assert "v" not in saved


def _rewrite(src):
    fdef = N.parse_stmts(src)[0]
    zero_adjoints(fdef)
    return astor.to_source(gast.gast_to_ast(fdef))


def test_first_contribution_is_taken_as_it_is():
    out = _rewrite("def f(a, e, g):\n"
                   "    a_bar = 0.0\n"
                   "    a_bar = a_bar + e\n"
                   "    c_bar = None\n"
                   "    c_bar = scatter_into(c_bar, a, 0, g)\n"
                   "    if c_bar is not None:\n"
                   "        e = c_bar * 2\n"
                   "    return a_bar, e\n")
    assert "a_bar = e\n" in out and "0.0" not in out
    assert "scatter_into(None, a, 0, g)" in out and "is not None" not in out


def test_loop_reset_moves_after_the_loop_only_if_read_there():
    out = _rewrite("def f(xs, e):\n"
                   "    d_bar = 0.0\n"
                   "    s = 0.0\n"
                   "    for x in xs:\n"
                   "        d_bar = d_bar + e * x\n"
                   "        s = s + d_bar\n"
                   "        d_bar = 0.0\n"
                   "    return s, d_bar\n")
    body = [ln.strip() for ln in out.splitlines() if ln.startswith(" " * 8)]
    assert body == ["d_bar = e * x", "s = s + d_bar"]
    assert out.index("d_bar = 0.0") > out.index("s = s + d_bar")  # after the loop
    assert "s = 0.0" in out  # an accumulator read before it is written stays


def test_an_adjoint_changed_in_place_keeps_its_own_buffer():
    out = _rewrite("def f(xs, e):\n"
                   "    d_bar = 0.0\n"
                   "    d_bar = d_bar + e\n"
                   "    d_bar[0] += 1.0\n"
                   "    return d_bar\n")
    assert "d_bar = d_bar + e" in out  # d_bar = e would change e


def counted(a, b):
    s = 0.0
    for i in range(4):
        u = np.sin(a * (i + 1)) + b
        s = s + np.sum(u ** 2)
        if i == 2:
            break
    return s


def test_break_leaves_the_loop_alone():
    checked_source(counted, (np.array([0.3, 0.7]), 0.2), (0, 1))


def _only_added_to(src):
    from sourcediff.ad.zeros import only_added_to
    return only_added_to(N.parse_stmts(src))


def test_only_added_to_knows_which_zeros_only_v_plus_e_reads():
    """``only_added_to`` (shape specialisation's fact): a zero adjoint whose symbolic
    ``0.0`` only ``v = v + e`` reads takes the shape of what is added; any other read of
    the zero, in ``e``, a head or another statement, makes it unsafe, and a read after a
    real value is assigned in the same block does not. (The corpus's generated code does
    not tell a wrong answer here from a right one: a pass may change it unseen.)"""
    assert _only_added_to("a_bar = 0.0\na_bar = a_bar + e\n") == {"a_bar"}
    assert _only_added_to("a_bar = 0.0\ny = a_bar * 2.0\n") == set()
    assert _only_added_to("a_bar = 0.0\na_bar = e\ny = a_bar * 2.0\n") == {"a_bar"}
    assert _only_added_to("a_bar = 0.0\na_bar = a_bar + a_bar\n") == set()
    assert _only_added_to("b_bar = 0.0\na_bar = 0.0\na_bar = a_bar + b_bar\n") == {"a_bar"}
    assert _only_added_to("a_bar = 0.0\nif a_bar:\n    y = 1.0\n") == set()
    assert _only_added_to("a_bar = 0.0\nfor i in range(3):\n    a_bar = a_bar + e\n") \
        == {"a_bar"}
    assert _only_added_to("a_bar = 0.0\nif c:\n    a_bar = a_bar + e\n") == {"a_bar"}
    # a loop or branch may not run: a read after it may see the zero
    assert _only_added_to("a_bar = 0.0\nfor i in range(3):\n    a_bar = a_bar + e\n"
                          "y = a_bar\n") == set()
    assert _only_added_to("a_bar = 0.0\nif c:\n    a_bar = e\ny = a_bar\n") == set()
    assert _only_added_to("a_bar = 0.0\nfor i in range(3):\n    y = a_bar\n"
                          "    a_bar = a_bar + e\n") == set()
