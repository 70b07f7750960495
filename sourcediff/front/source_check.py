"""Does the source read from the file still describe the code that runs?

sourcediff differentiates the text of a function, read from its file, while Python runs
the code compiled at import. When the file has been edited since (a notebook, an editor,
a module not reloaded), the two differ and the gradient would be that of the new text:
a wrong gradient with no error. So the text is compiled and compared with the running
code: its parameters, the names and constants it reads and writes, in order, and its
operators (``+``, ``**``, ``<``, ...), nested functions included. How a call is set up
is left out of the comparison: the same text may compile to different call
instructions (pytest's assertion rewriting, for one), while an edit that changes what
is computed changes a name, a constant, an operator or their order.
"""

from __future__ import annotations

import ast
import dis
import re
import textwrap

_OPERATORS = ("BINARY_", "UNARY_", "INPLACE_", "COMPARE_OP", "CONTAINS_OP", "IS_OP")
_ACCESS = ("LOAD_", "STORE_", "DELETE_", "RETURN_CONST")  # (3.12: return 0.5 in one step)
_MANGLED = re.compile(r"^_[A-Za-z0-9]\w*?(__\w+)$")  # _Class__x: a private name in a class


def _unmangled(name):
    m = _MANGLED.match(name)
    return m.group(1) if m and not name.endswith("__") else name


def _text(s):
    """String constant ``s`` without the indentation of its continuation lines: the text
    is compiled indented one level deeper than in its file (:func:`compiled_from`),
    which indents every line of a multi-line string literal (a docstring) too."""
    return _INDENT.sub("\n", s)


_INDENT = re.compile(r"\n[ \t]+")


def _arg(i):
    """An instruction's argument as written, whatever the call set-up around it
    (``NULL + np``, ``sum + NULL|self``: how a call compiles, not what it reads)."""
    if isinstance(i.argval, str) and "<locals>." in i.argval:  # a qualified name: where the
        return i.argval.rsplit("<locals>.", 1)[1]             # text was compiled, not what
    if isinstance(i.argval, str) and i.opname in ("LOAD_CONST", "RETURN_CONST"):
        return _text(i.argval)  # (a string's value, whatever its repr)
    return re.sub(r"^NULL \+ |^NULL\|self \+ | \+ NULL(\|self)?$", "", i.argrepr)


def fingerprint(code):
    """What ``code`` computes, without its place in the file or how its calls compile:
    its parameters, the names and constants it reads and writes in order, its operators,
    and the same of the functions nested in it."""
    nested = tuple(fingerprint(c) for c in code.co_consts if hasattr(c, "co_code"))
    ins = list(dis.get_instructions(code))
    # a class body records its first line (3.13: __firstlineno__): where, not what
    ins = [i for k, i in enumerate(ins) if i.argval != "__firstlineno__" and not (
        k + 1 < len(ins) and ins[k + 1].argval == "__firstlineno__")]
    steps = tuple((i.opname if i.opname.startswith(_OPERATORS) else i.opname.split("_")[0],
                   _unmangled(_arg(i))) for i in ins
                  if i.opname.startswith(_OPERATORS + _ACCESS) and i.opname != "LOAD_CLOSURE"
                  and not hasattr(i.argval, "co_code"))
    return code.co_argcount, code.co_kwonlyargcount, steps, nested


def compiled_from(text, code):
    """The code object ``text`` (a ``def`` or a ``lambda``, dedented) compiles to, with
    the free variables ``code`` reads made cells of an enclosing function, as they are
    where ``code`` was defined; None if the text does not compile alone."""
    cells = "".join(f"    {v} = None\n" for v in code.co_freevars)
    if code.co_name not in code.co_freevars and code.co_name.isidentifier():
        cells += f"    global {code.co_name}\n"  # its own name: a global where it runs
    body = textwrap.indent(text if text.lstrip().startswith(("def ", "async def ", "@"))
                           else f"return ({text})", "    ")
    src = f"def _outer():\n{cells}{body}\n"
    try:
        tree = ast.parse(src)
        if _assertions_rewritten(code):  # a test module: asserts as pytest rewrote them
            from _pytest.assertion.rewrite import rewrite_asserts
            rewrite_asserts(tree, src.encode())
        module = compile(tree, "<source check>", "exec")
    except SyntaxError:
        return None
    outer = next(c for c in module.co_consts if hasattr(c, "co_code"))
    inner = [c for c in outer.co_consts if hasattr(c, "co_code")
             and c.co_name == code.co_name]
    return inner[0] if inner else None


def _assertions_rewritten(code):
    """``code`` (or a function nested in it) was compiled by pytest's assertion rewriting
    (it reads ``@pytest_ar``, ``@py_assert1`` ...): the text compiles to the same only
    after the same rewriting."""
    return any(n.startswith("@py") for n in code.co_names + code.co_varnames) or any(
        _assertions_rewritten(c) for c in code.co_consts if hasattr(c, "co_code"))


def changed(text, code):
    """True when ``text`` compiles to code that computes something else than ``code``
    (the file was edited after the function was defined); False when it matches or when
    the text cannot be compiled alone (nothing to compare)."""
    other = compiled_from(text, code)
    return other is not None and not _same_code(other, code) and \
        fingerprint(other) != fingerprint(code)


def _same_code(a, b):
    """``a`` and ``b`` are the same instructions on the same names and constants (then
    their :func:`fingerprint` is the same: the common case, at a fraction of its cost);
    False says nothing."""
    if (a.co_code, a.co_names, a.co_varnames, a.co_cellvars, a.co_freevars, a.co_argcount,
            a.co_kwonlyargcount) != (b.co_code, b.co_names, b.co_varnames, b.co_cellvars,
                                     b.co_freevars, b.co_argcount, b.co_kwonlyargcount):
        return False
    return len(a.co_consts) == len(b.co_consts) and all(
        _same_code(x, y) if hasattr(x, "co_code") and hasattr(y, "co_code")
        else type(x) is type(y) and (repr(x) == repr(y)  # (0.0 is not -0.0, 1 not 1.0)
                                     or type(x) is str and _text(x) == _text(y))
        for x, y in zip(a.co_consts, b.co_consts))
