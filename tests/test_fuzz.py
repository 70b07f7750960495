"""Differential fuzzing: random programs, three gradients, forward vs reverse.

CI runs a short, derandomized fuzz (a few hundred programs, < 60 s); the long
run is ``pytest -m fuzz tests/test_fuzz.py`` (10,000+ programs, see
docs/fuzzing.md). A failure prints the shrunk program; set
``SOURCEDIFF_FUZZ_SAVE=<dir>`` to also write it there as a regression case
(move it into tests/regressions/ once you have confirmed it is a real bug).
"""

from __future__ import annotations

import collections
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz.check import FuzzMismatch, check_program, save_regression
from fuzz.generate import STRATEGIES, programs

STATS = collections.Counter()

CI_EXAMPLES = {"straight": 70, "control": 60, "inplace_helpers_containers": 50,
               "everything": 50}
LONG_EXAMPLES = int(os.environ.get("SOURCEDIFF_FUZZ_EXAMPLES", "2600"))


def _run(prog, seed):
    try:
        result = check_program(prog, seed)
    except FuzzMismatch:
        target = os.environ.get("SOURCEDIFF_FUZZ_SAVE")
        if target:
            os.makedirs(target, exist_ok=True)
            save_regression(prog, seed, "found by tests/test_fuzz.py", target, bug="unconfirmed")
        raise
    STATS[result.status] += 1


def _test(features, examples, derandomize, max_stmts=6):
    @settings(max_examples=examples, deadline=None, derandomize=derandomize, database=None,
              suppress_health_check=list(HealthCheck), print_blob=True)
    @given(prog=programs(features, max_stmts=max_stmts), seed=st.integers(0, 2**32 - 1))
    def inner(prog, seed):
        _run(prog, seed)
    return inner


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_fuzz_ci(name):
    """A short deterministic fuzz of each strategy (runs in CI)."""
    _test(STRATEGIES[name], CI_EXAMPLES[name], derandomize=True, max_stmts=4)()


@pytest.mark.fuzz
@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_fuzz_long(name):
    """The long run: ``pytest -m fuzz tests/test_fuzz.py`` (4 x 2,600 programs by default)."""
    _test(STRATEGIES[name], LONG_EXAMPLES, derandomize=False)()
    print(f"\n[{name}] {dict(STATS)}")
