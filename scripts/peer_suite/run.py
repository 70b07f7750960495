"""Run HIPS autograd's own test files against sourcediff, and write what passes.

    python scripts/peer_suite/run.py PATH [--out docs/peer_suite.md] [-k EXPR]

PATH is a checkout (or a bare git directory) of https://github.com/HIPS/autograd. Its
``tests/`` are copied to a temporary directory and run by pytest with ``shim/`` first on
the path: ``import autograd`` then gives sourcediff's functions under autograd's names
(``shim/autograd/__init__.py``) and autograd's ``check_grads`` contract checked on
sourcediff (``shim/autograd/test_util.py``). Nothing of autograd runs. A test file that
imports autograd's internals (``autograd.core``, ``autograd.extend``, ...) cannot run
here and is listed as such. The report counts, per file, the tests that pass and fail,
and groups the failures by their error."""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent


def copy_tests(source: Path, dest: Path) -> str:
    """Copy autograd's tests/ into ``dest``; return the commit (or "unknown")."""
    if (source / "tests").is_dir():
        subprocess.run(["cp", "-r", str(source / "tests"), str(dest)], check=True)
        git = ["git", "-C", str(source)]
    else:  # a bare git directory
        archive = subprocess.run(["git", f"--git-dir={source}", "archive", "HEAD", "tests"],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
        git = ["git", f"--git-dir={source}"]
    done = subprocess.run([*git, "log", "-1", "--format=%h %cs"], capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def first_line(text: str) -> str:
    for line in (text or "").splitlines():
        line = line.strip()
        if line.startswith("E "):
            return line[2:].strip()[:160]
    return (text or "").strip().splitlines()[0][:160] if text else "?"


def summarise(xml: Path):
    per_file = collections.defaultdict(collections.Counter)
    reasons = collections.Counter()
    examples = {}
    for case in ET.parse(xml).iter("testcase"):
        name = case.get("classname", "").split(".")[-1] or case.get("file", "?")
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed"
                reason = first_line(child.get("message", "") + "\n" + (child.text or ""))
                reasons[reason] += 1
                examples.setdefault(reason, f"{name}::{case.get('name')}")
            elif child.tag == "skipped":
                outcome = "skipped"
        per_file[name][outcome] += 1
    return per_file, reasons, examples


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path", type=Path)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("-k", default=None)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        commit = copy_tests(args.path, tmp)
        xml = tmp / "report.xml"
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(HERE / "shim"), str(tmp / "tests"), os.environ.get("PYTHONPATH", "")]),
            OPENBLAS_NUM_THREADS="1")
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               f"--junitxml={xml}", "--continue-on-collection-errors", str(tmp / "tests")]
        if args.k:
            cmd += ["-k", args.k]
        subprocess.run(cmd, env=env, cwd=tmp, stdout=subprocess.DEVNULL)
        per_file, reasons, examples = summarise(xml)
        collected = {p.stem for p in (tmp / "tests").glob("test_*.py")}
    lines = ["# autograd's test suite, run against sourcediff\n",
             f"HIPS/autograd `tests/` at {commit}, run by `scripts/peer_suite/run.py`.\n",
             "| file | passed | failed | skipped |", "|---|---:|---:|---:|"]
    total = collections.Counter()
    for name in sorted(per_file):
        c = per_file[name]
        total.update(c)
        lines.append(f"| {name} | {c['passed']} | {c['failed']} | {c['skipped']} |")
    lines.append(f"| **total** | {total['passed']} | {total['failed']} | {total['skipped']} |")
    missing = sorted(collected - set(per_file))
    if missing:
        lines.append(f"\nNot collected (import autograd internals): {', '.join(missing)}\n")
    lines.append("\n## Failures by error\n")
    lines += [f"- {n} x `{r}` (e.g. `{examples[r]}`)" for r, n in reasons.most_common()]
    text = "\n".join(lines) + "\n"
    if args.out:
        args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
