"""Markdown tables, JSON and the plot."""

from __future__ import annotations

import datetime
import json
import os
import platform
import sys

import numpy as np

from .harness import OK, SKIPPED
from .methods import FIRST_CALL_COPIES, METHODS


def fmt_time(s):
    if s is None:
        return "—"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if s >= scale:
            return f"{_sig(s / scale)} {unit}"
    return f"{_sig(s / 1e-9)} ns"


def _sig(v):
    return f"{v:.3g}" if v < 100 else f"{v:.0f}"


def fmt_ratio(r):
    return "—" if r is None else (f"{r:.2f}" if r < 100 else f"{r:.0f}")


def fmt_bytes(b):
    """Peak memory: MiB, or KiB below a tenth of a MiB (where 0.01 and 0.02 MiB would
    read as a factor of two)."""
    if b is None:
        return "—"
    return f"{b / 2**20:.2f} MiB" if b >= 2**20 / 10 else f"{b / 2**10:.1f} KiB"


def _median(rows, method_name):
    for r in rows:
        if r.method.name == method_name and r.status == OK and r.timing:
            return r.timing.median
    return None


def ratios(rows, row):
    """(× hand-written, × forward) for one row of a workload's rows."""
    if row.status != OK or not row.timing:
        return None, None
    hand, fwd = _median(rows, "hand"), _median(rows, "forward")
    med = row.timing.median
    return (med / hand if hand else None), (med / fwd if fwd else None)


def by_workload(rows):
    out = {}
    for r in rows:
        out.setdefault(r.workload.name, []).append(r)
    return out


def environment(mode):
    import numpy
    info = {
        "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "mode": mode,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "platform": platform.platform(),
        "cpu": _cpu_name(),
        "cores": os.cpu_count(),
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
    }
    return info


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def markdown(rows, env):
    versions = {}
    for r in rows:
        if r.version and r.method.name not in versions:
            versions[r.method.name] = r.version
    out = ["## sourcediff benchmark results", ""]
    out.append(f"{env['date']}, {env['mode']} mode; Python {env['python']}, NumPy {env['numpy']}"
               + "".join(f", {k} {v}" for k, v in versions.items()) + ";")
    out.append(f"{env['cpu']} ({env['cores']} cores), BLAS threads = "
               f"{env['OPENBLAS_NUM_THREADS']}, {env['platform']}.")
    out.append("")
    out.append("Times are per gradient call: median over samples, spread = interquartile "
               "range; ×hand = median / hand-written gradient; ×forward = median / forward "
               "pass; first call = building the gradient (fresh function object, so any "
               "compilation is included) plus its first call, median over "
               f"{FIRST_CALL_COPIES} fresh copies; compile = first call minus a second "
               "call made right after it on the same copy, median over the copies (the "
               "one-off cost: sourcediff's code generation, JAX's tracing and XLA "
               "compilation, ...).")
    out.append("")
    groups = by_workload(rows)
    for wrows in groups.values():
        out.extend(workload_table(wrows))
    out.extend(summary_tables(rows))
    return "\n".join(out).rstrip() + "\n"


def compile_time(row):
    """The one-off cost of a method: its first call minus a second call made right after
    it (else minus its median call)."""
    if row.compile is not None:
        return row.compile
    if row.first_call is None or row.timing is None:
        return None
    return max(0.0, row.first_call - row.timing.median)


def workload_table(wrows):
    wl = wrows[0].workload
    out = [f"### ({wl.letter}) {wl.name}: {wl.title}", ""]
    head = ["method", "median", "spread (IQR)", "×hand", "×forward", "first call", "compile"]
    if wl.memory:
        head.append("peak mem")
    head.append("status")
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "|".join(["---"] + ["---:"] * (len(head) - 2) + ["---"]) + "|")
    skipped = []
    for r in wrows:
        if r.status == SKIPPED:
            skipped.append(f"{r.method.name} ({r.note})")
            continue
        t = r.timing
        rh, rf = ratios(wrows, r)
        spread = f"{fmt_time(t.q1)} – {fmt_time(t.q3)}" if t else "—"
        cells = [r.method.label, fmt_time(t.median) if t else "—", spread,
                 fmt_ratio(rh), fmt_ratio(rf), fmt_time(r.first_call),
                 fmt_time(compile_time(r))]
        if wl.memory:
            cells.append(fmt_bytes(r.peak) if r.peak is not None else "—")
        status = r.status if r.status == OK else f"**{r.status}**: {r.note}"
        cells.append(status.replace("|", "\\|"))
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    if skipped:
        out.append("Skipped: " + "; ".join(skipped) + ".")
        out.append("")
    return out


def _methods_run(rows, exclude=("forward",)):
    names = []
    for r in rows:
        if r.method.name in exclude or r.status == SKIPPED:
            continue
        if r.method.name not in names:
            names.append(r.method.name)
    return names


