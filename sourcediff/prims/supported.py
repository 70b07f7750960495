"""Write ``docs/supported.md``, the differentiable functions, from the rule table.

Run ``python -m sourcediff.prims.supported`` after adding a rule; a test checks the file is
current. Helpers that only generated code calls (``sourcediff.*``) are left out.
"""

from __future__ import annotations

import sys
from pathlib import Path

from . import registry, rules  # noqa: F401  (rules fills the table)

PATH = Path(__file__).resolve().parent.parent / "docs" / "supported.md"
_GROUPS = [("NumPy", "np."), ("np.linalg", "np.linalg."), ("np.fft", "np.fft."), ("SciPy", "scipy."),
           ("math", "math."), ("Python operators and builtins", "")]


# old names of a listed function, registered only where this NumPy still has them (so the
# page is the same whichever NumPy builds it)
_ALIASES = {"np.row_stack"}


def names():
    """The user-facing differentiable functions, sorted."""
    return sorted({r.name for r in registry._RULES.values()
                   if r.user_vjp is None and r.user_jvp is None and (r.vjps or r.seq_vjps)
                   and not r.name.startswith("sourcediff.") and r.name not in _ALIASES})


def _group(name):
    for title, prefix in reversed(_GROUPS[:-1]):
        if name.startswith(prefix):
            return title
    return _GROUPS[-1][0]


def render():
    all_names = names()
    out = ["# Differentiable functions", "",
           f"{len(all_names)} functions have derivative rules (reverse, forward and the tape "
           "use the same table). Generated from the rule table by "
           "`python -m sourcediff.prims.supported`; do not edit by hand. SciPy's are registered "
           "when SciPy is installed.", ""]
    for title, _ in _GROUPS:
        group = [n for n in all_names if _group(n) == title]
        if group:
            out += [f"## {title} ({len(group)})", "", ", ".join(f"`{n}`" for n in group), ""]
    return "\n".join(out)


def main():
    PATH.write_text(render())
    print(f"wrote {PATH} ({len(names())} functions)", file=sys.stderr)


if __name__ == "__main__":
    main()
