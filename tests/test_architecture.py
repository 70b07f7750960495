"""The package's shape, read with the standard ``ast`` module (nothing is imported).

- No import circle among sourcediff's modules, counting imports inside functions too:
  layers import downward only (the runtime helpers reach the compiler through
  ``compiler_hook``, never by importing the API).
- No import inside a function, except of optional dependencies and the few listed in
  ``FUNCTION_IMPORTS`` below, each with its reason.
- No module over 400 lines, except those listed in ``LONG_MODULES`` (to be split).

See docs/architecture.md for the layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "sourcediff"
MAX_LINES = 400

# imported on demand: installed or not, they are never a layer of sourcediff
OPTIONAL = {"scipy", "dask", "distributed", "torch", "jax", "numba", "cupy", "sparse",
            "xarray", "pandas", "matplotlib", "IPython"}

# (module, imported module) -> why it is imported inside a function
FUNCTION_IMPORTS = {
    # the runtime tape is imported on first use (sourcediff/__init__.py, PEP 562): importing
    # sourcediff does not pay for it
    ("sourcediff.transforms.api", "sourcediff.tape"): "grad(mode='tape')",
    ("sourcediff.transforms.adjoints", "sourcediff.tape"): "the fallback where the source is unreadable",
    ("sourcediff.transforms.pullback", "sourcediff.tape"): "the fallback where the source is unreadable",
    ("sourcediff.transforms.checkpoint_step", "sourcediff.tape"): "the fallback where a step is unreadable",
    ("sourcediff.transforms.jvp_inputs", "sourcediff.tape.api"): "the tape, to recognise its functions",
    ("sourcediff.transforms.rereverse", "sourcediff.tape.generated"): "reverse over reverse runs the tape",
    # export copies a helper's source into a standalone module: the error is imported
    # only on the path that raises it, so the copy needs no sourcediff at run time
    ("sourcediff.runtime.linalg", "sourcediff.errors"): "only where it raises (export)",
    ("sourcediff.runtime.cot", "sourcediff.errors"): "only where it raises (export)",
    ("sourcediff.runtime.calls", "sourcediff.errors"): "only where it raises (export)",
    # left for a later session (owned by others while this list was written): each is a
    # downward import that can move to the top of its module
}

# the layers, bottom first (docs/architecture.md): a module imports only modules of its own
# layer or of the layers below
LAYERS = [
    ("leaves", "errors walks nodes names codegen _typing compiler_hook"),
    ("values", "duck structure signature freevars markers lift"),
    ("early passes", "resolve split lambda_site source_check"),
    ("helpers", "runtime runtime_broadcast runtime_linalg runtime_cot runtime_calls numeric "
                "numeric_complex numeric_fft numeric_fill numeric_linalg "
                "numeric_matfun numeric_reduce numeric_shape numeric_cot numeric_ode "
                "numeric_special numeric_stats splitcall schedules"),
    ("rule table", "facts registry custom rules rules_complex rules_fft rules_fill rules_linalg "
                   "rules_reduce rules_scipy rules_shape rules_cot rules_matfun rules_ode "
                   "rules_special rules_stats supported"),
    ("passes", "parse fence calls closures normalize normalize_stmts flatten activity reverse "
               "reverse_calls reverse_index reverse_flow forward saves shapes shapes_rewrite "
               "usage deadcode optimize inplace contract fold zeros invariance scaling remat "
               "free indices"),
    ("pipeline", "driver"),
    ("compiled", "compiled"),
    ("tape", "tape tape.api tape.callsites tape.graph tape.record tape.scipy_view tape.shim "
             "tape.sweep tape.tracer tape.generated"),
    ("API", "entry adjoints gradfunction pullback api jvp_inputs higher rereverse pickling check "
            "checkpoint_step checkpoint"),
    ("tools", "export export_text cli __main__"),
]
LAYER_OF = {f"sourcediff.{m}": i for i, (_, ms) in enumerate(LAYERS) for m in ms.split()}
LAYER_OF["sourcediff"] = len(LAYERS) - 1  # the package: the public names (export reads its version)

# modules still over MAX_LINES, to be split along their ideas
LONG_MODULES: set = set()


def _modules():
    """Dotted module name -> path, for every module of the package."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _package_of(module, path):
    parts = module.split(".")
    return parts if path.name == "__init__.py" else parts[:-1]


