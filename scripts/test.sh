#!/usr/bin/env bash
# What `make test` (and CI) runs: the Swift test suites, with a throwaway PostgreSQL server for the
# PostgreSQL store tests, then the schemathesis run against the API.
# Ends with one line `summary: N passed, M failed` (the Swift tests, plus 1 for schemathesis)
# and exits non-zero if anything failed. The Swift test output is kept in .build/swift-test.log.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

scripts/install-deps.sh test
ensure_swift_on_path
# The reference Standard Webhooks verifier the webhook end-to-end test's receiver uses, and selenium for the
# dashboard's browser test.
scripts/python-venv.sh

if ! swift build --build-tests; then
    log "swift build --build-tests failed"
    echo "summary: 0 passed, 1 failed"
    exit 1
fi

start_throwaway_postgres

swift_log=.build/swift-test.log
set +e
# The fault-injection tests (real processes under faults: the chaos driver, PostgreSQL restarted and stopped under
# load) and the dashboard's real-browser test (headless Chromium) load both cores for a minute or two: they run on
# their own, after the rest, so that they cannot slow the tests that wait for something to happen within a bound.
TEST_POSTGRES_URL=$pg_url swift test --skip-build --skip ChaosTests --skip DatabaseOutageTests --skip DashboardBrowserTests \
    2>&1 | tee "$swift_log"
swift_rc=${PIPESTATUS[0]}
TEST_POSTGRES_URL=$pg_url swift test --skip-build --filter 'ChaosTests|DatabaseOutageTests|DashboardBrowserTests' 2>&1 |
    tee -a "$swift_log"
chaos_rc=${PIPESTATUS[0]}
((swift_rc != 0)) || swift_rc=$chaos_rc
set -e

st_rc=0
scripts/schemathesis.sh || st_rc=$?

# Count the Swift tests from the runners' own lines (swift-testing, and XCTest if any tests use it).
read -r passed failed < <(
    python3 - "$swift_log" "$swift_rc" <<'EOF'
import re, sys

text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
rc = int(sys.argv[2])
lines = [re.sub(r"\x1b\[[0-9;]*m", "", l) for l in text.splitlines()]

# swift-testing: "Test run with N tests in M suites passed|failed after ..." counts tests started or
# skipped; "✘ Test NAME failed after ..." is one failed test; "➜ Test NAME skipped" one skipped.
total = failed = skipped = 0
run_line = False
for l in lines:
    m = re.search(r"Test run with (\d+) tests? in \d+ suites? (passed|failed) after", l)
    if m:
        # One closing line per `swift test` run (the main run, then the chaos test): they add up.
        total, run_line = total + int(m.group(1)), True
    elif re.match(r"\s*\S+ Test (?!run with).* failed after [0-9.]+ seconds", l):
        failed += 1
    elif re.match(r"\s*\S+ Test .* (skipped[.:]|was cancelled)", l):
        skipped += 1
if not run_line:
    # No closing line (crash?): count what finished.
    total = failed + skipped + sum(
        1 for l in lines if re.match(r"\s*\S+ Test (?!run with).* passed after [0-9.]+ seconds", l))

# XCTest: "Executed N tests, with F failures" after "Test Suite 'All tests'"; failed tests are
# "Test Case '...' failed (...)", skipped ones "Test Case '...' skipped (...)".
xc_total = 0
for i, l in enumerate(lines):
    if re.match(r"Test Suite 'All tests' (passed|failed)", l) and i + 1 < len(lines):
        m = re.search(r"Executed (\d+) tests?", lines[i + 1])
        if m:
            xc_total += int(m.group(1))
xc_failed = sum(1 for l in lines if re.match(r"Test Case '.*' failed \(", l))
xc_skipped = sum(1 for l in lines if re.match(r"Test Case '.*' skipped \(", l))

passed = max(total - failed - skipped, 0) + max(xc_total - xc_failed - xc_skipped, 0)
failed += xc_failed
if rc != 0 and failed == 0:
    # swift test failed without naming a failed test (crash, runner error): count the run itself.
    print("swift test exited with %d without a failed test line" % rc, file=sys.stderr)
    failed = 1
print(passed, failed)
EOF
)

if ((st_rc == 0)); then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
fi

echo "swift test: exit code $swift_rc (log: $swift_log); schemathesis: exit code $st_rc"
echo "summary: $passed passed, $failed failed"
((swift_rc == 0 && st_rc == 0 && failed == 0))
