"""Which lambda of a line a code object came from.

``inspect`` gives a lambda's whole source line, and one line may hold several lambdas
with the same parameters (``f, g = lambda x: x ** 2, lambda x: np.sin(x)``). Their
parameters and the names they read may not tell them apart. Where their texts differ,
each candidate is compiled and its bytecode compared with the code object's; failing
that, the columns of the code's instructions (``co_positions``, Python 3.11+) name the
lambda whose body spans them. A candidate still in doubt is refused, never guessed.
"""

from __future__ import annotations

import ast

import astor
import gast

from ..errors import SourceUnavailableError
from .source_check import compiled_from, fingerprint


def text(lam):
    """A lambda's canonical text (positions and formatting left out); ``lam`` a gast node,
    or a standard ``ast`` one."""
    tree = lam if type(lam).__module__ == "ast" else gast.gast_to_ast(lam)
    return astor.to_source(tree).strip()


def _by_code(texts, code):
    """The indices of ``texts`` (lambdas) that compile to what ``code`` computes."""
    want = fingerprint(code)
    return [i for i, text in enumerate(texts)
            if (other := compiled_from(text, code)) is not None and fingerprint(other) == want]


def _span(code):
    """The (line, column) span of ``code``'s instructions in its file, or None."""
    positions = getattr(code, "co_positions", None)
    if positions is None:
        return None
    spots = [(a, c, b, d) for a, b, c, d in positions()
             if None not in (a, b, c, d) and (c, d) != (0, 0)]
    if not spots:
        return None
    return min((a, c) for a, c, _, _ in spots), max((b, d) for _, _, b, d in spots)


def _in_file(code, file_lines):
    """The text of the innermost lambda in the file whose body spans ``code``'s
    instructions, or None."""
    span = _span(code)
    if span is None or not file_lines:
        return None
    try:
        tree = ast.parse("".join(file_lines))
    except (SyntaxError, ValueError):
        return None
    (start, end) = span
    around = [n for n in ast.walk(tree) if isinstance(n, ast.Lambda)
              and (n.body.lineno, n.body.col_offset) <= start
              and (n.body.end_lineno, n.body.end_col_offset) >= end]
    if not around:
        return None
    inner = min(around, key=lambda n: (n.end_lineno - n.lineno, n.end_col_offset - n.col_offset))
    return text(inner)


def pick(fits, code, file_lines, name):
    """The one lambda of ``fits`` (gast nodes that all fit ``code``'s parameters and
    names) that compiled to ``code``."""
    texts = [text(lam) for lam in fits]
    if len(set(texts)) == 1:  # the same text: any of them is the function
        return fits[0]
    same = _by_code(texts, code)
    if len({texts[i] for i in same}) == 1:
        return fits[same[0]]
    found = _in_file(code, file_lines)
    if found is not None and found in texts:
        return fits[texts.index(found)]
    raise SourceUnavailableError(
        f"cannot tell which of {len(fits)} lambdas on one line is '{name}'",
        function=name, filename=code.co_filename, lineno=code.co_firstlineno,
        hint="define each lambda on its own line, or with def")
