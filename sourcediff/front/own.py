"""sourcediff's own functions met where the compiler reads user code: a clear refusal.

The transforms (``jvp``, ``vjp``, ``jacobian``, ``hessian``, ``hvp``) and the functions
they return are plain Python in sourcediff's files; the compiler must never read them as
user code (it would report sourcediff's lines, or ask for a rule for ``jvp``). Three places
meet them: a function made by one passed to a transform (:func:`refuse_made`, from
:func:`parse.parse_function`), one called inside a differentiated function through a
value (:func:`refuse_made` with ``called=True``, from :mod:`pipeline.called`), and a call
of a transform itself on a differentiated value (:func:`own_call`, the construct
:mod:`activity` and :mod:`calls` refuse). Each error names the composition, points at
the user's line and says which compositions work. A gradient ``grad(f)`` is not one of
these: it composes (its generated code is read).
"""

from __future__ import annotations

import linecache
import os
import sys
import types

from ..errors import MissingRuleError, UnsupportedSyntaxError
from ..prims import registry

PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # .../sourcediff
TRANSFORMS = os.path.join(PACKAGE, "transforms") + os.sep  # the public transforms' files
MADE_BY = "__sourcediff_made_by__"  # a tag: the public transform that made a function
INSIDE = " inside a differentiated function"  # ends the construct a call is refused as

WORKS = ("compositions through a gradient work: grad(grad(f)), jacobian(grad(f)), "
         "hessian(f), hvp(f), jvp(grad(f), ...), vjp(grad(f), ...), and grad(f) called inside "
         "a differentiated function; so do jacobian(jacobian(f)) and jvp(jacobian(f), ...) "
         "of your own f with one array output and an int wrt (README: 'Not composed' lists "
         "what is refused)")


def made(name, fn):
    """``fn``, tagged as made by the public transform ``name`` (``hessian``)."""
    setattr(fn, MADE_BY, name)
    return fn


def is_own(fn):
    """A Python function written in ``sourcediff/transforms/`` (a transform, or a function
    a transform returned), not one with a rule nor a gradient sourcediff made (generated
    code's runtime helpers, in ``runtime/``, are called as the sweeps know)."""
    func = getattr(fn, "__func__", fn)
    if not isinstance(func, types.FunctionType) or getattr(
            func, "__sourcediff_defines__", None) is not None or getattr(
            fn, "plain_function", None) is not None or registry.lookup(fn) is not None \
            or registry.is_nondiff(fn):
        return False
    return os.path.abspath(func.__code__.co_filename).startswith(TRANSFORMS)


def _public():
    """``{object: its public name}`` for the transforms ``sourcediff`` exports, and
    ``{code object: the transform}`` for the functions they define inside them."""
    package = sys.modules.get("sourcediff")
    names = {}
    codes = {}
    for name in getattr(package, "__all__", ()):
        obj = getattr(package, name, None)
        if not isinstance(obj, types.FunctionType):
            continue
        names[obj] = name
        todo = [obj.__code__]
        while todo:
            code = todo.pop()
            codes.setdefault(code, name)
            todo += [c for c in code.co_consts if isinstance(c, types.CodeType)]
    return names, codes


def describe(fn):
    """``sourcediff.jvp`` for a transform, ``a function made by sourcediff.jacobian`` for
    what one returned, else ``a function of sourcediff's``."""
    names, codes = _public()
    func = getattr(fn, "__func__", fn)
    if func in names:
        return f"sourcediff.{names[func]}"
    by = getattr(fn, MADE_BY, None) or codes.get(getattr(func, "__code__", None))
    return f"a function made by sourcediff.{by}" if by else "a function of sourcediff's"


def user_site():
    """``(filename, lineno, line)`` of the innermost frame running user code: neither
    sourcediff's files nor code it generated (``<sourcediff ...>``)."""
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_code.co_filename
        if not name.startswith("<sourcediff") and not os.path.abspath(name).startswith(
                PACKAGE + os.sep):
            line = linecache.getline(name, frame.f_lineno) or None
            return name, frame.f_lineno, line
        frame = frame.f_back
    return None, None, None


def _outer():
    """The transform the user called: the outermost frame of sourcediff's before the
    user's (a gradient's generated code: ``grad``)."""
    _, codes = _public()
    found = None
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_code.co_filename
        if name.startswith("<sourcediff"):
            found = "grad"
        elif os.path.abspath(name).startswith(PACKAGE + os.sep):
            found = codes.get(frame.f_code, found)
            if found == "jacobian" and getattr(frame.f_locals.get("fn"), "plain_function",
                                               None) is not None:
                found = "hessian"  # (jacobian(grad(f)))
        else:
            break
        frame = frame.f_back
    return found


def refuse_made(fn, called=False):
    """Raise for the function ``fn`` of sourcediff's, met where user code is read:
    differentiated (``jacobian(jacobian(f))``) or, ``called``, called inside a
    differentiated function (``np.sum(jacobian(f)(x))``)."""
    what = describe(fn)
    if getattr(fn, "__name__", None):
        what += f" ('{fn.__name__}')"
    filename, lineno, line = user_site()
    outer = _outer()
    if called:
        message = f"sourcediff does not differentiate {what} called inside a " \
                  f"differentiated function" + (f" (by sourcediff.{outer})" if outer else "")
    else:
        message = f"{outer or 'a transform'} of {what} is not composed"
    raise UnsupportedSyntaxError(  # (not SourceUnavailableError: no fallback to the tape)
        message, filename=filename, lineno=lineno,
        source_line=line, construct=what, hint=WORKS)


def own_call(fn):
    """The construct a call of ``fn`` (a transform of sourcediff's, not a gradient) on a
    differentiated value is refused as, or None for any other function."""
    return f"a call of {describe(fn)}{INSIDE}" if is_own(fn) else None


def refuse_call(parsed, node, construct, columns):
    """Raise for the call ``node`` of a transform of sourcediff's in ``parsed`` (the user's
    function), which receives a differentiated value."""
    lineno = getattr(node, "lineno", None)
    raise MissingRuleError(
        f"sourcediff does not differentiate {construct} (it receives a value that "
        "depends on the differentiated input)",
        function=parsed.name, filename=parsed.filename, lineno=lineno,
        source_line=parsed.line(lineno), construct=construct, **columns, hint=WORKS)
