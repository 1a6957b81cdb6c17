# Shared by scripts/test and scripts/demo: find a Python, create or refresh a
# venv under .venvs/. Source it; it defines functions only.
#
# A venv is (re)installed only when its stamp changes. The stamp holds the hash
# of pyproject.toml, what was asked for (Django pin, dependency groups) and the
# list of histfixtures' __init__.py files, so editing pyproject.toml or the
# matrix, or turning a namespace directory into a package, reinstalls.
#
# Dependency groups are read from pyproject.toml with tomllib (Python >= 3.11)
# (Python >= 3.11; python3.11 reads them for a 3.10 venv) and passed to pip as
# plain requirements, in the same `pip install` as the package and the Django
# pin, so one resolver run sees everything. This works with the pip that
# `python -m venv` bundles (23.x), which has no `--group` (pip >= 25.1).

# shellcheck shell=bash

HF_ROOT="${HF_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
HF_VENVS="$HF_ROOT/.venvs"

# The tools venv (lint, docs, packaging, scripts/demo, bench/run) and its
# dependency groups. Every script that uses it asks for these same groups, so
# they share one stamp and never reinstall each other.
# shellcheck disable=SC2034  # used by the scripts that source this file
HF_TOOLS_VENV=py311-django52
# shellcheck disable=SC2034
HF_TOOLS_GROUPS=(test lint docs package)

# python_for 3.12 -> path of a python3.12 interpreter, or fails.
python_for() {
    local want="$1" candidate root
    if command -v pyenv >/dev/null 2>&1; then
        root="$(pyenv root)"
        # Highest installed patch release of that minor version.
        candidate="$(ls -d "$root"/versions/"$want".[0-9]*/bin/python"$want" 2>/dev/null |
            sort -V | tail -n 1)"
        if [[ -n "$candidate" && -x "$candidate" ]]; then
            echo "$candidate"
            return 0
        fi
    fi
    for candidate in "python$want" "/usr/bin/python$want" "/usr/local/bin/python$want"; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys' >/dev/null 2>&1; then
            command -v "$candidate"
            return 0
        fi
    done
    echo "error: no Python $want found (tried pyenv and python$want on PATH)" >&2
    return 1
}

# group_requirements PYTHON GROUP... -> the requirements of those dependency
# groups, one per line, include-group resolved.
group_requirements() {
    local python="$1"
    shift
    "$python" - "$HF_ROOT/pyproject.toml" "$@" <<'PY'
import sys
import tomllib

with open(sys.argv[1], "rb") as f:
    groups = tomllib.load(f).get("dependency-groups", {})


def expand(name, seen=()):
    if name not in groups:
        sys.exit(f"error: no dependency group {name!r} in pyproject.toml")
    if name in seen:
        sys.exit(f"error: dependency group {name!r} includes itself")
    for item in groups[name]:
        if isinstance(item, str):
            yield item
        else:
            yield from expand(item["include-group"], (*seen, name))


out = []
for group in sys.argv[2:]:
    for req in expand(group):
        if req not in out:
            out.append(req)
print("\n".join(out))
PY
}

# ensure_venv NAME PYTHON_VERSION DJANGO_SPEC GROUP...
#   e.g. ensure_venv py311-django52 3.11 "Django==5.2.*" test lint docs
# Creates .venvs/NAME if missing; (re)installs when the stamp changed.
ensure_venv() {
    local name="$1" pyver="$2" django="$3"
    shift 3
    local groups=("$@")
    local venv="$HF_VENVS/$name"
    local stamp_file="$venv/.histfixtures-stamp"
    local python stamp reqs reqs_text reader start

    if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
        python="$(python_for "$pyver")" || return 1
        echo "--- creating $venv ($("$python" --version 2>&1))"
        rm -rf "$venv"
        mkdir -p "$HF_VENVS"
        "$python" -m venv "$venv" || return 1
    fi

    stamp="$( {
        sha256sum "$HF_ROOT/pyproject.toml" | cut -d' ' -f1
        # setuptools' editable finder records which packages are namespace
        # packages (no __init__.py) at install time, and keeps treating them
        # so: adding or removing an __init__.py needs a reinstall.
        (cd "$HF_ROOT" && find histfixtures -name __init__.py 2>/dev/null | sort)
        echo "$django ${groups[*]}"
        "$venv/bin/python" --version 2>&1
    } | sha256sum | cut -d' ' -f1)"
    if [[ -f "$stamp_file" && "$(cat "$stamp_file")" == "$stamp" ]]; then
        return 0
    fi

    start=$SECONDS
    echo "--- installing into $venv: -e . $django + groups: ${groups[*]}"
    # tomllib is Python >= 3.11: a 3.10 venv has its groups read by python3.11.
    reader="$venv/bin/python"
    if ! "$reader" -c 'import tomllib' >/dev/null 2>&1; then
        reader="$(python_for 3.11 2>/dev/null || command -v python3)"
    fi
    reqs_text="$(group_requirements "$reader" "${groups[@]}")" || return 1
    mapfile -t reqs <<<"$reqs_text"
    rm -f "$stamp_file"
    # The grep drops a warning that this machine's pip configuration prints
    # for every package (an extra index directory that does not exist).
    "$venv/bin/python" -m pip install --quiet --progress-bar off \
        --disable-pip-version-check \
        -e "$HF_ROOT" "$django" "${reqs[@]}" 2>&1 |
        { grep -v "is ignored: it is neither a file nor a directory" || true; }
    if ((PIPESTATUS[0] != 0)); then
        echo "error: pip install into $venv failed" >&2
        return 1
    fi
    echo "$stamp" >"$stamp_file"
    echo "--- $name ready in $((SECONDS - start))s"
}
