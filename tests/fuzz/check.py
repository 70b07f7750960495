"""Run one generated program three ways and compare.

* compiled reverse mode: ``sourcediff.value_and_grad(f, wrt)``
* runtime tape: ``sourcediff.tape.value_and_grad(f, wrt)`` (where the program is
  tape-compatible: no traced values written into ``np.zeros(...)``, no ``float()``)
* central finite differences in float64 (eps 1e-6, per element); a disagreement
  is only reported if a second, higher-order stencil (h = 1e-3, 5 points) agrees
  with the first estimate against the AD result, so FD noise is not a "bug"
* forward mode: ``sourcediff.jvp`` along a random direction == ``grad . v``

and the arguments must be unchanged afterwards.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import sourcediff as sd
from sourcediff.opt import inplace
from sourcediff.errors import UnsupportedSyntaxError

from .generate import Program, make_args
from .known import known_failure, masked

try:
    from sourcediff import tape as _tape
except Exception:  # noqa: BLE001  (the tape is optional)
    _tape = None

KINK_MIN = 1e-3
FD_EPS = 1e-6
FD_RTOL, FD_ATOL = 1e-4, 1e-6
FD_CONVERGED = 1e-2                    # FD at h = 1e-6 vs h = 1e-8, before any mismatch
AD_RTOL, AD_ATOL = 1e-7, 1e-9          # compiled vs tape, jvp vs grad . v
MAX_VALUE = 1e4

_DIR = None
_loaded = {}


class FuzzMismatch(AssertionError):
    """A generated program whose derivatives disagree (or that crashed sourcediff)."""


class _Known(Exception):
    """A failure that matches a known, open bug (see known.py)."""


@dataclass
class CheckResult:
    status: str            # "ok" | "skipped" (near a kink, overflow) | "known" (masked by
    #                        a known bug) | "declined" (a documented UnsupportedSyntaxError)
    detail: str = ""


def _directory():
    global _DIR
    if _DIR is None:
        _DIR = Path(tempfile.mkdtemp(prefix="sourcediff_fuzz_"))
    return _DIR


def load_program(prog: Program, directory=None):
    """Write ``prog`` to a real module file and import it (the compiler reads source)."""
    key = (prog.digest, str(directory))
    if key in _loaded:
        return _loaded[key]
    directory = Path(directory) if directory is not None else _directory()
    modname = f"fuzzprog_{prog.digest}"
    path = directory / f"{modname}.py"
    path.write_text(prog.source)
    spec = importlib.util.spec_from_file_location(modname, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module
    spec.loader.exec_module(module)
    _loaded[key] = module
    return module


# -- pytrees of float leaves ------------------------------------------------------
def _is_dataclass(value):
    return dataclasses.is_dataclass(value) and not isinstance(value, type)


def _fields(value):
    return [f.name for f in dataclasses.fields(value)]


def leaves(value):
    """Float leaves of ``value`` as float64 arrays, in a fixed order (dict keys sorted,
    dataclass fields in their declared order)."""
    if isinstance(value, dict):
        return [leaf for k in sorted(value) for leaf in leaves(value[k])]
    if isinstance(value, (tuple, list)):
        return [leaf for v in value for leaf in leaves(v)]
    if _is_dataclass(value):
        return [leaf for k in _fields(value) for leaf in leaves(getattr(value, k))]
    return [np.asarray(value, dtype=np.float64)]


def _replace(value, counter, new):
    """``value`` with leaf number ``counter[0] == 0`` replaced by ``new`` (same kind)."""
    if isinstance(value, dict):
        return {k: _replace(value[k], counter, new) for k in sorted(value)}
    if isinstance(value, (tuple, list)):
        return type(value)(_replace(v, counter, new) for v in value)
    if _is_dataclass(value):
        return dataclasses.replace(value, **{k: _replace(getattr(value, k), counter, new)
                                             for k in _fields(value)})
    counter[0] -= 1
    if counter[0] != -1:
        return value
    if isinstance(value, np.ndarray):
        return np.array(new, dtype=value.dtype).reshape(value.shape)
    return type(value)(float(new))


def with_leaf(value, k, new):
    return _replace(value, [k], new)


def _call(fn, args):
    return float(np.asarray(fn(*copy.deepcopy(args))))


def numeric_grad(fn, args, wrt, eps=FD_EPS, stencil=3):
    """Finite-difference gradient leaves for argument indices ``wrt``."""
    out = []
    for i in wrt:
        for k, leaf in enumerate(leaves(args[i])):
            g = np.zeros_like(leaf)
            for idx in np.ndindex(leaf.shape):
                h = eps * max(1.0, abs(float(leaf[idx])))

                def at(delta, idx=idx, k=k, leaf=leaf, i=i):
                    moved = leaf.copy()
                    moved[idx] += delta
                    new = list(args)
                    new[i] = with_leaf(args[i], k, moved)
                    return _call(fn, tuple(new))
                if stencil == 3:
                    g[idx] = (at(h) - at(-h)) / (2 * h)
                else:
                    g[idx] = (-at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12 * h)
            out.append(g)
    return out


def _bad(got, want, rtol, atol):
    """Indices (as a message) where ``got`` and ``want`` disagree, or ''."""
    msgs = []
    for n, (a, b) in enumerate(zip(got, want)):
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        if a.shape != b.shape:
            msgs.append(f"leaf {n}: shape {a.shape} != {b.shape}")
            continue
        err = np.abs(a - b)
        tol = atol + rtol * np.maximum(np.abs(a), np.abs(b))
        if not np.all(err <= tol) or not np.all(np.isfinite(a) == np.isfinite(b)):
            msgs.append(f"leaf {n}:\n  got      {a!r}\n  expected {b!r}")
    if len(got) != len(want):
        msgs.append(f"{len(got)} gradient leaves, expected {len(want)}")
    return "\n".join(msgs)


def _indices(prog, nargs):
    """``prog.wrt`` as argument indices. The parameter names are read from the probe,
    ``def _probe_f(x0, x1):``, which every program has whatever form its entry takes (a
    ``def``, a bound method, a lambda)."""
    wrt = prog.wrt if isinstance(prog.wrt, tuple) else (prog.wrt,)
    head = f"def _probe_{prog.name}("
    names = [line for line in prog.source.splitlines() if line.startswith(head)]
    params = names[0][len(head):-2].split(", ")
    return [params.index(w) if isinstance(w, str) else w for w in wrt]


def _grad_leaves(prog, grads):
    if not isinstance(prog.wrt, tuple):
        grads = (grads,)
    return [leaf for g in grads for leaf in leaves(g)]


def _fail(prog, seed, args, what, detail, stage=None, unmask=False):
    if stage and not unmask:
        name = known_failure(stage, prog.source.split("def _probe_")[0], f"{what}\n{detail}")
        if name:
            raise _Known(name)
    raise FuzzMismatch(
        f"{what}\n{detail}\n--- program (seed={seed}, wrt={prog.wrt!r}, "
        f"tape_ok={prog.tape_ok}) ---\n{prog.source}\n--- args ---\n{args!r}")


def check_program(prog: Program, seed: int = 0, args=None, directory=None,
                  module=None, unmask=False) -> CheckResult:
    """Check ``prog`` at inputs drawn from ``seed`` (or ``args``); raise FuzzMismatch.

    Stages masked by a known, open bug (``known.py``) are left out unless ``unmask``.
    The compiled gradients update fresh arrays in place at every size (by default only
    arrays of ``inplace.MIN_SIZE`` elements or more), so that rewrite is checked too.
    """
    saved, inplace.MIN_SIZE = inplace.MIN_SIZE, 1
    try:
        return _check(prog, seed, args, directory, module, unmask)
    except _Known as exc:
        return CheckResult("known", str(exc))
    finally:
        inplace.MIN_SIZE = saved


def _check(prog, seed, args, directory, module, unmask):
    mod = module if module is not None else load_program(prog, directory)
    entry = prog.source.split("def _probe_")[0]
    skip = set() if unmask else {st for st in ("grad", "tape", "jvp") if masked(st, entry)}
    fn = getattr(mod, prog.name)
    if args is None:
        args = make_args(prog.args, np.random.default_rng(seed), module=mod)
    before = copy.deepcopy(args)
    probe = getattr(mod, f"_probe_{prog.name}", None)
    if probe is not None:
        kinks = probe(*copy.deepcopy(args))
        if kinks and min(kinks) < KINK_MIN:
            return CheckResult("skipped", f"within {min(kinks):.2g} of a kink")
    try:
        with np.errstate(over="raise", divide="ignore", invalid="ignore", under="ignore"):
            _call(fn, args)
    except FloatingPointError:
        # e.g. exp2(cosh(13)) = inf inside, arctan2(inf, c) = pi/2 outside: the value is
        # finite but its derivative is inf * 0 = nan for any AD tool
        return CheckResult("skipped", "overflow in the forward pass")
    with np.errstate(all="ignore"):
        value = _call(fn, args)
    if not np.isfinite(value) or abs(value) > MAX_VALUE:
        return CheckResult("skipped", f"value {value!r} is too large")
    wrt = _indices(prog, len(args))
    with np.errstate(all="ignore"):
        fd = numeric_grad(fn, args, wrt)
    scale = max([1.0, abs(value)] + [float(np.max(np.abs(g))) for g in fd if g.size])
    if not np.isfinite(scale) or scale > 1e6:
        return CheckResult("skipped", "gradient too large for finite differences")

    # 1. compiled reverse mode
    try:
        cvalue, cgrad = sd.value_and_grad(fn, wrt=prog.wrt)(*args)
    except Exception as exc:  # noqa: BLE001
        if "grad" in skip:
            _check_unchanged(prog, seed, before, args)
            return CheckResult("ok", "compiled grad masked by a known bug")
        if isinstance(exc, UnsupportedSyntaxError):
            # a deliberate, documented refusal (e.g. the in-place aliasing fence)
            return CheckResult("declined", exc.bare_message)
        _fail(prog, seed, args, "compiled grad raised", f"{type(exc).__name__}: {exc}",
              "grad", unmask)
    compiled = _grad_leaves(prog, cgrad)
    if "grad" not in skip and abs(float(cvalue) - value) > 1e-9 * max(1.0, abs(value)):
        _fail(prog, seed, args, "compiled value_and_grad value differs from f(*args)",
              f"got {cvalue!r}, expected {value!r}", "grad", unmask)
    for g, i in zip(cgrad if isinstance(prog.wrt, tuple) else (cgrad,), wrt):
        if (isinstance(args[i], (np.ndarray, dict)) or _is_dataclass(args[i])) and \
                type(g) is not type(args[i]):
            _fail(prog, seed, args, "gradient type differs from argument type",
                  f"argument {i} is {type(args[i]).__name__}, gradient is "
                  f"{type(g).__name__}", "grad", unmask)

    # 2. the tape
    taped = None
    if prog.tape_ok and _tape is not None:
        try:
            _tv, tgrad = _tape.value_and_grad(fn, wrt=prog.wrt)(*args)
        except Exception as exc:  # noqa: BLE001
            if not _tape_declines(exc):
                _fail(prog, seed, args, "tape grad raised",
                      f"{type(exc).__name__}: {exc}", "tape", unmask)
            tgrad = None
        taped = None if tgrad is None else _grad_leaves(prog, tgrad)

    # 3. finite differences. Before a mismatch is reported, two more estimates must
    # disagree with it too: a 5-point stencil (h = 1e-3, for noisy functions) and a
    # finer step (h = 1e-8, for steep, oscillating ones such as cos(cosh(v)))
    for label, ad in (("compiled", compiled), ("tape", taped)):
        if ad is None or {"compiled": "grad"}.get(label, label) in skip:
            continue
        if max([0.0] + [float(np.max(np.abs(g))) for g in ad if np.size(g)]) > 1e6:
            continue  # too steep for finite differences (compiled vs tape still checked)
        bad = _bad(ad, fd, FD_RTOL, FD_ATOL * scale)
        if bad:
            with np.errstate(all="ignore"):
                fd5 = numeric_grad(fn, args, wrt, eps=1e-3, stencil=5)
                fd8 = numeric_grad(fn, args, wrt, eps=1e-8)
            if _bad(fd, fd8, FD_CONVERGED, FD_ATOL * scale):
                # the estimates at h = 1e-6 and 1e-8 disagree with each other: too steep or
                # oscillating for finite differences (run 2 of the user-Python campaign:
                # 0.5 * sum(x) after cos(cosh(sum(x))) in loops, FD 2e5 at h = 1e-6, -1.2e6
                # at 1e-8, -1.26e6 at 1e-9 = the compiled gradient = the tape's)
                return CheckResult("skipped", "finite differences do not converge")
            if _bad(ad, fd5, FD_RTOL, FD_ATOL * scale) and _bad(ad, fd8, FD_RTOL,
                                                                 FD_ATOL * scale):
                _fail(prog, seed, args, f"{label} gradient != finite differences", bad,
                      {"compiled": "grad"}.get(label, label), unmask)
    if taped is not None and not skip & {"grad", "tape"}:
        bad = _bad(compiled, taped, AD_RTOL, AD_ATOL * scale)
        if bad:
            _fail(prog, seed, args, "compiled gradient != tape gradient", bad)

    # 4. forward mode vs reverse mode along a random direction
    if "jvp" in skip or "grad" in skip:
        _check_unchanged(prog, seed, before, args)
        return CheckResult("ok", "jvp masked by a known bug")
    rng = np.random.default_rng(seed + 1)
    tangents = (make_args(prog.args, rng, -1.0, 1.0, module=mod) if prog.args is not None
                else _random_like(args, rng))
    try:
        full = sd.grad(fn, wrt=tuple(range(len(args))))(*args)
        _out, tan = sd.jvp(fn, args, tangents)
    except Exception as exc:  # noqa: BLE001
        _fail(prog, seed, args, "jvp / full grad raised", f"{type(exc).__name__}: {exc}",
              "jvp", unmask)
    rev = sum(float(np.sum(g * t)) for g, t in zip(leaves(full), leaves(tangents)))
    if abs(float(tan) - rev) > AD_ATOL * scale * 10 + 1e-6 * max(abs(rev), abs(float(tan))):
        _fail(prog, seed, args, "jvp != grad . v", f"jvp {float(tan)!r}, grad . v {rev!r}",
              "jvp", unmask)

    _check_unchanged(prog, seed, before, args)
    return CheckResult("ok")


def _random_like(value, rng):
    """Values of ``value``'s structure, shapes and types, uniform in [-1, 1]."""
    if isinstance(value, dict):
        return {k: _random_like(v, rng) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_random_like(v, rng) for v in value)
    if _is_dataclass(value):
        return dataclasses.replace(value, **{k: _random_like(getattr(value, k), rng)
                                             for k in _fields(value)})
    if isinstance(value, np.ndarray):
        return rng.uniform(-1.0, 1.0, value.shape).astype(value.dtype)
    return type(value)(rng.uniform(-1.0, 1.0))


