"""The documentation: every public name has a NumPy-style docstring whose examples run
(as doctests, here), the API reference builds with Sphinx without a warning, and what
README says ``source(g)`` and ``g`` run is what they run."""

from __future__ import annotations

import doctest
import inspect
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import sourcediff

ROOT = Path(__file__).resolve().parent.parent
PUBLIC = [name for name in sourcediff.__all__ if name != "tape"]
SECTIONS = ("Parameters", "Returns", "Examples")


def _examples(obj, name):
    """The doctests in ``obj``'s own docstring (and its methods', for classes)."""
    finder = doctest.DocTestFinder(exclude_empty=True)
    module = inspect.getmodule(obj)
    return [t for t in finder.find(obj, name, module=module, globs={}) if t.examples]


def _run(tests):
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # an example must not fall back to the tape, etc.
        for test in tests:
            runner.run(test)
    return runner.summarize(verbose=False)


@pytest.mark.parametrize("name", PUBLIC)
def test_public_name_has_a_numpy_docstring_whose_examples_run(name):
    obj = getattr(sourcediff, name)
    doc = inspect.getdoc(obj) or ""
    assert "Examples\n--------" in doc, f"sourcediff.{name} has no Examples section"
    if inspect.isfunction(obj) and inspect.signature(obj).parameters:
        returns = inspect.signature(obj).return_annotation not in ("None", None)
        for section in SECTIONS if returns else ("Parameters", "Examples"):
            assert f"{section}\n{'-' * len(section)}" in doc, f"{name}: no {section}"
    tests = _examples(obj, f"sourcediff.{name}")
    assert tests, f"sourcediff.{name} has no runnable example"
    result = _run(tests)
    assert result.attempted and not result.failed, f"{result.failed} example(s) of {name} fail"


@pytest.mark.parametrize("module", ["sourcediff", "sourcediff.tape"])
def test_module_docstring_examples_run(module):
    import importlib
    mod = importlib.import_module(module)
    finder = doctest.DocTestFinder(exclude_empty=True, recurse=False)
    tests = [t for t in finder.find(mod, module) if t.examples]
    result = _run(tests)
    assert result.attempted and not result.failed


def test_grad_docstring_explains_what_users_ask():
    doc = inspect.getdoc(sourcediff.grad)
    for word in ("wrt", "mode", "has_aux", "Re-specialisation", "Composition", "tape"):
        assert word in doc


def test_api_reference_builds_without_warnings(tmp_path):
    """README's command, warnings as errors (skipped where Sphinx is not installed)."""
    pytest.importorskip("sphinx")
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"python -m sphinx (-W -b html docs/api) docs/_build", readme)
    assert command, "README gives the command that builds the API reference"
    out = tmp_path / "html"
    proc = subprocess.run([sys.executable, "-m", "sphinx", *command.group(1).split(), str(out),
                           "-q", "-d", str(tmp_path / "doctrees")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not proc.stderr.strip(), proc.stderr
    page = (out / "index.html").read_text()
    for name in PUBLIC:
        assert f'id="sourcediff.{name}"' in page, f"sourcediff.{name} is not in the reference"


# --- README: what source(g) shows and what g runs ---------------------------------------------

README = (ROOT / "README.md").read_text()


def test_readme_shows_what_dloss_runs(tmp_path, monkeypatch):
    """README shows the adjoint (``source(dloss)``, checked by test_readme.py) and, in a
    text block, the code ``dloss`` itself runs after its first call: each line it quotes
    (``...`` elides) is there, in order."""
    first = re.search(r"```python\n(import numpy as np\nfrom sourcediff import grad, source\n"
                      r".*?)```", README, flags=re.S).group(1)
    runs = re.search(r"`inspect.getsource\(dloss\)`[^`]*?shows.*?```text\n(.*?)```", README,
                     flags=re.S).group(1)
    path = tmp_path / "readme_first.py"
    path.write_text(first.replace("print(source(dloss))", ""))
    monkeypatch.syspath_prepend(str(tmp_path))
    namespace = {"__name__": "readme_first", "__file__": str(path)}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    dloss = namespace["dloss"]
    actual = inspect.getsource(dloss).splitlines()
    at = 0
    for line in runs.splitlines():
        if line.strip() in ("...", ""):
            continue
        assert line in actual[at:], f"README quotes {line!r}, which dloss does not run"
        at = actual.index(line, at) + 1
    assert actual[-1] == runs.rstrip().splitlines()[-1]
    adjoint = sourcediff.source(dloss).splitlines()
    assert adjoint[-1].strip() == "return None, (w_bar, z_bar)"
    # (its scalar code in Python floats: the code as it was runs where Python raises)
    assert "            return _sd_g0, _sd_g1" in actual
    assert actual[-1].strip() == "return _sd_exact(w, b, x, t, lam)"
    dw, db = dloss(0.3, -0.2, 1.5, 1.0, 0.1)
    assert isinstance(dw, float) and isinstance(db, float)
