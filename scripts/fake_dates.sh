#!/usr/bin/env bash
# Run the tests that need neither Orthanc nor a browser under two fake dates far from today, both at once
# (one per core): no test may depend on the day it runs.  scripts/test.sh calls it in CI.
#
# libfaketime (Debian's faketime) moves every process of a pass, the PostgreSQL server included, by one
# offset from the real time; the clock still advances (a frozen clock would hang every timeout).  The
# SQLite-parametrised tests run under the first date and the PostgreSQL ones under the second (tests with
# no engine parameter run under both), which keeps the two passes within CI's time budget.
# Usage: scripts/fake_dates.sh [pytest arguments]
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
PASSES=(
    "2029-12-30 23:30:00|not postgresql"   # a Sunday, half an hour before midnight UTC: no working day
    "2028-02-29 10:00:00|not sqlite"       # a leap day
)
# Pure computations on files (extraction, OCR, dosimetry, units, the import graph, the README and the locks,
# standards output whose moment is an argument, dosimetry-report parsing, the SCU race of support/dimse.py): no clock
# is read on their paths, and they are the heaviest CPU of the suite; a third run of them would only spend CI's budget.
CLOCKLESS="test_(imports|docs|install|scu_responses|extract_fuzz|extract_rdsr|extract_header|dicomfile|ocr|skin_dose|skin_dose_corpus|ssde|effective_dose|units|output_header_report|output_deidentify|occupational_reports)[.]py$"
# Orthanc (started directly, through running_orthanc or shared_orthanc, or by the remote-PACS helpers) and Chromium
# are left out: libfaketime in their processes is not what these passes test.
mapfile -t MODULES < <(grep -L -E "OrthancProcess|running_orthanc|shared_orthanc|playwright|remote_pacs|support[.]ui|pacs_pair" tests/test_*.py | grep -v -E "$CLOCKLESS")
logs="$(mktemp -d)"
pids=()
for pass in "${PASSES[@]}"; do
    when="${pass%%|*}" select="${pass#*|}"
    offset="$(( $(date -u -d "$when" +%s) - $(date +%s) ))"
    # FAKETIME_DONT_FAKE_MONOTONIC: Python's timed waits use the monotonic clock (a faked one never expires them)
    FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f "$(printf '%+d' "$offset")" \
        .venv/bin/python -m pytest -q -p no:cacheprovider -k "$select" "${MODULES[@]}" "$@" \
        > "$logs/${when%% *}.log" 2>&1 &
    pids+=("$!")
done
status=0
for i in "${!PASSES[@]}"; do
    wait "${pids[$i]}" || status=1
    when="${PASSES[$i]%%|*}"
    echo "=== tests under the fake date $when UTC (${PASSES[$i]#*|}) ==="
    cat "$logs/${when%% *}.log"
done
rm -rf "$logs"
exit "$status"
