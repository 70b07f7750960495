"""The public namespace: ``__all__``, ``dir()`` without the internal modules,
``sourcediff.tape`` imported on first use, ``__version__``, ``py.typed``, and the
imports users and tests already write still working."""

from __future__ import annotations

import re
import subprocess
import sys
import types
from pathlib import Path

import sourcediff

ROOT = Path(__file__).resolve().parent.parent


def test_all_is_what_dir_shows():
    assert sorted(dir(sourcediff)) == sorted([*sourcediff.__all__, "__version__"])
    for name in sourcediff.__all__:
        assert getattr(sourcediff, name) is not None


def test_internal_modules_are_not_listed_but_still_importable():
    listed = set(dir(sourcediff))
    for internal in ("api", "activity", "fence", "flatten", "rules", "driver", "runtime"):
        assert internal not in listed
        module = __import__(f"sourcediff.{internal}", fromlist=["_"])
        assert isinstance(module, types.ModuleType)
    from sourcediff.transforms.api import grad as api_grad
    from sourcediff.errors import MissingRuleError
    assert api_grad is sourcediff.grad and MissingRuleError is sourcediff.MissingRuleError


def test_star_import_gives_the_public_names():
    namespace: dict[str, object] = {}
    exec("from sourcediff import *", namespace)
    assert {n for n in namespace if not n.startswith("__")} == set(sourcediff.__all__)


def test_tape_is_a_lazy_attribute():
    code = ("import sys, sourcediff\n"
            "assert 'sourcediff.tape' not in sys.modules, 'imported eagerly'\n"
            "tape = sourcediff.tape\n"
            "assert tape is sys.modules['sourcediff.tape']\n"
            "import numpy as np\n"
            "print(tape.grad(lambda x: np.sum(x ** 2))(np.array([1.0, 2.0])))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[2. 4.]"


def test_unknown_attribute_is_an_attribute_error():
    try:
        sourcediff.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("no AttributeError")


def test_version_matches_pyproject():
    pyproject = (ROOT / "pyproject.toml").read_text()
    version = re.search(r'^version = "([^"]+)"', pyproject, flags=re.M).group(1)
    assert sourcediff.__version__ == version


def test_py_typed_is_shipped():
    assert (ROOT / "sourcediff" / "py.typed").exists()
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'\[tool\.setuptools\.package-data\]\nsourcediff = \[[^\]]*"py\.typed"',
                     pyproject)


def test_import_and_codegen_are_warning_free(tmp_path):
    """``python -W error -c "import sourcediff"``, then compiling and printing a gradient
    and a tangent: no warning from sourcediff or its printer (astor's ``ast.Num``
    DeprecationWarnings on 3.12+ are silenced where it runs)."""
    out = subprocess.run([sys.executable, "-W", "error", "-c", "import sourcediff"],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    script = tmp_path / "user.py"
    script.write_text(
        "import numpy as np\n"
        "import sourcediff\n"
        "from sourcediff import grad, jvp, source\n\n\n"
        "def f(x, n):\n"
        "    s = 0.0\n"
        "    for i in range(n):\n"
        "        s = s + np.sum(np.sin(x) * 2.0) ** 2 - 1.5\n"
        "    return s\n\n\n"
        "g = grad(f)\n"
        "g(np.ones(3), 2)\n"
        "assert 'def f_grad' in source(g)\n"
        "jvp(f, (np.ones(3), 2), (np.ones(3), 0))\n"
        "sourcediff.tape.grad(f)(np.ones(3), 2)\n")
    out = subprocess.run([sys.executable, "-W", "error", str(script)], capture_output=True,
                         text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
