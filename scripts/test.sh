#!/usr/bin/env bash
# Run Kerma's test suite: installs what is missing (scripts/setup.sh --dev), then pytest.
# The tests start their own Orthanc and PostgreSQL on free ports (tests/support/).
# Extra arguments go to pytest, e.g. scripts/test.sh -k extract -x
# In CI (CI=true, no arguments) the tests without Orthanc or a browser then run again under two fake
# dates far from today (scripts/fake_dates.sh): no test may depend on the day it runs.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
bash scripts/setup.sh --dev
export TCP_NODELAY=1
# Python writes its compiled modules (__pycache__) even where the caller's environment says not to: the suite imports
# Kerma in every Orthanc and child process it starts, and three pytest runs (fake_dates.sh) collect the same tests
unset PYTHONDONTWRITEBYTECODE
status=0
# Two worker processes (pytest-xdist), one per core of CI's machine: much of a test's time is spent waiting for an
# Orthanc, PostgreSQL or Chromium, which the other worker's tests use.  --dist loadfile keeps each module in one
# worker, so that a module's own Orthanc (a module-scoped fixture) starts once; the session fixtures (PostgreSQL, the
# shared Orthanc, Chromium) start once per worker, on ports of the worker's own (support.orthanc.free_port).
.venv/bin/python -m pytest -q -n 2 --dist loadfile --durations=25 tests "$@" || status=$?
if [ "${CI:-}" = "true" ] && [ "$#" -eq 0 ]; then
    bash scripts/fake_dates.sh || status=1
fi
exit "$status"
