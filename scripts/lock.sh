#!/usr/bin/env bash
# Regenerate the lock files from the loose lists, with pip-compile (pip-tools):
#   requirements.txt      -> requirements.lock      (what the plugin and the kerma command import)
#   requirements-dev.txt  -> requirements-dev.lock  (the same plus what tests and bench/ import)
# Every package, dependencies included, is pinned to one version with the sha256 of each of its
# files on PyPI; scripts/setup.sh installs a lock with `pip install --require-hashes`.
#
# Resolved by Debian's /usr/bin/python3 (the interpreter of .venv and of Orthanc's Python plugin)
# against PyPI only: this machine's pip configuration (local indexes, find-links, constraints) is
# ignored, so the locks install on any Debian 12 that reaches PyPI, and on a machine whose pip also
# looks at local mirrors of PyPI (pip keeps only the files whose hash the lock lists).
#
# Existing pins are kept unless asked otherwise, so adding a package does not move the others.
# Usage: scripts/lock.sh                       after adding or removing a package in requirements*.txt
#        scripts/lock.sh --upgrade             move every package to its newest release
#        scripts/lock.sh --upgrade-package X   move only X (repeatable)
# Then run scripts/setup.sh [--dev] (it reinstalls when a lock changed) and the tests, and commit the locks.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SYSTEM_PYTHON=/usr/bin/python3
TOOLS="$REPO/var/lock-tools"  # a venv holding pip-tools only (var/ is not committed)
PIP_TOOLS=pip-tools==7.5.1
INDEX=https://pypi.org/simple

log() { echo "lock: $*" >&2; }

if [ ! -x "$TOOLS/bin/pip-compile" ] || ! "$TOOLS/bin/python" -m pip show -q "${PIP_TOOLS%%=*}" 2>/dev/null \
        || [ "$("$TOOLS/bin/python" -m pip show "${PIP_TOOLS%%=*}" | sed -n 's/^Version: //p')" != "${PIP_TOOLS##*=}" ]; then
    log "installing $PIP_TOOLS into $TOOLS"
    rm -rf "$TOOLS"
    "$SYSTEM_PYTHON" -m venv "$TOOLS"
    "$TOOLS/bin/python" -m pip install --quiet "$PIP_TOOLS"
fi

compile() {  # $1 = source, $2 = lock, then pip-compile options
    local source="$1" lock="$2"
    shift 2
    log "$source -> $lock"
    (cd "$REPO" && env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL -u PIP_INDEX_URL -u PIP_CONSTRAINT \
        PIP_CONFIG_FILE=/dev/null CUSTOM_COMPILE_COMMAND="scripts/lock.sh" \
        "$TOOLS/bin/pip-compile" --quiet --generate-hashes --allow-unsafe --strip-extras \
            --no-emit-index-url --no-emit-find-links --index-url "$INDEX" \
            --output-file "$lock" "$@" "$source")
}

# the runtime lock first: requirements-dev.txt constrains itself to it (-c requirements.lock)
compile requirements.txt requirements.lock "$@"
compile requirements-dev.txt requirements-dev.lock "$@"
