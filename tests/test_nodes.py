"""The tree utilities the optimiser relies on: ``fingerprint`` (its CSE key and
fixpoint test) must tell trees apart exactly as ``gast.dump`` does, and ``clone``
must copy as ``copy.deepcopy`` does."""

from __future__ import annotations

import copy
from pathlib import Path

import gast
import pytest

from sourcediff.ir import nodes as N

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


def test_node_facts_are_annotations_a_copy_shares_until_one_changes():
    stmt = N.assign("y", N.name("x"))
    assert N.anno(stmt, "pop") is None and N.anno(stmt, "first", False) is False
    assert not N.has_anno(stmt, "pop")
    N.set_anno(stmt, "pop", "y")
    twin = N.clone(stmt)
    assert N.anno(twin, "pop") == "y"
    N.set_anno(twin, "pop", "z")  # changing the copy's fact leaves the original's
    N.set_anno(twin, "site", 7)
    assert N.anno(stmt, "pop") == "y" and not N.has_anno(stmt, "site")
    N.del_anno(twin, "pop")
    assert not N.has_anno(twin, "pop") and N.anno(twin, "site") == 7
    assert N.anno(stmt, "pop") == "y"


def test_the_reverse_pass_starts_at_its_marker_not_at_a_comment_of_that_text():
    body = [N.comment("reverse pass"), N.assign("y", N.name("x")), N.reverse_mark(),
            N.assign("x_bar", N.name("y_bar"))]
    assert N.reverse_start(body) == 2  # a plain comment with the same words is no marker
    assert N.reverse_start(body[:2]) == 2  # none: the whole body is the forward pass
    assert N.reverse_start(N.clone(body)) == 2  # the mark survives a copy
    assert N.is_comment(body[2]) and body[2].value.value == "reverse pass"  # printed as before
