"""Errors raised by sourcediff.

Every user-facing error is a :class:`SourceDiffError`. Errors about a piece of
user code carry the function name, ``file:line``, the construct, and a hint
saying what to do instead, and format them as one readable message.
"""

from __future__ import annotations


class SourceDiffError(Exception):
    """Base class of everything sourcediff raises on purpose.

    The message names the function, ``file:line``, the construct, shows the
    source line with a caret under the construct, and ends with a hint saying
    what to do instead. The parts are also attributes, for tools.

    Parameters
    ----------
    message : str
        What went wrong (``bare_message``).
    function, filename, lineno : optional
        Where: the user function's name, its file and the line in that file.
    construct : str, optional
        The construct refused (``"np.linalg.eigh"``, ``"global"``...).
    hint : str, optional
        What to do instead.
    source_line : str, optional
        The file's line, as in the file.
    col, end_col : int, optional
        The construct's columns in ``source_line`` (``ast`` ``col_offset`` and
        ``end_col_offset``); the caret runs from one to the other.

    Examples
    --------
    >>> import math
    >>> from sourcediff import SourceDiffError, grad
    >>> def f(x):
    ...     return 1.0 + math.gamma(x) * 2.0
    >>> try:
    ...     grad(f)(1.5)
    ... except SourceDiffError as err:
    ...     print(type(err).__name__, "|", err.construct)
    ...     for line in str(err).splitlines()[1:3]:
    ...         print(line)
    MissingRuleError | math.gamma
        return 1.0 + math.gamma(x) * 2.0
                     ^^^^^^^^^^^^^
    """

    def __init__(self, message: str, *, function: str | None = None,
                 filename: str | None = None, lineno: int | None = None,
                 construct: str | None = None, hint: str | None = None,
                 source_line: str | None = None, col: int | None = None,
                 end_col: int | None = None) -> None:
        self.function = function
        self.filename = filename
        self.lineno = lineno
        self.construct = construct
        self.hint = hint
        self.source_line = source_line
        self.col = col
        self.end_col = end_col
        self.bare_message = message
        super().__init__(self._format(message))

    def _format(self, message: str) -> str:
        parts = []
        where = ""
        if self.function:
            where = f"in function '{self.function}'"
        if self.filename:
            loc = f"{self.filename}:{self.lineno}" if self.lineno else self.filename
            where = f"{where} ({loc})" if where else loc
        parts.append(f"{message}" + (f" {where}" if where else ""))
        if self.source_line:
            text = self.source_line.strip()
            parts.append("    " + text)
            if self.col is not None:  # col counts from the start of the file's line
                indent = len(self.source_line) - len(self.source_line.lstrip())
                caret_at = min(max(self.col - indent, 0), max(len(text) - 1, 0))
                width = 1   # under the whole construct when its end is on this line
                if self.end_col is not None and self.end_col > self.col:
                    width = max(min(self.end_col - self.col, len(text) - caret_at), 1)
                parts.append("    " + " " * caret_at + "^" * width)
        if self.hint:
            parts.append(f"Hint: {self.hint}")
        return "\n".join(parts)


class UnsupportedSyntaxError(SourceDiffError):
    """A construct the compiler does not transform (rejected before any work).

    The hint says how to rewrite it; ``grad(f, mode="tape")`` differentiates
    any Python.

    Examples
    --------
    >>> from sourcediff import UnsupportedSyntaxError, grad
    >>> def f(x):
    ...     global counter
    ...     return x * 2.0
    >>> try:
    ...     grad(f)(1.0)
    ... except UnsupportedSyntaxError as err:
    ...     print(err.bare_message)
    sourcediff cannot differentiate global
    >>> grad(f, mode="tape")(1.0)
    2.0
    """


class MissingRuleError(SourceDiffError):
    """A differentiated value reaches an operation that has no derivative rule.

    Never a silent zero: rewrite with operations that have rules, give the
    function a rule with :func:`primitive`, or cut the gradient on purpose
    with :func:`stop_gradient`.

    Examples
    --------
    >>> import math
    >>> from sourcediff import MissingRuleError, grad, stop_gradient
    >>> def f(x):
    ...     return x * math.gamma(x)
    >>> try:
    ...     grad(f)(1.5)
    ... except MissingRuleError as err:
    ...     print(err.bare_message)
    no derivative rule for math.gamma
    >>> def g(x):                       # the gradient cut on purpose
    ...     return x * stop_gradient(math.gamma(x))
    >>> round(grad(g)(1.5), 6)
    0.886227
    """


class NonScalarOutputError(SourceDiffError):
    """``grad`` of a function whose output is not a scalar.

    Use :func:`vjp`, :func:`jvp` or :func:`jacobian` for array outputs.

    Examples
    --------
    >>> import numpy as np
    >>> from sourcediff import NonScalarOutputError, grad
    >>> def f(x):
    ...     return x * 2.0
    >>> try:
    ...     grad(f)(np.ones(3))
    ... except NonScalarOutputError as err:
    ...     print(type(err).__name__)
    NonScalarOutputError
    """


class ArgumentError(SourceDiffError):
    """Bad arguments to the API: unknown ``wrt``, integer inputs, wrong shapes...

    Examples
    --------
    >>> from sourcediff import ArgumentError, grad
    >>> def f(x):
    ...     return x * 2.0
    >>> try:
    ...     grad(f)(3)
    ... except ArgumentError as err:
    ...     print(type(err).__name__)
    ArgumentError
    """


class SourceUnavailableError(SourceDiffError):
    """The function's source cannot be read (made by ``exec``, a builtin...).

    :func:`grad` and :func:`vjp` then use the runtime tape and warn; this is
    raised where no fallback exists (:func:`source` of such a function).

    Examples
    --------
    >>> from sourcediff import SourceUnavailableError
    >>> issubclass(SourceUnavailableError, Exception)
    True
    """


def columns(node: object, *, value: bool = False) -> dict[str, int | None]:
    """``col`` and ``end_col`` for an error about the ``ast``/``gast`` ``node``.

    With ``value``, a statement with a value (an assignment, a return) points at its
    value: the expression a missing rule is about, not the target. ``end_col`` is left
    out (a one-column caret) when the node ends on another line.
    """
    inner = getattr(node, "value", None) if value else None
    if getattr(inner, "col_offset", None) is not None:
        node = inner
    col = getattr(node, "col_offset", None)
    end = getattr(node, "end_col_offset", None)
    if getattr(node, "end_lineno", None) != getattr(node, "lineno", None):
        end = None
    return {"col": col, "end_col": end}
