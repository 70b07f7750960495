"""Write the generated source of the whole test corpus to a folder, one file per case.

Run it before and after a change that should not change what the compiler writes, and
compare the folders (``diff -r before after``):

    python scripts/dump_generated.py /tmp/before
    ... change ...
    python scripts/dump_generated.py /tmp/after && diff -r /tmp/before /tmp/after

Each case of ``tests/corpus.py`` gives its reverse-mode gradient (``grad``) and its
forward-mode tangent (``driver.build_jvp``, generic shapes); a case
the compiler refuses writes the error's first line, so a change in what is refused
shows up too.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import corpus  # noqa: E402
import showcase  # noqa: E402

import sourcediff  # noqa: E402
from sourcediff.pipeline import driver  # noqa: E402
from sourcediff.values.structure import resolve_wrt  # noqa: E402


def _generated(make, args):
    try:
        fn = make()
        fn(*args)
        return sourcediff.source(fn)
    except Exception as exc:  # noqa: BLE001 - the refusal is what is recorded
        return f"# refused: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}\n"


def _tangent(fn, wrt):
    try:
        return driver.build_jvp(fn, resolve_wrt(fn, wrt)[0]).source
    except Exception as exc:  # noqa: BLE001 - the refusal is what is recorded
        return f"# refused: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}\n"


def main(out):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cases = [(c.id, c.fn, c.wrt, c.args(np.random.default_rng(0))) for c in corpus.CASES]
    rng = np.random.default_rng(0)
    cases.append(("showcase-mlp", showcase.mlp, (0, 1, 2),
                  (rng.standard_normal((3, 4)), rng.standard_normal(4),
                   rng.standard_normal((4, 2)), rng.standard_normal((5, 3)),
                   rng.standard_normal((5, 2)))))
    for name, fn, wrt, args in cases:
        text = _generated(lambda fn=fn, wrt=wrt: sourcediff.grad(fn, wrt=wrt), args)
        (out / f"{name}.grad.py").write_text(text)
        (out / f"{name}.jvp.py").write_text(_tangent(fn, wrt))
    print(f"{len(cases)} cases written to {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "generated")