def summary_tables(rows):
    groups = by_workload(rows)
    names = _methods_run(rows, exclude=("forward", "hand"))
    out = []
    if names and len(groups) > 1:
        out += ["### Summary: gradient time ÷ hand-written gradient time", ""]
        out.append("| workload | " + " | ".join(names) + " |")
        out.append("|---|" + "---:|" * len(names))
        for wname, wrows in groups.items():
            cells = []
            for n in names:
                r = next((r for r in wrows if r.method.name == n), None)
                if r is None or r.status == SKIPPED:
                    cells.append("—")
                elif r.status != OK:
                    cells.append(r.status)
                else:
                    cells.append(fmt_ratio(ratios(wrows, r)[0]))
            out.append(f"| ({wrows[0].workload.letter}) {wname} | " + " | ".join(cells) + " |")
        out.append("")
    compiled = [(wname, next((r for r in wrows if r.method.name == "sourcediff"), None))
                for wname, wrows in groups.items()]
    compiled = [(wname, r) for wname, r in compiled if r is not None and r.status == OK]
    if compiled:
        out += ["### sourcediff.grad: one-off compile time (first call − the call after it)", ""]
        out.append("| workload | compile | first call |")
        out.append("|---|---:|---:|")
        for wname, r in compiled:
            out.append(f"| ({r.workload.letter}) {wname} | {fmt_time(compile_time(r))} | "
                       f"{fmt_time(r.first_call)} |")
        out.append("")
    sweep = [(name, wrows) for name, wrows in groups.items() if wrows[0].workload.size]
    if len(sweep) > 1:
        names = _methods_run([r for _, wrows in sweep for r in wrows])
        out += ["### Scaling sweep (Rosenbrock): gradient time ÷ forward time", ""]
        out.append("| n | forward | " + " | ".join(names) + " |")
        out.append("|---:|---:|" + "---:|" * len(names))
        for _, wrows in sweep:
            cells = []
            for n in names:
                r = next((r for r in wrows if r.method.name == n), None)
                if r is None or r.status == SKIPPED:
                    cells.append("—")
                elif r.status != OK:
                    cells.append(r.status)
                else:
                    cells.append(fmt_ratio(ratios(wrows, r)[1]))
            fwd = _median(wrows, "forward")
            out.append(f"| {wrows[0].workload.size:.0e} | {fmt_time(fwd)} | "
                       + " | ".join(cells) + " |")
        out.append("")
    return out


def to_json(rows, env):
    recs = []
    for name, wrows in by_workload(rows).items():
        for r in wrows:
            rh, rf = ratios(wrows, r)
            t = r.timing
            recs.append({
                "workload": name, "group": r.workload.group, "letter": r.workload.letter,
                "size": r.workload.size, "method": r.method.name, "kind": r.method.kind,
                "status": r.status, "note": r.note, "version": r.version,
                "median": t.median if t else None, "q1": t.q1 if t else None,
                "q3": t.q3 if t else None, "min": t.min if t else None,
                "max": t.max if t else None, "number": t.number if t else None,
                "samples": t.samples if t else None, "first_call": r.first_call,
                "compile": compile_time(r),
                "peak_bytes": r.peak, "ratio_hand": rh, "ratio_forward": rf,
            })
    return json.dumps({"environment": env, "results": recs}, indent=1, ensure_ascii=False)


def _color(method_name):
    if method_name == "forward":
        return "black"
    names = [m.name for m in METHODS if m.name != "forward"]
    i = names.index(method_name) if method_name in names else len(names)
    return f"C{i % 10}"


def plot(rows, path):
    """Scaling sweep (time and gradient/forward ratio vs n) and ratios to hand-written.

    Returns a note (str) if the plot could not be made, else None.
    """
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception as exc:
        return f"plot skipped: matplotlib not importable ({type(exc).__name__})"
    groups = by_workload(rows)
    sweep = [wrows for wrows in groups.values() if wrows[0].workload.size]
    other = [wrows for wrows in groups.values() if not wrows[0].workload.size]
    fig, axes = plt.subplots(1, 3, figsize=(17, 5))
    names = _methods_run([r for w in sweep for r in w], exclude=())
    for n in names:
        xs, ts, rs = [], [], []
        for wrows in sweep:
            r = next((r for r in wrows if r.method.name == n and r.status == OK), None)
            if r is None or not r.timing:
                continue
            xs.append(wrows[0].workload.size)
            ts.append(r.timing.median)
            rs.append(ratios(wrows, r)[1])
        if not xs:
            continue
        style = "--" if n == "forward" else "o-"
        axes[0].loglog(xs, ts, style, color=_color(n), label=n)
        if n != "forward":
            axes[1].semilogx(xs, rs, style, color=_color(n), label=n)
    axes[0].set(title="Rosenbrock: time per call", xlabel="n", ylabel="seconds")
    axes[1].set(title="Rosenbrock: gradient time / forward time", xlabel="n",
                ylabel="ratio")
    axes[1].set_yscale("log")
    for ax in axes[:2]:
        ax.grid(True, which="both", alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    names = _methods_run([r for w in other for r in w], exclude=("forward", "hand"))
    if other and names:
        width = 0.8 / len(names)
        for j, n in enumerate(names):
            vals = []
            for wrows in other:
                r = next((r for r in wrows if r.method.name == n and r.status == OK), None)
                rh = ratios(wrows, r)[0] if r is not None else None
                vals.append(np.nan if rh is None else rh)
            axes[2].bar(np.arange(len(other)) + j * width, vals, width, label=n,
                        color=_color(n))
        axes[2].set_xticks(np.arange(len(other)) + 0.4 - width / 2)
        axes[2].set_xticklabels([f"({w[0].workload.letter}) {w[0].workload.name}"
                                 for w in other], rotation=20, fontsize=8)
        axes[2].set_yscale("log")
        axes[2].axhline(1.0, color="k", lw=0.8)
        axes[2].set(title="gradient time / hand-written gradient time", ylabel="ratio")
        axes[2].legend(fontsize=8)
        axes[2].grid(True, axis="y", which="both", alpha=0.3)
    else:
        axes[2].set_axis_off()
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None


def stdout_encoding_safe(text):
    enc = getattr(sys.stdout, "encoding", None) or "utf-8"
    try:
        text.encode(enc)
        return text
    except UnicodeEncodeError:
        return text.encode(enc, errors="replace").decode(enc)
