# RepoWatch developer entry points. The real work lives in scripts/ so CI (.ci/run) and people
# run the same steps.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

# The Swift toolchain is not a Debian package; these machines ship it in /opt/swift.
ifeq ($(shell command -v swift 2>/dev/null),)
export PATH := /opt/swift/usr/bin:$(PATH)
endif

.PHONY: run build test screenshots chaos bench clean

## run: install the run-time packages, build, and serve on ./data (SQLite)
run:
	scripts/install-deps.sh run
	swift build
	exec .build/debug/repowatch serve --data-dir ./data

## build: debug build
build:
	swift build

## test: Swift tests (with a throwaway PostgreSQL) + schemathesis; ends with "summary: N passed, M failed"
test:
	scripts/test.sh

## screenshots: the dashboard's browser test alone, on SQLite (headless Chromium), writing docs/screenshots/watchlist.png,
## repository.png and admin.png: the committed pictures are the ones that test run took
screenshots:
	scripts/install-deps.sh test
	scripts/python-venv.sh
	swift build --build-tests
	DASHBOARD_ENGINES=sqlite DASHBOARD_SCREENSHOTS=docs/screenshots swift test --skip-build --filter DashboardBrowserTests

## chaos: the seeded chaos test alone, longer (CHAOS_SECONDS=120, CHAOS_REPOSITORIES=50 by default; CHAOS_SEED=N
## replays a run): api + worker processes on SQLite and PostgreSQL under killed workers, pushes, git and Scorecard faults
chaos:
	scripts/chaos.sh

## bench: benchmarks (release build): the job queue (with PgQueuer and procrastinate), the backfill (with git log
## and PyDriller), re-checks and the scheduler's pass, the HTTP API, live status streams and webhook latency, and the
## history window (a clone against git log --since and a plain shallow clone), and the dashboard (time to first byte
## and size of the watchlist page with 500 entries and of a repository page with 1 000 commits and 100 reports)
bench:
	scripts/bench-queue.sh
	scripts/bench-backfill.sh
	scripts/bench-recheck.sh
	scripts/bench-http.sh
	scripts/bench-live.sh
	scripts/bench-window.sh
	scripts/bench-dashboard.sh

## clean: remove build products and the local data folder
clean:
	rm -rf .build data
