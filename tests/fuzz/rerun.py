"""Check again every program a long run wrote to its ``.failures`` file.

    python -m fuzz.rerun fuzz-report.txt.failures        (from tests/)

Arguments are read back from the printed ``repr`` (8 significant digits), so a
program whose failure depended on the last digits may now pass; the usual report
is printed for the ones that still fail.
"""

from __future__ import annotations

import argparse
import re
import warnings

import numpy as np

from .check import FuzzMismatch, check_program, load_program
from .generate import Program

_HEADER = re.compile(r"--- program \(seed=(\d+), wrt=(.*), tape_ok=(True|False)\) ---\n")


def failures(text):
    """(program, args) for each failure block of a ``.failures`` file."""
    for block in text.split("=" * 80):
        m = _HEADER.search(block)
        if not m or "--- args ---" not in block:
            continue
        source, args = block[m.end():].split("--- args ---", 1)
        wrt = eval(m.group(2), {})  # noqa: S307 - our own report
        prog = Program(source, "f", None, wrt, m.group(3) == "True")
        # the program's own names (its dataclass ``Params``) for the printed arguments
        ns = {**vars(load_program(prog)), "array": np.array, "np": np, "float64": np.float64}
        yield prog, eval(args.strip(), ns)  # noqa: S307


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("path")
    opts = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    still = 0
    with open(opts.path) as fh:
        cases = list(failures(fh.read()))
    for k, (prog, args) in enumerate(cases):
        try:
            res = check_program(prog, args=args)
            print(f"{k}: {res.status}")
        except FuzzMismatch as exc:
            still += 1
            print(f"{k}: FAIL\n{exc}\n" + "=" * 80)
    print(f"{len(cases)} programs, {still} still failing")
    return 1 if still else 0


if __name__ == "__main__":
    raise SystemExit(main())
