"""The optimiser stops once every pass, in a row, reports that it changed nothing.

So a pass that changes the tree must say so (else optimisation stops early), and
one that says so must have changed it (else the optimiser loops for nothing).
Checked on half the corpus functions, in reverse and forward mode, against a
structural fingerprint of the tree before and after each pass.
"""

from __future__ import annotations

import numpy as np
import pytest
from corpus import CASES

from sourcediff import driver, nodes, optimize
from sourcediff.errors import SourceDiffError
from sourcediff.inplace import kinds_of
from sourcediff.shapes import spec_of
from sourcediff.structure import resolve_wrt


@pytest.fixture
def checked_passes(monkeypatch):
    """Every pass run, with its report and what it did."""
    runs = []
    real = optimize.Optimizer.passes

    def passes(self):
        def check(p):
            def run(fdef):
                before = nodes.fingerprint(fdef)
                said = p(fdef)
                runs.append((getattr(p, "__name__", p), said, nodes.fingerprint(fdef) != before))
                return said
            return run
        return tuple(check(p) for p in real(self))
    monkeypatch.setattr(optimize.Optimizer, "passes", passes)
    return runs


SAMPLE = CASES[::2]  # half the corpus: the fingerprints make this slow


@pytest.mark.parametrize("case", SAMPLE, ids=[c.id for c in SAMPLE])
def test_each_pass_reports_exactly_whether_it_changed_the_code(case, checked_passes):
    args = case.args(np.random.default_rng(0))
    wrt, _ = resolve_wrt(case.fn, case.wrt)
    try:
        driver.build_adjoint(case.fn, wrt, specialize=spec_of(args), kinds=kinds_of(args))
        driver.build_jvp(case.fn, wrt, specialize=spec_of(args))
    except SourceDiffError:
        pass  # refused (a primitive without a forward rule, say): whatever ran is checked
    wrong = [(name, said, did) for name, said, did in checked_passes if said != did]
    assert not wrong, f"passes that misreported (name, said, did): {wrong}"
    assert any(said for _, said, _ in checked_passes)
