"""Write ``docs/supported.md``, the differentiable functions, from the rule table.

Run ``python -m sourcediff.prims.supported`` after adding a rule; a test checks the file is
current. Helpers that only generated code calls (``sourcediff.*``) are left out.
"""

from __future__ import annotations

import sys
from pathlib import Path

from . import registry, rules  # noqa: F401  (rules fills the table)

PATH = Path(__file__).resolve().parents[2] / "docs" / "supported.md"
_GROUPS = [("NumPy", "np."), ("np.linalg", "np.linalg."), ("np.fft", "np.fft."), ("SciPy", "scipy."),
           ("math", "math."), ("Python operators and builtins", "")]


# old names of a listed function, registered only where this NumPy still has them (so the
# page is the same whichever NumPy builds it)
_ALIASES = {"np.row_stack", "np.trapz"}


def names():
    """The user-facing differentiable functions, sorted."""
    ruled = {r.name for r in registry._RULES.values()
             if r.user_vjp is None and r.user_jvp is None and (r.vjps or r.seq_vjps)
             and not r.name.startswith("sourcediff.") and r.name not in _ALIASES}
    defined = {d.__sourcediff_defines__ for _, d in registry._VIA.values()}  # (defvia)
    return sorted(ruled | (defined - _ALIASES))


def _group(name):
    for title, prefix in reversed(_GROUPS[:-1]):
        if name.startswith(prefix):
            return title
    return _GROUPS[-1][0]


def render():
    all_names = names()
    out = ["# Differentiable functions", "",
           f"{len(all_names)} functions have derivative rules (reverse, forward and the tape "
           "use the same table; a few, such as `np.trapezoid`, are differentiated through "
           "a definition in NumPy: `sourcediff/prims/definitions.py`). Generated from the rule table by "
           "`python -m sourcediff.prims.supported`; do not edit by hand. SciPy's are registered "
           "when SciPy is installed.", ""]
    for title, _ in _GROUPS:
        group = [n for n in all_names if _group(n) == title]
        if group:
            out += [f"## {title} ({len(group)})", "", ", ".join(f"`{n}`" for n in group), ""]
    out += ["## Arguments without a derivative", "",
            "A differentiated value reaching one of these is an error (a `MissingRuleError` "
            "naming the argument), never a silent zero; the function's other arguments are "
            "differentiable.", ""]
    out += [f"- `{name}`: not in {', '.join(f'`{p}`' for p in params)}" + (
            f" ({why})" if why else "") for name, params, why in refused()]
    return "\n".join(out) + "\n"


def refused():
    """``(function, [parameters refused], reason or None)`` of the user-facing rules that
    refuse a parameter (one a differentiated value may reach that has no rule)."""
    out = {}
    for r in registry._RULES.values():
        if r.user or r.name.startswith("sourcediff.") or r.name in _ALIASES:
            continue
        params = [p.name for p in r.params if r.refuses(p.name)]
        if params:
            out[r.name] = (params, "; ".join(dict.fromkeys(
                r.why[p] for p in params if p in r.why)) or None)
    return [(name, *out[name]) for name in sorted(out)]


def main():
    PATH.write_text(render())
    print(f"wrote {PATH} ({len(names())} functions)", file=sys.stderr)


if __name__ == "__main__":
    main()