def _targets(module, path, node):
    """The modules an import statement names (a sourcediff submodule where it is one)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        package = _package_of(module, path)
        base = ".".join(package[: len(package) - node.level + 1])
        target = f"{base}.{node.module}" if node.module else base
    else:
        target = node.module
    return [f"{target}.{a.name}" if f"{target}.{a.name}" in MODULES else target
            for a in node.names]


def _imports():
    """(module, imported module, inside a function?) for every import in the package."""
    found = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(), str(path))
        nested = {id(inner) for node in ast.walk(tree)
                  if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                  for inner in ast.walk(node) if inner is not node}
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in _targets(module, path, node):
                    found.append((module, target, id(node) in nested))
    return found


IMPORTS = _imports()


def _graph():
    graph = {m: set() for m in MODULES}
    for module, target, _ in IMPORTS:
        if target in MODULES and target != module:
            graph[module].add(target)
    return graph


def _cycle(graph):
    """One import circle as a list of modules, or None (iterative depth-first search)."""
    state = {}  # module -> 1 on the current path, 2 done
    for root in sorted(graph):
        if state.get(root):
            continue
        path, stack = [root], [iter(sorted(graph[root]))]
        state[root] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph[nxt])))
    return None


def test_the_graph_is_read():
    graph = _graph()
    assert "sourcediff.pipeline.compiled" in graph["sourcediff.transforms.api"]
    assert "sourcediff.ir.compiler_hook" in graph["sourcediff.runtime.calls"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_circle():
    cycle = _cycle(_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_runtime_helpers_do_not_import_the_compiler():
    """The helpers generated code calls reach the compiler through compiler_hook only."""
    above = {"sourcediff.transforms.api", "sourcediff.transforms.higher", "sourcediff.pipeline.compiled", "sourcediff.pipeline.driver"}
    for low in ("sourcediff.runtime", "sourcediff.runtime.broadcast", "sourcediff.runtime.linalg",
                "sourcediff.runtime.cot", "sourcediff.runtime.calls", "sourcediff.runtime.splitcall",
                "sourcediff.ir.compiler_hook"):
        assert not _graph()[low] & above, low
    assert not _graph()["sourcediff.ir.compiler_hook"]


def test_every_module_has_a_layer():
    assert not set(MODULES) - set(LAYER_OF), sorted(set(MODULES) - set(LAYER_OF))
    assert not set(LAYER_OF) - set(MODULES), sorted(set(LAYER_OF) - set(MODULES))


def test_layers_import_downward():
    up = sorted((a, b) for a, targets in _graph().items() for b in targets
                if LAYER_OF[b] > LAYER_OF[a])
    assert not up, "imports of a higher layer (see LAYERS): " + ", ".join(
        f"{a} -> {b}" for a, b in up)


def test_no_import_inside_a_function():
    unexpected = sorted({(module, target) for module, target, nested in IMPORTS
                         if nested and target.split(".")[0] not in OPTIONAL
                         and (module, target) not in FUNCTION_IMPORTS})
    assert not unexpected, ("imports inside functions (move them to the top of the "
                            f"module, or list them with a reason): {unexpected}")


def test_function_import_list_is_current():
    """An entry no longer needed is removed from the list (so it cannot hide a new one)."""
    used = {(module, target) for module, target, nested in IMPORTS if nested}
    assert not set(FUNCTION_IMPORTS) - used, sorted(set(FUNCTION_IMPORTS) - used)


def test_no_long_module():
    lengths = {m: len(p.read_text().splitlines()) for m, p in MODULES.items()}
    long = sorted(m for m, n in lengths.items() if n > MAX_LINES and m not in LONG_MODULES)
    assert not long, f"modules over {MAX_LINES} lines (split them): " + ", ".join(
        f"{m} ({lengths[m]})" for m in long)
    done = sorted(m for m in LONG_MODULES if lengths.get(m, 0) <= MAX_LINES)
    assert not done, f"now short, remove from LONG_MODULES: {done}"
