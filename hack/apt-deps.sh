#!/usr/bin/env bash
# Usage: hack/apt-deps.sh PACKAGE...
# Installs the Debian packages that are not installed yet. Does nothing (and
# needs no privileges) when all are present. Runs `apt-get update` once first
# when the package lists are missing or do not know a wanted package, and once
# more if installing from possibly stale lists fails. Uses sudo when not root.
set -euo pipefail

missing=()
for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$pkg")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    echo "deps: already installed: $*"
    exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
else
    echo "deps: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt_get=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -y -q)

known() {
    local pkg
    for pkg in "${missing[@]}"; do
        apt-cache policy "$pkg" 2>/dev/null | grep -q 'Candidate: [^(]' || return 1
    done
}

echo "deps: installing ${missing[*]}"
updated=false
if ! known; then
    "${apt_get[@]}" update
    updated=true
fi
if ! "${apt_get[@]}" install --no-install-recommends "${missing[@]}"; then
    if $updated; then
        exit 1
    fi
    "${apt_get[@]}" update
    "${apt_get[@]}" install --no-install-recommends "${missing[@]}"
fi
