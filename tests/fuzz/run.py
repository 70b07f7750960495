"""A non-stopping fuzz run that counts outcomes (the long run's bookkeeping).

    python -m fuzz.run --programs 10000 --minutes 25 --out fuzz-report.txt   (from tests/)

Unlike the hypothesis tests it does not stop or shrink at the first failure: it
keeps going and tallies ok / skipped / declined / known-bug / new-failure per
strategy, writing the tally and every new failure to ``--out`` as it goes.
"""

from __future__ import annotations

import argparse
import collections
import signal
import time
import warnings

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .check import FuzzMismatch, check_program
from .generate import CONSTRUCTS, STRATEGIES, programs


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout()


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--programs", type=int, default=10_000)
    ap.add_argument("--minutes", type=float, default=25.0)
    ap.add_argument("--out", default="fuzz-report.txt")
    ap.add_argument("--timeout", type=int, default=60, help="seconds per program")
    ap.add_argument("--strategies", default=",".join(STRATEGIES),
                    help="comma-separated subset of " + ", ".join(STRATEGIES))
    opts = ap.parse_args(argv)
    signal.signal(signal.SIGALRM, _alarm)
    warnings.simplefilter("ignore")
    stats = collections.defaultdict(collections.Counter)
    constructs = collections.defaultdict(collections.Counter)   # tag -> status counts
    declined = collections.Counter()                             # refusal -> count
    failures = collections.Counter()
    deadline = time.time() + 60 * opts.minutes
    chosen = [name for name in opts.strategies.split(",") if name]
    unknown = set(chosen) - set(STRATEGIES)
    if unknown:
        ap.error(f"unknown strategies: {', '.join(sorted(unknown))}")
    per = opts.programs // len(chosen)
    start = time.time()

    def report(final=False):
        with open(opts.out, "w") as fh:
            total = sum(sum(c.values()) for c in stats.values())
            fh.write(f"programs: {total} in {time.time() - start:.0f} s"
                     f"{' (final)' if final else ''}\n")
            for name, c in stats.items():
                fh.write(f"  {name}: {dict(c)}\n")
            fh.write("programs with each construct of generate.CONSTRUCTS, by outcome:\n")
            for tag in CONSTRUCTS:
                fh.write(f"  {tag}: {dict(constructs[tag])}\n")
            fh.write("declined, by first line of the refusal:\n")
            for line, n in declined.most_common():
                fh.write(f"  {n:5d}  {line}\n")
            fh.write("new failures by first line:\n")
            for line, n in failures.most_common():
                fh.write(f"  {n:5d}  {line}\n")

    def runner(name, feats):
        @settings(max_examples=per, deadline=None, database=None, phases=["generate"],
                  suppress_health_check=list(HealthCheck))
        @given(prog=programs(feats), seed=st.integers(0, 2**32 - 1))
        def one(prog, seed):
            if time.time() > deadline:
                return
            signal.alarm(opts.timeout)
            status = "FAIL"
            try:
                res = check_program(prog, seed)
                status = res.status
                stats[name][res.status] += 1
                if res.status == "declined":
                    declined[res.detail.split("\n")[0][:120]] += 1
            except _Timeout:
                status = "TIMEOUT"
                stats[name]["TIMEOUT"] += 1
                with open(opts.out + ".failures", "a") as fh:
                    fh.write(f"TIMEOUT (> {opts.timeout} s)\n{prog.source}\n" + "=" * 80 + "\n")
            except FuzzMismatch as exc:
                stats[name]["FAIL"] += 1
                lines = str(exc).split("\n")
                failures[f"{lines[0]} | {lines[1][:90]}"] += 1
                with open(opts.out + ".failures", "a") as fh:
                    fh.write(str(exc) + "\n" + "=" * 80 + "\n")
            finally:
                signal.alarm(0)
                for tag in CONSTRUCTS:
                    if tag in prog.features:
                        constructs[tag][status] += 1
            if sum(stats[name].values()) % 100 == 0:
                report()
        return one

    for name in chosen:
        runner(name, STRATEGIES[name])()
    report(final=True)


if __name__ == "__main__":
    main()
