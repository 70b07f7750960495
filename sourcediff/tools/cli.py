"""The command line: ``python -m sourcediff show|export FILE.py:FUNC``.

``show`` prints the code sourcediff generates for a function; ``export`` writes
its gradient as a standalone module (NumPy and the standard library only).
The file is imported as a module from its path (its folder first on
``sys.path``, as when running it as a script), so its imports resolve as they
do for ``@grad``; code under ``if __name__ == "__main__":`` does not run.

Without ``--shapes`` the code is generic: it works for arguments of any shape
and type, at the price of ``unbroadcast`` calls that a call of ``grad`` on real
arguments (which specialises to their shapes) would leave out.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import inspect
import os
import sys

from .. import __version__
from ..pipeline import driver
from ..prims.custom import Primitive
from ..errors import SourceDiffError
from .export import export_source
from ..values.structure import resolve_wrt

EXAMPLES = """\
examples:
  python -m sourcediff show examples/sigmoid_loss.py:loss --wrt w,b
  python -m sourcediff show examples/sigmoid_loss.py:loss --wrt 0 --mode fwd
  python -m sourcediff show examples/sigmoid_loss.py:loss --wrt w,b --shapes "w=();b=();x=();t=();lam=()"
  python -m sourcediff export examples/sigmoid_loss.py:loss --wrt w,b -o loss_grad.py
"""


class UsageError(Exception):
    """Bad command-line input: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{message} (see python -m sourcediff --help)")


