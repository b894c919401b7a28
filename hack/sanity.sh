#!/usr/bin/env bash
# Run `ansible-test sanity` on a copy of the collection.
#
# ansible-test wants the collection at .../ansible_collections/<namespace>/<name>.
# We copy the files git knows about (tracked, plus untracked files that are not
# ignored) into a temporary tree of that shape, run sanity there and copy its
# results back to tests/output/ (git-ignored). There is no ignore file: every
# finding is fixed in the code.
#
# ansible-test runs each sanity test that has Python requirements in its own
# virtualenv under ~/.ansible/test/venv/, created on first use and installed
# from the package index with the versions ansible-test pins. The pip bootstrap
# step of those venvs normally downloads a script from the Ansible CI file
# server, which is not reachable here, so we seed ansible-test's documented
# cache path with hack/ansible_test_get_pip.py (an offline equivalent).
#
# Usage: hack/sanity.sh [extra ansible-test sanity args...]
#   e.g. hack/sanity.sh --test pep8
# Environment: ANSIBLE_TEST (default: ansible-test on PATH),
#              SANITY_PYTHON (default: 3.11).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ansible_test=${ANSIBLE_TEST:-ansible-test}
python_version=${SANITY_PYTHON:-3.11}

namespace=$(sed -n 's/^namespace:[[:space:]]*//p' "$repo/galaxy.yml" | tr -d "\"' ")
name=$(sed -n 's/^name:[[:space:]]*//p' "$repo/galaxy.yml" | tr -d "\"' ")

# --- offline pip bootstrap for ansible-test's per-test venvs -----------------
# (ask ansible-test which pip version it bootstraps; only .version is used)
pip_version=$("$(dirname "$(command -v "$ansible_test")")/python" - "$python_version" <<'PY'
import sys, types
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(types.SimpleNamespace(version=sys.argv[1]))['pip'])
PY
)
get_pip_cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
if [[ ! -s $get_pip_cache ]]; then
    mkdir -p "$(dirname "$get_pip_cache")"
    cp "$repo/hack/ansible_test_get_pip.py" "$get_pip_cache"
    echo "sanity: seeded $get_pip_cache (offline pip bootstrap)"
fi

# --- copy the collection into ansible_collections/<ns>/<name> ----------------
work=$(mktemp -d "${TMPDIR:-/tmp}/${namespace}.${name}.sanity.XXXXXX")
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/$namespace/$name"
mkdir -p "$dest"

cd "$repo"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # tracked + untracked-not-ignored; drop files deleted in the work tree
    git ls-files -z --cached --others --exclude-standard \
        | while IFS= read -r -d '' f; do
            if [[ -e $f || -L $f ]]; then printf '%s\0' "$f"; fi
        done \
        | sort -zu \
        | tar --null --no-recursion -T - -cf - \
        | tar -xf - -C "$dest"
else
    tar --exclude=./.git --exclude=./.venv --exclude=./.build --exclude=./.lab \
        --exclude=./.cache --exclude=./tests/output --exclude=__pycache__ \
        --exclude=./.pytest_cache --exclude=./.ansible -cf - . \
        | tar -xf - -C "$dest"
fi
echo "sanity: $(find "$dest" -type f | wc -l) files copied to $dest"

# --- run ---------------------------------------------------------------------
cd "$dest"
rc=0
"$ansible_test" sanity --python "$python_version" "$@" || rc=$?

if [[ -d tests/output ]]; then
    mkdir -p "$repo/tests/output"
    cp -a tests/output/. "$repo/tests/output/"
fi
exit "$rc"
