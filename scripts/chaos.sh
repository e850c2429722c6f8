#!/usr/bin/env bash
# What `make chaos` runs: the seeded chaos test (Tests/CLITests/ChaosTests.swift) alone and longer than in
# `make test`, on SQLite and on a throwaway PostgreSQL server. Passed through:
#   CHAOS_SECONDS       seconds of faults per engine (default 120; `make test` runs 25)
#   CHAOS_REPOSITORIES  repositories watched (default 50)
#   CHAOS_SEED          replays a run's choices (default: a random seed; the test prints the one it used)
# The test output is kept in .build/chaos-test.log; the run ends with the test's summary lines.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

scripts/install-deps.sh test
ensure_swift_on_path

swift build --build-tests || die "swift build --build-tests failed"

start_throwaway_postgres

export CHAOS_SECONDS=${CHAOS_SECONDS:-120}
export CHAOS_REPOSITORIES=${CHAOS_REPOSITORIES:-50}
if [[ -n ${CHAOS_SEED:-} ]]; then
    export CHAOS_SEED
fi
log "${CHAOS_SECONDS}s of faults on ${CHAOS_REPOSITORIES} repositories per engine, seed ${CHAOS_SEED:-random (printed by the test)}"

chaos_log=.build/chaos-test.log
set +e
TEST_POSTGRES_URL=$pg_url swift test --skip-build --filter 'ChaosTests|DatabaseOutageTests' 2>&1 | tee "$chaos_log"
rc=${PIPESTATUS[0]}
set -e

echo
grep -E '^(chaos (\(|summary)|database (restart|outage))' "$chaos_log" || log "no chaos line in $chaos_log (did the test start?)"
echo "chaos: swift test exit code $rc (log: $chaos_log)"
exit "$rc"
