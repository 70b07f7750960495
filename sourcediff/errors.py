"""Errors raised by sourcediff.

Every user-facing error is a :class:`SourceDiffError`. Errors about a piece of
user code carry the function name, ``file:line``, the construct, and a hint
saying what to do instead, and format them as one readable message.
"""

from __future__ import annotations


class SourceDiffError(Exception):
    """Base class of everything sourcediff raises on purpose."""

    def __init__(self, message, *, function=None, filename=None, lineno=None,
                 construct=None, hint=None, source_line=None, col=None):
        self.function = function
        self.filename = filename
        self.lineno = lineno
        self.construct = construct
        self.hint = hint
        self.source_line = source_line
        self.col = col
        self.bare_message = message
        super().__init__(self._format(message))

    def _format(self, message):
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
                parts.append("    " + " " * caret_at + "^")
        if self.hint:
            parts.append(f"Hint: {self.hint}")
        return "\n".join(parts)


class UnsupportedSyntaxError(SourceDiffError):
    """A construct the compiler does not transform (rejected before any work)."""


class MissingRuleError(SourceDiffError):
    """A call to a function that has no derivative rule."""


class NonScalarOutputError(SourceDiffError):
    """``grad`` of a function whose output is not a scalar."""


class ArgumentError(SourceDiffError):
    """Bad arguments to the API: unknown ``wrt``, int inputs, wrong shapes..."""


class SourceUnavailableError(SourceDiffError):
    """The function's source cannot be read (interactive, exec, builtin)."""