def _parser():
    p = _Parser(prog="python -m sourcediff", description="sourcediff: show or export the "
                "code generated for a function.", epilog=EXAMPLES,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"sourcediff {__version__}")
    sub = p.add_subparsers(dest="command", metavar="{show,export}")
    sub.required = True
    for name, text in (("show", "print the generated source"),
                       ("export", "write the gradient as a standalone module")):
        s = sub.add_parser(name, help=text, description=text, epilog=EXAMPLES,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        s.add_argument("target", metavar="FILE.py:FUNC", help="a module-level function")
        s.add_argument("--wrt", default="0", help="arguments to differentiate, by index or "
                       "name, comma separated (default: 0)")
        s.add_argument("--shapes", default=None, metavar="NAME=SHAPE;...",
                       help='specialise to argument shapes, e.g. "w=(10, 20);b=()" ('
                            '"()" is a scalar); the code is then valid only for those shapes')
        if name == "show":
            s.add_argument("--mode", choices=("rev", "fwd"), default="rev",
                           help="rev: the adjoint (grad); fwd: the tangent (jvp)")
        else:
            s.add_argument("-o", "--output", required=True, metavar="OUT.py",
                           help="the module to write")
    return p


def split_target(target):
    """``"path/to/file.py:func"`` -> (path, func)."""
    path, sep, func = target.rpartition(":")
    if not sep or not path or not func:
        raise UsageError(f"expected FILE.py:FUNC, got {target!r}")
    if not all(part.isidentifier() for part in func.split(".")):
        raise UsageError(f"{func!r} is not a function name (in {target!r})")
    return path, func


def load_module(path):
    """Import the file at ``path`` as a module, its folder first on ``sys.path``."""
    if not os.path.isfile(path):
        raise UsageError(f"no such file: {path}")
    folder = os.path.dirname(os.path.abspath(path))
    stem = os.path.splitext(os.path.basename(path))[0]
    name = stem if stem.isidentifier() and stem not in sys.modules else \
        "_sourcediff_user_" + "".join(c if c.isalnum() else "_" for c in stem)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"cannot import {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise UsageError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None
    except Exception as exc:  # the user's module failed while importing
        raise UsageError(f"importing {path} failed: {type(exc).__name__}: {exc}") from None
    return module


def find_function(module, func, path):
    obj = module
    for part in func.split("."):
        if not hasattr(obj, part):
            raise UsageError(f"{path} has no function {func!r}")
        obj = getattr(obj, part)
    if isinstance(obj, Primitive):
        raise UsageError(f"{func!r} in {path} is a sourcediff.primitive: its derivative is "
                         "the rule given to defvjp, not generated code")
    obj = getattr(obj, "__sourcediff_state__", obj)  # @grad-decorated: its function
    obj = getattr(obj, "fn", obj) if type(obj).__module__.startswith("sourcediff") else obj
    if not callable(obj) or not hasattr(obj, "__code__"):
        raise UsageError(f"{func!r} in {path} is not a Python function")
    return obj


def parse_wrt(text, fn):
    """``"0,b"`` -> (indices, single?): digits are indices, anything else a name."""
    items = [w.strip() for w in text.split(",")]
    if not all(items):
        raise UsageError(f"--wrt {text!r} has an empty item")
    wrt = [int(w) if w.lstrip("-").isdigit() else w for w in items]
    return resolve_wrt(fn, wrt[0] if len(wrt) == 1 else tuple(wrt))


def parse_shapes(text, fn):
    """``"w=(3, 2);b=()"`` -> the specialisation tuple (None for unnamed arguments)."""
    if text is None:
        return None
    params = list(inspect.signature(fn).parameters)
    spec = [None] * len(params)
    for item in filter(None, (s.strip() for s in text.split(";"))):
        name, sep, shape = item.partition("=")
        name = name.strip()
        if not sep:
            raise UsageError(f"--shapes item {item!r} is not NAME=SHAPE")
        i = int(name) if name.isdigit() else (params.index(name) if name in params else None)
        if i is None or not 0 <= i < len(params):
            raise UsageError(f"--shapes names no argument {name!r} of {fn.__name__} "
                             f"(its arguments are {', '.join(params)})")
        try:
            value = ast.literal_eval(shape.strip())
        except (ValueError, SyntaxError):
            value = None
        if isinstance(value, int):
            value = (value,)
        if not (isinstance(value, tuple) and all(isinstance(n, int) and n >= 0 for n in value)):
            raise UsageError(f"--shapes {name}={shape.strip()!r} is not a shape like (3, 2) or ()")
        spec[i] = value
    return tuple(spec)


def one_line(exc):
    """A SourceDiffError as one line: message, where, hint."""
    if not isinstance(exc, SourceDiffError):
        return " ".join(str(exc).split())
    msg = exc.bare_message
    where = exc.function and f"'{exc.function}'"
    if exc.filename:
        loc = f"{exc.filename}:{exc.lineno}" if exc.lineno else exc.filename
        where = f"{where} at {loc}" if where else loc
    text = f"{msg} ({where})" if where else msg
    if exc.hint:
        text += f"; hint: {exc.hint}"
    return " ".join(text.split())


def _header(path, fn, wrt_names, mode, spec):
    what = "adjoint (reverse mode, grad)" if mode == "rev" else "tangent (forward mode, jvp)"
    lines = [f"# sourcediff {__version__}: {what} of {fn.__name__} in {path}",
             f"# with respect to {', '.join(wrt_names)}."]
    if spec is None or all(s is None for s in spec):
        lines += ["# Generic code: not specialised to argument types or shapes. grad() called",
                  "# on real arguments specialises to their shapes and may generate leaner code",
                  "# (pass --shapes to see it)."]
    else:
        lines += ["# Specialised to the shapes " + ", ".join(
            f"{n}={s}" for n, s in zip(fn.__code__.co_varnames, spec) if s is not None) + ";",
            "# valid only for arguments of those shapes."]
    return "\n".join(lines) + "\n"


def cmd_show(args):
    path, func = split_target(args.target)
    fn = find_function(load_module(path), func, path)
    wrt, _single = parse_wrt(args.wrt, fn)
    spec = parse_shapes(args.shapes, fn)
    if args.mode == "rev":
        adj = driver.build_adjoint(fn, wrt, specialize=spec)
    else:
        adj = driver.build_jvp(fn, wrt, specialize=spec)
    sys.stdout.write(_header(path, fn, adj.wrt_names, args.mode, spec) + "\n" + adj.source)
    return 0


def cmd_export(args):
    path, func = split_target(args.target)
    out = args.output
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise UsageError(f"cannot write {out}: no such folder {os.path.dirname(out) or '.'}")
    if not out.endswith(".py"):
        raise UsageError(f"the output {out!r} should be a .py file")
    fn = find_function(load_module(path), func, path)
    wrt, single = parse_wrt(args.wrt, fn)
    spec = parse_shapes(args.shapes, fn)
    command = f"python -m sourcediff export {path}:{func} --wrt {args.wrt}"
    if args.shapes:
        command += f' --shapes "{args.shapes}"'
    text = export_source(fn, wrt[0] if single else wrt, origin=path,
                         command=command + " -o OUT.py", specialize=spec)
    with open(out, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    print(f"wrote {out}")
    return 0


def main(argv=None):
    try:
        args = _parser().parse_args(argv)
        return cmd_show(args) if args.command == "show" else cmd_export(args)
    except (UsageError, SourceDiffError, OSError) as exc:
        print(f"sourcediff: error: {one_line(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug in sourcediff: still one line, unless debugging
        if os.environ.get("SOURCEDIFF_DEBUG"):
            raise
        print(f"sourcediff: internal error: {type(exc).__name__}: {one_line(exc)} "
              "(set SOURCEDIFF_DEBUG=1 for the traceback)", file=sys.stderr)
        return 3
