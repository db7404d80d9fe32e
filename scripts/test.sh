#!/usr/bin/env bash
# Run Kerma's test suite: installs what is missing (scripts/setup.sh --dev), then pytest.
# The tests start their own Orthanc and PostgreSQL on free ports (tests/support/).
# Extra arguments go to pytest, e.g. scripts/test.sh -k extract -x
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
bash scripts/setup.sh --dev
export TCP_NODELAY=1
exec .venv/bin/python -m pytest -q tests "$@"
