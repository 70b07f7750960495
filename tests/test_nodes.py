"""The tree utilities the optimiser relies on: ``fingerprint`` (its CSE key and
fixpoint test) must tell trees apart exactly as ``gast.dump`` does, and ``clone``
must copy as ``copy.deepcopy`` does."""

from __future__ import annotations

import copy
from pathlib import Path

import gast
import pytest

from sourcediff import nodes as N

# pairs that differ only in where a child sits, or in a constant's type or sign
DIFFERENT = [
    ("x[:-1]", "x[::-1]"),  # found by the fuzzer: CSE merged these two
    ("x[1:]", "x[:1]"),
    ("x[1:2]", "x[1::2]"),
    ("f(1)", "f(1.0)"),
    ("f(1)", "f(True)"),
    ("f(0.0)", "f(-0.0)"),
    ("f('1.0')", "f(1.0)"),
    ("{**a, 'k': b}", "{'k': b, **a}"),
    ("a if b else c", "a if c else b"),
    ("f(a)(b)", "f(a(b))"),
    ("a - b - c", "a - (b - c)"),
    ("f(x, *y)", "f(*x, y)"),
    ("lambda a, b=1: a", "lambda a=1, b=None: a"),
]


@pytest.mark.parametrize("a, b", DIFFERENT, ids=[f"{a} vs {b}" for a, b in DIFFERENT])
def test_fingerprint_tells_apart_what_dump_tells_apart(a, b):
    ta, tb = N.parse_expr(a), N.parse_expr(b)
    assert gast.dump(ta) != gast.dump(tb)
    assert N.fingerprint(ta) != N.fingerprint(tb)
    assert N.fingerprint(ta) == N.fingerprint(N.parse_expr(a))


def _corpus_statements():
    tests = Path(__file__).parent
    out = []
    for path in [tests / "corpus.py", tests / "tangent_functions.py"]:
        for node in N.walk(gast.parse(path.read_text())):
            if isinstance(node, (gast.stmt, gast.expr)):
                out.append(node)
    return out


def test_fingerprint_partitions_the_corpus_as_dump_does():
    """Every statement and expression of the test corpus: two have the same
    fingerprint exactly when they have the same dump."""
    by_dump, by_fp = {}, {}
    for node in _corpus_statements():
        d, f = gast.dump(node), N.fingerprint(node)
        by_dump.setdefault(d, f)
        by_fp.setdefault(f, d)
        assert by_dump[d] == f and by_fp[f] == d, gast.dump(node)
    assert len(by_dump) > 2000


def test_clone_copies_like_deepcopy():
    tree = gast.parse((Path(__file__).parent / "corpus.py").read_text())
    tree.body[0].sd_note = {"k": [1]}  # an annotation a pass might leave
    twin = tree.body[1]
    tree.body.append(twin)  # the same node twice
    new = N.clone(tree)
    assert gast.dump(new) == gast.dump(tree) == gast.dump(copy.deepcopy(tree))
    old_nodes = {id(n) for n in N.walk(tree)}
    assert not any(id(n) in old_nodes for n in N.walk(new))  # nothing shared
    assert new.body[1] is new.body[-1]  # shared once, copied once
    assert new.body[0].sd_note == {"k": [1]} and new.body[0].sd_note is not tree.body[0].sd_note
