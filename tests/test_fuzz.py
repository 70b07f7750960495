"""Differential fuzzing: random programs, three gradients, forward vs reverse.

CI runs a short, derandomized fuzz (a few hundred programs, < 60 s); the long
run is ``pytest -m fuzz tests/test_fuzz.py`` (10,000+ programs, see
docs/fuzzing.md). A failure prints the shrunk program; set
``SOURCEDIFF_FUZZ_SAVE=<dir>`` to also write it there as a regression case
(move it into tests/regressions/ once you have confirmed it is a real bug).
"""

from __future__ import annotations

import ast
import collections
import os
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz.check import FuzzMismatch, check_program, save_regression
from fuzz.generate import CONSTRUCTS, STRATEGIES, entry_source, programs

STATS = collections.Counter()

CI_EXAMPLES = {"straight": 70, "control": 60, "inplace_helpers_containers": 50,
               "everything": 50}
LONG_EXAMPLES = int(os.environ.get("SOURCEDIFF_FUZZ_EXAMPLES", "2600"))


def _run(prog, seed, counts=None):
    try:
        result = check_program(prog, seed)
    except FuzzMismatch:
        target = os.environ.get("SOURCEDIFF_FUZZ_SAVE")
        if target:
            os.makedirs(target, exist_ok=True)
            save_regression(prog, seed, "found by tests/test_fuzz.py", target, bug="unconfirmed")
        raise
    STATS[result.status] += 1
    if counts is not None:
        counts[result.status] += 1


def _test(features, examples, derandomize, max_stmts=6, counts=None):
    @settings(max_examples=examples, deadline=None, derandomize=derandomize, database=None,
              suppress_health_check=list(HealthCheck), print_blob=True)
    @given(prog=programs(features, max_stmts=max_stmts), seed=st.integers(0, 2**32 - 1))
    def inner(prog, seed):
        _run(prog, seed, counts)
    return inner


# the share of a CI run's programs whose derivatives are actually compared (not skipped near a
# kink, masked by a known bug or declined): a run that checks (almost) nothing fails
MIN_CHECKED = 0.8


def checked_enough(counts):
    """Whether a run's statuses show enough programs really compared."""
    total = sum(counts.values())
    return total > 0 and counts["ok"] >= MIN_CHECKED * total


def test_checked_enough_can_fail():
    assert checked_enough(collections.Counter(ok=8, skipped=1, known=1))
    assert not checked_enough(collections.Counter())
    assert not checked_enough(collections.Counter(ok=7, skipped=2, declined=1))


def test_the_suite_has_no_test_that_cannot_fail(request):
    """(pyproject.toml) An empty parametrisation fails at collection instead of being
    skipped, and an xfail that passes fails."""
    assert request.config.getini("empty_parameter_set_mark") == "fail_at_collect"
    assert request.config.getini("xfail_strict") is True


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_fuzz_ci(name):
    """A short deterministic fuzz of each strategy (runs in CI)."""
    counts = collections.Counter()
    _test(STRATEGIES[name], CI_EXAMPLES[name], derandomize=True, max_stmts=4, counts=counts)()
    print(f"\n[{name}] {dict(counts)}")
    assert checked_enough(counts), f"{name}: too few programs compared: {dict(counts)}"


@pytest.mark.fuzz
@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_fuzz_long(name):
    """The long run: ``pytest -m fuzz tests/test_fuzz.py`` (4 x 2,600 programs by default)."""
    counts = collections.Counter()
    _test(STRATEGIES[name], LONG_EXAMPLES, derandomize=False, counts=counts)()
    print(f"\n[{name}] {dict(counts)}")
    assert checked_enough(counts), f"{name}: too few programs compared: {dict(counts)}"


# --- the generator emits what it claims ---------------------------------------------------
STATS_STRATEGIES = ("everything", "inplace_helpers_containers", "straight")
STATS_PROGRAMS = 120   # per strategy: about 240 distinct programs, 2 s
STATS_MIN = 3          # each construct in at least this many distinct programs


def _drawn(features, n):
    """``n`` programs (derandomized, not checked: generation only, about a second)."""
    out = []

    @settings(max_examples=n, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(prog=programs(features))
    def inner(prog):
        out.append(prog)
    inner()
    return out


def _extra_param_calls(source):
    """How each call of a generated helper with an extra parameter (``scale=`` or
    ``*, k=``) passes it: "omit", "keyword" or "position" (read from the AST)."""
    tree = ast.parse(entry_source(source))
    sigs = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name.startswith("helper"):
            sigs[node.name] = node.args
        if isinstance(node, ast.ClassDef) and node.name.startswith("Helper"):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "apply":
                    sigs["obj" + node.name[len("Helper"):] + ".apply"] = item.args
    forms = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        args = sigs.get(ast.unparse(node.func))
        if args is None:
            continue
        required = [a.arg for a in args.args if a.arg not in ("self", "scale")]
        extra = [a.arg for a in args.args + args.kwonlyargs if a.arg in ("scale", "k")]
        if not extra:
            continue
        if extra[0] in {k.arg for k in node.keywords}:
            forms.append("keyword")
        elif len(node.args) > len(required):
            forms.append("position")
        else:
            forms.append("omit")
    return forms


def test_generator_emits_the_user_python_constructs():
    """Each construct of ``generate.CONSTRUCTS`` (``%``/mod/remainder/fmod, ``.item()``,
    ``float()``, methods calling methods, a bound-method entry, defaults, keyword-only
    parameters and keyword calls, a dataclass argument, local, closure, curried and entry
    lambdas) shows up in at least STATS_MIN distinct generated programs, and every
    program tagged with one has the source that construct needs (for the extra
    parameter's call forms: checked on the AST)."""
    progs = {p.source: p for name in STATS_STRATEGIES
             for p in _drawn(STRATEGIES[name], STATS_PROGRAMS)}.values()
    counts = collections.Counter()
    for prog in progs:
        entry = entry_source(prog.source)
        for tag, patterns in CONSTRUCTS.items():
            if tag not in prog.features:
                continue
            counts[tag] += 1
            for pattern in patterns:
                assert re.search(pattern, entry, re.MULTILINE), (tag, pattern, entry)
        forms = _extra_param_calls(prog.source)
        for tag, form in (("default_omitted", "omit"), ("default_keyword", "keyword"),
                          ("default_positional", "position")):
            assert (tag in prog.features) == (form in forms), (tag, forms, entry)
        if "dataclass_wrt" in prog.features:
            wrt = prog.wrt if isinstance(prog.wrt, tuple) else (prog.wrt,)
            index = [spec[0] for spec in prog.args].index("dataclass")
            assert "p" in wrt or index in wrt, (prog.wrt, prog.args)
    rare = {tag: counts[tag] for tag in CONSTRUCTS if counts[tag] < STATS_MIN}
    assert not rare, f"constructs the generator (almost) never emits: {rare}"


def test_strategies_share_out_the_new_constructs():
    """The CI fuzz draws ``%`` and ``.item()`` in straight-line code too, and methods,
    signatures and dataclasses where helpers and containers are (not only in
    ``everything``)."""
    assert {"mod", "item", "lambda"} <= STRATEGIES["straight"] <= STRATEGIES["control"]
    assert {"method", "signature", "dataclass", "lambda"} <= \
        STRATEGIES["inplace_helpers_containers"]
    tags = collections.Counter(t for prog in _drawn(STRATEGIES["straight"], 60)
                               for t in prog.features)
    assert tags["mod:%"] + tags["mod:np.mod"] + tags["mod:np.remainder"] > 0
    assert tags["item"] + tags["float_call"] > 0
