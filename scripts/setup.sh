#!/usr/bin/env bash
# Install what Kerma needs on Debian 12, idempotently:
#   - apt packages (only the missing ones; apt-get update runs once, and only if needed)
#   - the virtual environment .venv, built from Debian's /usr/bin/python3 (the Python that
#     Orthanc's Python plugin embeds; a pyenv/conda python3 on PATH would not match)
#   - the locked pip requirements (requirements.lock; with --dev requirements-dev.lock), every
#     package pinned with its hashes (scripts/lock.sh writes the locks from requirements*.txt),
#     re-installed only when the lock changed
# Usage: scripts/setup.sh [--dev]     (--dev: what the tests need too)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.venv"
SYSTEM_PYTHON=/usr/bin/python3
APT_PACKAGES=(orthanc orthanc-python dcmtk python3-venv tesseract-ocr tesseract-ocr-eng)  # to run Kerma (dcmtk: storescu, to send files; tesseract: dose screens)
APT_DEV_PACKAGES=(postgresql orthanc-postgresql chromium poppler-utils faketime fonts-dejavu-core dicom3tools)  # the tests: PostgreSQL server, Orthanc's PostgreSQL index (two nodes), UI, PDF reports, fake dates, dose-screen font, dciodvfy (checks the DICOM Kerma writes)

dev=0
for arg in "$@"; do
    case "$arg" in
        --dev) dev=1 ;;
        *) echo "usage: $0 [--dev]" >&2; exit 2 ;;
    esac
done

log() { echo "setup: $*" >&2; }

# --- apt ---------------------------------------------------------------------
packages=("${APT_PACKAGES[@]}")
[ "$dev" -eq 0 ] || packages+=("${APT_DEV_PACKAGES[@]}")
missing=()
for pkg in "${packages[@]}"; do
    if [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" != "install ok installed" ]; then
        missing+=("$pkg")
    fi
done
# npm installs the page-side test tools (package-lock.json: axe-core); any Node.js with npm will do (Debian's npm
# package, or one already there)
if [ "$dev" -eq 1 ] && ! command -v npm >/dev/null; then
    missing+=(npm)
fi
if [ "${#missing[@]}" -gt 0 ]; then
    sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    log "installing ${missing[*]}"
    "${sudo[@]}" apt-get update
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
fi

# --- venv --------------------------------------------------------------------
# Rebuild the venv if it was made from another interpreter than Debian's python3.
want="$("$SYSTEM_PYTHON" -c 'import sys; print(sys.base_prefix, sys.version.split()[0])')"
have="$("$VENV/bin/python" -c 'import sys; print(sys.base_prefix, sys.version.split()[0])' 2>/dev/null || true)"
if [ "$have" != "$want" ]; then
    [ -z "$have" ] || log "rebuilding .venv (was '$have', want '$want')"
    rm -rf "$VENV"
    log "creating .venv with $SYSTEM_PYTHON ($want)"
    "$SYSTEM_PYTHON" -m venv "$VENV"
fi

# --- pip ---------------------------------------------------------------------
# The lock pins every package (dependencies included) with the hashes of its files; pip refuses any
# other file. The loose lists are the locks' source: after editing them, run scripts/lock.sh.
lock=requirements.lock
[ "$dev" -eq 0 ] || lock=requirements-dev.lock  # the runtime packages at the same versions, plus the test tools
"$SYSTEM_PYTHON" "$REPO/scripts/check_lock.py" "$lock"
stamp="$VENV/.kerma-$lock.sha256"  # the hash of the lock last installed: an unchanged lock is skipped
hash="$(sha256sum "$REPO/$lock" | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$hash" ]; then
    log "pip install --require-hashes -r $lock"
    "$VENV/bin/python" -m pip install --quiet --require-hashes -r "$REPO/$lock"
    echo "$hash" > "$stamp"
fi
# the `kerma` command (kerma extract, kerma db upgrade...); editable, so the plugin and the CLI run the same
# code; built by the locked setuptools (no build isolation, so nothing unlocked is downloaded)
if [ ! -x "$VENV/bin/kerma" ]; then
    log "pip install -e plugin"
    "$VENV/bin/python" -m pip install --quiet --no-deps --no-build-isolation -e "$REPO/plugin"
fi

# --- npm (--dev) -------------------------------------------------------------
# axe-core, injected into the page by the UI tests, at the version and hash package-lock.json pins
if [ "$dev" -eq 1 ]; then
    stamp="$REPO/node_modules/.kerma-package-lock.sha256"
    hash="$(sha256sum "$REPO/package-lock.json" | cut -d' ' -f1)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$hash" ]; then
        log "npm ci (package-lock.json)"
        (cd "$REPO" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
        echo "$hash" > "$stamp"
    fi
fi
