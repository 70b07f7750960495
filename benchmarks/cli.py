"""Command line: ``python -m benchmarks [--quick] [--only NAME] [--markdown F] [--plot F]``."""

from __future__ import annotations

import argparse
import os
import sys
import time

from . import harness, methods, report, workloads
from .timing import Settings


def _split(values):
    out = []
    for v in values or ():
        out.extend(x for x in v.split(",") if x.strip())
    return out


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Time sourcediff's generated gradients against the forward pass, "
                    "hand-written NumPy gradients, sourcediff's tape and peer AD tools.")
    p.add_argument("--quick", action="store_true",
                   help="tiny sizes and few repeats (CI smoke test; numbers are not meaningful)")
    p.add_argument("--only", action="append", metavar="NAME",
                   help="workload(s) to run: name, group, prefix or letter a-f; "
                        "comma-separated or repeated (default: all)")
    p.add_argument("--methods", action="append", metavar="NAME",
                   help="method(s) besides forward and hand: sourcediff, tape, autograd, "
                        "torch, jax, jax-jit, tangent, or 'peers' (default: all)")
    p.add_argument("--no-peers", action="store_true", help="skip all peer frameworks")
    p.add_argument("--markdown", metavar="FILE", help="also write the tables to FILE")
    p.add_argument("--json", metavar="FILE", help="write raw results as JSON to FILE")
    p.add_argument("--plot", metavar="FILE.png", help="plot the scaling sweep and ratios")
    p.add_argument("--dump-source", metavar="DIR",
                   help="write sourcediff.source(grad(f)) of each workload into DIR")
    p.add_argument("--min-sample", type=float, metavar="SEC",
                   help="minimum duration of one timing sample (default 5 ms; quick 0.2 ms)")
    p.add_argument("--samples", type=int, metavar="N", help="maximum samples per method")
    p.add_argument("--cpu-time", action="store_true",
                   help="time by the CPU time of this process, not wall time (on a machine "
                        "busy with other jobs: waiting for a core is left out)")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 if hand/sourcediff/tape FAILED or any method MISMATCHed")
    p.add_argument("--list", action="store_true", help="list workloads and methods, then exit")
    p.add_argument("--verbose", action="store_true", help="print tracebacks of failures")
    return p.parse_args(argv)


def dump_sources(wls, directory):
    try:
        import sourcediff
        source = sourcediff.source
    except Exception as exc:
        print(f"--dump-source: sourcediff not usable ({type(exc).__name__}: {exc})",
              file=sys.stderr)
        return
    os.makedirs(directory, exist_ok=True)
    done = set()
    for wl in wls:
        if wl.group in done:
            continue
        done.add(wl.group)
        path = os.path.join(directory, f"{wl.group}.py")
        try:
            g = sourcediff.grad(wl.fn, wrt=wl.wrt_arg)
            try:
                g(*wl.make_args())      # the code specialised to these inputs' shapes
            except Exception as exc:
                print(f"--dump-source: {wl.name}: {type(exc).__name__}: {exc}",
                      file=sys.stderr)
            text = source(g)
        except Exception as exc:
            text = f"# failed: {type(exc).__name__}: {exc}\n"
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
        print(f"wrote {path}", file=sys.stderr)


def main(argv=None):
    args = parse_args(argv)
    all_wls = workloads.all_workloads(quick=args.quick)
    wls = workloads.select(all_wls, _split(args.only))
    meths = methods.select(_split(args.methods))
    if args.no_peers:
        meths = [m for m in meths if m.kind != "peer"]
    if args.list:
        for w in all_wls:
            print(f"({w.letter}) {w.name:<18} {w.title}")
        for m in methods.METHODS:
            print(f"method {m.name:<11} {m.label}")
        return 0
    settings = Settings.quick() if args.quick else Settings()
    if args.min_sample is not None:
        settings.min_sample = args.min_sample
    if args.samples is not None:
        settings.max_samples = args.samples
        settings.min_samples = min(settings.min_samples, args.samples)
    if args.cpu_time:
        settings.clock = time.process_time
    if args.dump_source:
        dump_sources(wls, args.dump_source)

    rows = harness.run(wls, meths, settings, verbose=args.verbose)
    env = report.environment(("quick" if args.quick else "full")
                             + (", CPU time" if args.cpu_time else ""))
    md = report.markdown(rows, env)
    print(report.stdout_encoding_safe(md))
    if args.markdown:
        _write(args.markdown, md)
    if args.json:
        _write(args.json, report.to_json(rows, env))
    if args.plot:
        note = report.plot(rows, args.plot)
        print(note or f"plot written to {args.plot}", file=sys.stderr)
    if args.strict:
        bad = [r for r in rows
               if r.status == harness.MISMATCH
               or (r.status == harness.FAILED and r.method.kind != "peer")]
        if bad:
            for r in bad:
                print(f"{r.workload.name} / {r.method.name}: {r.status}: {r.note}",
                      file=sys.stderr)
            return 1
    return 0


def _write(path, text):
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
