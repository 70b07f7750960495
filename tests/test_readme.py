"""README's code runs, and the generated code it shows is what sourcediff writes."""

import re
from pathlib import Path

README = (Path(__file__).parent.parent / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)


def test_readme_snippets_run_and_show_real_output(tmp_path, monkeypatch):
    runnable = [b for b in BLOCKS if not b.startswith("def loss_grad")]
    shown = [b for b in BLOCKS if b.startswith("def loss_grad")]
    assert runnable and len(shown) == 1
    # the compiler reads source, so the snippets run from a real file
    for i, block in enumerate(runnable):
        path = tmp_path / f"readme_snippet_{i}.py"
        path.write_text(block)
        monkeypatch.syspath_prepend(str(tmp_path))
        namespace = {"__name__": f"readme_snippet_{i}", "__file__": str(path)}
        exec(compile(block, str(path), "exec"), namespace)
        if "dloss" in namespace:
            from sourcediff import source
            assert source(namespace["dloss"]) == shown[0]


def test_examples_print_what_readme_quotes():
    import subprocess
    import sys
    root = Path(__file__).parent.parent
    rows = re.findall(r"\| `(examples/\w+\.py)` \| `([^`]+)` \|", README)
    assert len(rows) >= 9
    for script, line in rows:
        out = subprocess.run([sys.executable, str(root / script)], capture_output=True,
                             text=True, timeout=120, cwd=root, check=True).stdout
        assert line in out, f"{script} no longer prints {line!r}"


def test_ci_runs_the_test_command_readme_gives():
    root = Path(__file__).parent.parent
    command = re.search(r"Run the tests.*?\n\n    (.+?)\n", README, flags=re.S).group(1)
    assert "pytest" in command
    ci = (root / ".ci" / "run").read_text().splitlines()
    assert command in ci, ".ci/run must run README's test command, verbatim"