def _tape_declines(exc):
    """The tape's documented refusals: in-place writes of traced values into plain
    arrays (``y += x`` on a plain ``y``), float()/np.asarray of a tracer."""
    if _tape is not None and isinstance(exc, _tape.TracerConversionError):
        return True
    if _tape is not None and isinstance(exc.__cause__, _tape.TracerConversionError):
        return True    # NumPy re-raised it as "setting an array element with a sequence"
    return isinstance(exc, sd.SourceDiffError) and "in place" in str(exc)


def _check_unchanged(prog, seed, before, args):
    for i, (b, a) in enumerate(zip(before, args)):
        for lb, la in zip(leaves(b), leaves(a)):
            if not np.array_equal(lb, la):
                _fail(prog, seed, args, f"argument {i} was mutated", "")


def save_regression(prog: Program, seed: int, note: str, directory, bug=None):
    """Write ``prog`` and its inputs as ``case_<digest>.py`` in ``directory`` (the format
    tests/test_regressions.py reads)."""
    args = make_args(prog.args, np.random.default_rng(seed))
    with np.printoptions(precision=17, threshold=10_000, floatmode="unique"):
        values = repr(args).replace("array(", "np.array(")
    entry = prog.source.split("def _probe_")[0].rstrip()
    text = "\n".join([
        f'"""Fuzz regression: {note} (seed={seed})."""', entry, "", "",
        f"VALUES = {values}", f"WRT = {prog.wrt!r}", 'CHECK = "grad"',
        f"BUG = {bug!r}  # set to None once fixed", ""])
    path = Path(directory) / f"case_{prog.digest}.py"
    path.write_text(text)
    return path
