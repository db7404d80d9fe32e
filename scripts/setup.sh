#!/usr/bin/env bash
# Install what Kerma needs on Debian 12, idempotently:
#   - apt packages (only the missing ones; apt-get update runs once, and only if needed)
#   - the virtual environment .venv, built from Debian's /usr/bin/python3 (the Python that
#     Orthanc's Python plugin embeds; a pyenv/conda python3 on PATH would not match)
#   - pip requirements, re-installed only when a requirements file changed
# Usage: scripts/setup.sh [--dev]     (--dev adds requirements-dev.txt)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.venv"
SYSTEM_PYTHON=/usr/bin/python3
APT_PACKAGES=(orthanc orthanc-python dcmtk python3-venv postgresql chromium poppler-utils)

dev=0
for arg in "$@"; do
    case "$arg" in
        --dev) dev=1 ;;
        *) echo "usage: $0 [--dev]" >&2; exit 2 ;;
    esac
done

log() { echo "setup: $*" >&2; }

# --- apt ---------------------------------------------------------------------
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    if [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" != "install ok installed" ]; then
        missing+=("$pkg")
    fi
done
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
install_requirements() {  # $1 = requirements file; hash kept in .venv so unchanged files are skipped
    local file="$REPO/$1" stamp="$VENV/.kerma-$1.sha256" hash
    hash="$(sha256sum "$file" | cut -d' ' -f1)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ]; then
        return 0
    fi
    log "pip install -r $1"
    "$VENV/bin/python" -m pip install --quiet -r "$file"
    echo "$hash" > "$stamp"
}
install_requirements requirements.txt
# the `kerma` command (kerma extract, kerma db upgrade); editable, so the plugin and the CLI run the same code
[ -x "$VENV/bin/kerma" ] || { log "pip install -e plugin"; "$VENV/bin/python" -m pip install --quiet --no-deps -e "$REPO/plugin"; }
[ "$dev" -eq 0 ] || install_requirements requirements-dev.txt
