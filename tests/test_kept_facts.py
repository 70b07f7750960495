"""What the optimiser remembers of each statement (its reads and writes, whether fold
left it as it was) is kept from one run to the next only across stages that change no
statement in place: those that take statements out and put new ones in
(``"statements"`` in ``Stage.kept``, and remat before the run it makes). Checked on the
corpus: every statement such a stage leaves in the tree is, node for node, what it was.
(That the remembered facts are those of the code is checked where the optimiser
runs with ``check_schedule``, tests/test_optimize_passes.py.)
"""

from __future__ import annotations

import pytest
from conftest import build_allowing_refusal
from corpus import CASES

from sourcediff.ir import nodes
from sourcediff.opt import optimize


def _statements(fdef):
    return {id(s): (s, nodes.fingerprint(s)) for block in nodes.blocks(fdef) for s in block
            if not nodes.has_block(s)}


def _unchanged(fdef, before):
    now = _statements(fdef)
    return [nodes.fingerprint(s) for k, (s, fp) in before.items()
            if k in now and now[k][0] is s and now[k][1] != fp]


def _build_checked(case, monkeypatch):
    """Build ``case``'s adjoint, each stage that keeps the statements (and remat) checked;
    (name, whether it said it changed the code) for each of them that ran."""
    seen = []

    def checked(run, name):
        def run_checked(u, *rest):
            fdef = u.fdef if rest == () else u  # (a Unit, or remat's arguments)
            before = _statements(fdef)
            said = run(u, *rest)
            seen.append((name, said))
            assert not _unchanged(fdef, before), name
            return said
        return run_checked
    monkeypatch.setattr(optimize, "STAGES", tuple(
        s._replace(run=checked(s.run, s.name)) if "statements" in s.kept else s
        for s in optimize.STAGES))
    monkeypatch.setattr(optimize, "rematerialise",
                        checked(optimize.rematerialise, "rematerialise"))
    build_allowing_refusal(case)
    return seen


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_stage_that_keeps_the_statements_changes_none_in_place(case, monkeypatch):
    _build_checked(case, monkeypatch)


def test_the_check_has_changes_to_check(monkeypatch):
    """Both kinds of stage change code of the corpus (so the check above checks them)."""
    changed = set()
    for case in CASES:
        changed |= {name for name, said in _build_checked(case, monkeypatch) if said}
        if changed == {"saves nothing reads yet", "saves nothing reads", "rematerialise"}:
            break
    assert changed == {"saves nothing reads yet", "saves nothing reads", "rematerialise"}
    assert {s.name for s in optimize.STAGES if "statements" in s.kept} == {
        "saves nothing reads yet", "saves nothing reads"}
