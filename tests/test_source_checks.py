"""The source read from the file must be the code that runs, and a method's private
names and bound methods in the higher-order functions read as Python reads them.

- A module edited after import: sourcediff used to differentiate the new text while
  Python ran the old code (a wrong gradient, silently). Now the text is compared with
  the running code (``source_check``) and the gradient falls back to the tape, with a
  warning that says to reload.
- ``self.__scale`` in a method of ``C`` is ``self._C__scale`` (private name mangling).
- ``hessian``, ``hvp`` and ``jacobian`` of a bound method (``model.loss``).
Values are checked against hand-computed derivatives and central differences.
"""

import importlib
import linecache
import sys
import warnings

import numpy as np
import pytest

import sourcediff as sd
from sourcediff.front import source_check

X = np.array([1.0, 2.0, -0.5])


def _fd_grad(f, x, eps=1e-6):
    out = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = eps
        out[i] = (f(x + e) - f(x - e)) / (2 * eps)
    return out


@pytest.fixture
def edited_module(tmp_path, monkeypatch):
    path = tmp_path / "edited_mod.py"
    path.write_text("import numpy as np\n\n\ndef f(x):\n    return np.sum(x ** 2)\n\n\n"
                    "g = lambda x: np.sum(np.sin(x) * 2.0)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("edited_mod", None)
    module = importlib.import_module("edited_mod")
    # the file changes under the running module (an editor, a notebook)
    path.write_text("import numpy as np\n\n\ndef f(x):\n    return np.sum(x ** 3)\n\n\n"
                    "g = lambda x: np.sum(np.cos(x) * 3.0)\n")
    linecache.clearcache()
    yield module
    sys.modules.pop("edited_mod", None)


def test_an_edited_file_is_not_differentiated_in_place_of_the_running_code(edited_module):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = sd.grad(edited_module.f)(X)
        dg = sd.grad(edited_module.g)(X)
    np.testing.assert_allclose(df, 2 * X)                 # the code that runs: x ** 2
    np.testing.assert_allclose(dg, 2.0 * np.cos(X))       # sin(x) * 2.0
    np.testing.assert_allclose(df, _fd_grad(edited_module.f, X), rtol=1e-6)
    messages = [str(w.message) for w in caught]
    assert sum("edited after the function was defined" in m for m in messages) == 2


def test_the_comparison_tells_an_edit_from_the_same_text():
    def loss(w, b):
        return np.sum((w * 2.0 + b) ** 2) / w.size

    src = "def loss(w, b):\n    return np.sum((w * 2.0 + b) ** 2) / w.size\n"
    assert not source_check.changed(src, loss.__code__)
    assert not source_check.changed("@decorated\n" + src, loss.__code__)

    def nested(x):
        class Box:
            pass
        return sum([x * k for k in range(3)]) + (lambda y: y * 2.0)(x)
    text = ("def nested(x):\n    class Box:\n        pass\n"
            "    return sum([x * k for k in range(3)]) + (lambda y: y * 2.0)(x)\n")
    assert not source_check.changed(text, nested.__code__)  # (qualified names differ)
    assert source_check.changed(text.replace("y * 2.0", "y * 3.0"), nested.__code__)
    for old, new in (("2.0", "3.0"), ("+ b", "- b"), ("+ b", "+ w"), ("** 2", "** 3"),
                     ("np.sum", "np.mean"), ("/ w.size", "* w.size")):
        assert source_check.changed(src.replace(old, new), loss.__code__), (old, new)


class Scaled:
    def __init__(self, scale):
        self.__scale = scale

    def __inner(self, x):
        return np.sin(x) * self.__scale

    def loss(self, x):
        return np.sum(self.__inner(x) ** 2)


def test_private_names_of_a_method_read_as_python_mangles_them():
    model = Scaled(1.5)
    g = sd.grad(model.loss)(X)
    np.testing.assert_allclose(g, 2 * 1.5 ** 2 * np.sin(X) * np.cos(X))
    np.testing.assert_allclose(g, _fd_grad(model.loss, X), rtol=1e-6)


def test_hessian_hvp_and_jacobian_of_a_bound_method():
    model = Scaled(1.5)
    hand = np.diag(2 * 1.5 ** 2 * np.cos(2 * X))           # d2/dx2 of 2.25 sin(x)^2
    np.testing.assert_allclose(sd.hessian(model.loss)(X), hand, atol=1e-12)
    v = np.array([0.3, -1.0, 2.0])
    np.testing.assert_allclose(sd.hvp(model.loss)(X, v), hand @ v, atol=1e-12)
    fd = np.array([_fd_grad(lambda x, i=i: sd.grad(model.loss)(x)[i], X) for i in range(3)])
    np.testing.assert_allclose(sd.hessian(model.loss)(X), fd, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(sd.jacobian(model.loss)(X), sd.grad(model.loss)(X))


def test_transforms_of_a_gradient_of_a_bound_method():
    """grad(model.loss) is a method again: jacobian, jvp and vjp of it hold the object
    fixed (jacobian of it raised a *args refusal pointing into sourcediff, vjp a wrong
    argument count)."""
    model = Scaled(1.5)
    hand = np.diag(2 * 1.5 ** 2 * np.cos(2 * X))
    fd = np.array([_fd_grad(lambda x, i=i: sd.grad(model.loss)(x)[i], X) for i in range(3)])
    np.testing.assert_allclose(hand, fd, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(sd.jacobian(sd.grad(model.loss))(X), hand, atol=1e-12)
    v = np.array([0.3, -1.0, 2.0])
    np.testing.assert_allclose(sd.jvp(sd.grad(model.loss), (X,), (v,))[1], hand @ v,
                               atol=1e-12)
    out, pullback = sd.vjp(sd.grad(model.loss), X)
    np.testing.assert_allclose(out, sd.grad(model.loss)(X))
    (ct,) = pullback(v)
    np.testing.assert_allclose(ct, hand @ v, atol=1e-12)


def test_asserts_pytest_rewrote_are_not_an_edit():
    """A differentiated function with an assert in a test module: pytest compiled it with
    its assertion rewriting, so the text is compared after the same rewriting (it was a
    false alarm: the tape, and an error under -W error). An edit is still one."""
    import ast

    from _pytest.assertion.rewrite import rewrite_asserts
    src = "def fun(x):\n    assert len(x) == 3, 'three rows'\n    return x * 2.0\n"
    tree = ast.parse(src)
    rewrite_asserts(tree, src.encode())
    ns = {}
    exec(compile(tree, "<rewritten>", "exec"), ns)
    code = ns["fun"].__code__
    assert not source_check.changed(src, code)
    assert source_check.changed(src.replace("2.0", "3.0"), code)
    assert source_check.changed(src.replace("== 3", "== 4"), code)


def test_an_assert_inside_a_differentiated_function_of_a_test():
    def fun(x):
        assert len(x) == 3, "three rows"   # rewritten by pytest, as this module is
        return x * 2.0
    a = np.arange(6.0).reshape(3, 2)
    np.testing.assert_allclose(sd.grad(lambda v: np.sum(fun(v) ** 2))(a), 8 * a)


@pytest.mark.parametrize("edited", ["y = x * -0.0", "y = x * 1.0", "y = x * 0", "y = w * 0.0",
                                    "y = x * (lambda: 0.5)()"])
def test_the_quick_comparison_of_code_tells_a_changed_constant_or_name(edited):
    """The text and the running code compared whole first (the same instructions, names
    and constants); a difference a fingerprint sees, -0.0 for 0.0 or 1.0 for 1, is one
    for the quick comparison too."""
    def code_of(line):
        return compile(f"def f(x, w):\n    {line}\n    return y\n", "<t>", "exec").co_consts[0]
    base = "y = x * (lambda: 0.25)()" if "lambda" in edited else "y = x * 0.0"
    assert source_check._same_code(code_of(base), code_of(base))
    assert not source_check._same_code(code_of(base), code_of(edited))
    assert source_check.fingerprint(code_of(base)) != source_check.fingerprint(code_of(edited))


def test_a_multiline_string_in_the_function_is_not_an_edit(tmp_path, monkeypatch):
    """The text is compiled one level deeper than in its file, which indents each line of a
    multi-line string literal (a docstring, a message): that alone was taken for an edit
    (a false alarm: the tape instead, with a warning). An edit next to it is still one."""
    text = ('import numpy as np\n\n\ndef f(x):\n    """Sum of squares.\n\n    More.\n    """\n'
            '    label = """a\n    b"""\n    return np.sum(x ** 2) * len(label)\n')
    path = tmp_path / "multiline_mod.py"
    path.write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("multiline_mod", None)
    module = importlib.import_module("multiline_mod")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # (a false alarm warns)
            g = sd.grad(module.f)(X)
        np.testing.assert_allclose(g, 2 * X * len("a\n    b"))
        np.testing.assert_allclose(g, _fd_grad(module.f, X), rtol=1e-6)
        code = module.f.__code__
        assert not source_check.changed(text.split("\n\n\n", 1)[1], code)
        assert source_check.changed(text.split("\n\n\n", 1)[1].replace("** 2", "** 3"), code)
        assert source_check.changed(text.split("\n\n\n", 1)[1].replace('"""a', '"""c'), code)
    finally:
        sys.modules.pop("multiline_mod", None)
