#!/usr/bin/env bash
# Run README's test command (ruff, then pytest with DeprecationWarnings as errors) under
# each Python that pyenv (or PATH) has, from 3.10 to 3.13 by default:
#
#     bash scripts/all_pythons.sh              # 3.10 3.11 3.12 3.13
#     bash scripts/all_pythons.sh 3.10 3.13    # just these
#
# Each version gets its own venv, ${SOURCEDIFF_VENVS:-/tmp/sourcediff-venvs}/3.X, with
# this checkout installed editable with the `test` extra (kept between runs: the second
# run only reinstalls sourcediff). A version with no interpreter on this machine is
# skipped with a note, never a failure; a failing suite fails the script, which names
# the versions that failed at the end.
set -uo pipefail
cd "$(dirname "$0")/.."
versions=("$@")
[ ${#versions[@]} -eq 0 ] && versions=(3.10 3.11 3.12 3.13)
venvs="${SOURCEDIFF_VENVS:-/tmp/sourcediff-venvs}"

find_python() {  # the newest pyenv build of version $1, else python$1 on PATH
    local v="$1" root py
    if command -v pyenv >/dev/null 2>&1; then
        root="$(pyenv root 2>/dev/null)"
        for py in $(ls -d "$root"/versions/"$v".* "$root"/versions/"$v" 2>/dev/null | sort -V -r); do
            if [ -x "$py/bin/python" ] && [ ! -L "$py" ]; then echo "$py/bin/python"; return 0; fi
        done
    fi
    command -v "python$v" 2>/dev/null && return 0
    return 1
}

passed=() failed=() skipped=()
for v in "${versions[@]}"; do
    if ! py="$(find_python "$v")"; then
        echo "== Python $v: no interpreter found, skipped"
        skipped+=("$v")
        continue
    fi
    echo "== Python $v: $py"
    env="$venvs/$v"
    if { [ -x "$env/bin/python" ] || "$py" -m venv "$env"; } \
        && "$env/bin/python" -m pip install -q --upgrade pip \
        && "$env/bin/python" -m pip install -q -e ".[test]" \
        && OPENBLAS_NUM_THREADS=1 "$env/bin/python" -m ruff check sourcediff tests examples benchmarks \
        && OPENBLAS_NUM_THREADS=1 "$env/bin/python" -W error::DeprecationWarning -m pytest -q -p no:cacheprovider; then
        passed+=("$v")
    else
        failed+=("$v")
    fi
done
echo "== passed: ${passed[*]:-none}; failed: ${failed[*]:-none}; skipped (no interpreter): ${skipped[*]:-none}"
[ ${#failed[@]} -eq 0 ]
