"""Static types: ``mypy --strict`` on a user file infers real types (not ``Any``) for
``grad``, ``value_and_grad``, ``vjp`` and ``jvp``, and reports a misuse; mypy passes on
the public modules and on ``examples/``. Skipped where mypy is not installed (the
``test`` extra installs it). The two mypy runs go side by side, with their caches in the
temporary directory (kept between runs, so a second run takes seconds)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

pytest.importorskip("mypy")

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(tempfile.gettempdir()) / f"sourcediff-mypy-{sys.version_info[0]}{sys.version_info[1]}"
PUBLIC_MODULES = ["__init__.py", "_typing.py", "transforms/api.py", "transforms/higher.py",
                  "transforms/check.py", "prims/custom.py", "values/markers.py", "errors.py",
                  "values/structure.py"]

USER = '''
import numpy as np
from numpy.typing import NDArray

from sourcediff import (check_grad, grad, jvp, primitive, stop_gradient, value_and_grad,
                        vjp)

Array = NDArray[np.float64]


def loss(w: Array, x: Array) -> float:
    return float(np.sum((x @ w) ** 2))


def scale(x: float, k: float) -> float:
    return k * x


def with_aux(w: Array, x: Array) -> tuple[float, Array]:
    r = x @ w
    return float(np.sum(r ** 2)), r


w = np.zeros(2)
x = np.eye(2)
reveal_type(grad(loss))                                  # 1
reveal_type(grad(scale)(1.0, 2.0))                       # 2
reveal_type(grad(with_aux, has_aux=True)(w, x))          # 3
reveal_type(value_and_grad(scale)(1.0, 2.0))             # 4
reveal_type(value_and_grad(with_aux, has_aux=True)(w, x))  # 5
reveal_type(vjp(scale, 1.0, 2.0))                        # 6
reveal_type(jvp(scale, (1.0, 2.0), (1.0, 0.0)))          # 7
reveal_type(stop_gradient(w))                            # 8
reveal_type(primitive(scale)(1.0, 2.0))                  # 9
reveal_type(check_grad(scale, 1.0, 2.0))                 # 10
'''

ARRAY = "numpy.ndarray[tuple[Any, ...], numpy.dtype[numpy.float64]]"
EXPECTED = [
    f"def ({ARRAY}, x: {ARRAY}) -> {ARRAY}",
    "float",
    f"tuple[{ARRAY}, {ARRAY}]",
    "tuple[float, float]",
    f"tuple[tuple[float, {ARRAY}], {ARRAY}]",
    "tuple[float, def (float) -> tuple[Any, ...]]",
    "tuple[float, float]",
    "ndarray",          # (numpy's own type for np.zeros(2))
    "float",
    "bool",
]

MISUSE = '''
from sourcediff import grad, value_and_grad


def scale(x: float, k: float) -> float:
    return k * x


g: str = grad(scale)(1.0, 2.0)
grad(scale)("one", 2.0)
v, d = value_and_grad(scale)(1.0)
'''


def _mypy(args, cache, cwd):
    env = dict(os.environ, MYPYPATH=str(ROOT))
    cmd = [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
           "--cache-dir", str(CACHE / cache), "--follow-imports=silent",
           "--no-error-summary", "--hide-error-context", *args]
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Both mypy runs, started together: strict on the user files, defaults on the
    public modules and examples."""
    tmp = tmp_path_factory.mktemp("typing")
    (tmp / "user_code.py").write_text(USER)
    (tmp / "user_misuse.py").write_text(MISUSE)
    strict = _mypy(["--strict", "user_code.py", "user_misuse.py"], "strict", tmp)
    public = [str(ROOT / "sourcediff" / m) for m in PUBLIC_MODULES]
    # examples/ported imports its optimizers two ways (as a script, and relatively as
    # a package); those two codes are about that alone
    lenient = _mypy([*public, str(ROOT / "examples"), "--disable-error-code=import-not-found",
                     "--disable-error-code=no-redef"], "default", ROOT)
    out = {}
    for name, proc in (("strict", strict), ("default", lenient)):
        stdout, _ = proc.communicate(timeout=600)
        out[name] = (proc.returncode, stdout)
    return out


def test_strict_user_file_infers_real_types(runs):
    _, out = runs["strict"]
    revealed = [(int(m.group(1)), m.group(2)) for m in re.finditer(
        r'^user_code\.py:(\d+): note: Revealed type is "(.*)"$', out, flags=re.M)]
    assert len(revealed) == len(EXPECTED), out
    for (line, got), want in zip(revealed, EXPECTED):
        got = got.replace("tuple[int, ...]", "tuple[Any, ...]")  # (older numpy's shape type)
        assert want in got, f"line {line}: {got!r}, expected {want!r}"
        assert got.strip() not in ("Any", "def (*Any, **Any) -> Any"), f"line {line}: Any"
    errors = [line for line in out.splitlines() if line.startswith("user_code.py")
              and ": error:" in line]
    assert not errors, "\n".join(errors)


def test_strict_user_file_reports_misuse(runs):
    _, out = runs["strict"]
    errors = {int(m.group(1)) for m in re.finditer(r"^user_misuse\.py:(\d+): error:", out,
                                                   flags=re.M)}
    lines = MISUSE.splitlines()
    expected = {i + 1 for i, text in enumerate(lines)
                if text.startswith(("g: str", 'grad(scale)("one"', "v, d"))}
    assert expected == errors, out


def test_public_modules_and_examples_pass_mypy(runs):
    code, out = runs["default"]
    assert code == 0, out
