#!/usr/bin/env bash
# Property-based API testing: schemathesis generates requests from the served OpenAPI document and
# checks every response against it (all checks: no 5xx, status codes, content types, schemas, ...).
# The server runs on a fresh SQLite data folder; it is always stopped at the end.
# Needs a built binary (.build/debug/repowatch, or $SERVER_BIN; not REPOWATCH_*: repowatch refuses
# to start on a REPOWATCH_ variable it does not know).
# Knobs (environment): ST_MAX_EXAMPLES (150), ST_SEED, ST_MIN_REQUESTS (1000).
# Reports (JUnit, HAR) and schemathesis' own caches stay in .build/schemathesis/ for a look
# afterwards; `cd .build/schemathesis && ../venv/bin/st replay ID` replays a failure.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

readonly st_version=4.32.5
readonly venv=$PWD/.build/venv
bin=${SERVER_BIN:-.build/debug/repowatch}
max_examples=${ST_MAX_EXAMPLES:-150}
seed=${ST_SEED:-20261123}
min_requests=${ST_MIN_REQUESTS:-1000}
out_dir=$PWD/.build/schemathesis
# Operation-specific expectations (why 422 answers schema-valid repository URLs): see the file.
config=$PWD/Tests/schemathesis.toml

# The binary may be relinked by a concurrent `swift build`: give it a moment to reappear.
for ((i = 0; i < 120; i++)); do
    [[ -x $bin ]] && break
    ((i == 0)) && log "waiting for $bin to appear"
    sleep 1
done
[[ -x $bin ]] || die "$bin not found; run swift build first"

# A private venv, so the pinned version does not touch the system Python.
if [[ $("$venv/bin/st" --version 2>/dev/null || true) != *"version $st_version" ]]; then
    log "installing schemathesis $st_version into $venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$st_version"
fi

work=$(mktemp -d)
server_pid=
cleanup() {
    if [[ -n $server_pid ]]; then
        stop_pid "$server_pid"
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# keys create prints the key once, as its last stdout line.
# An admin key: the seed route accepts any added_by from it, so the stateful phase can create entries
# through it and poll them (a user key gets 403 for every generated name but its own).
key=$("$bin" keys create --user schemathesis --admin --data-dir "$work/data" 2>>"$work/server.log" | tail -n 1) ||
    { tail -n 20 "$work/server.log" >&2; die "keys create failed"; }
[[ -n $key ]] || die "keys create printed no key"

port=$(free_port)
base=http://127.0.0.1:$port
# The pipeline's workers stay off: the generated repository URLs name real hosts, and a test run must
# not clone from the network. The API, the queue it enqueues into and the maintenance jobs run as in serve.
REPOWATCH_WORKERS_CONCURRENCY="repository-setup=0,commit-backfill=0,health-analysis=0,maintenance=2" \
    "$bin" serve --data-dir "$work/data" --port "$port" >>"$work/server.log" 2>&1 &
server_pid=$!
if ! wait_http_ok "$base/health/ready" 30 "$server_pid"; then
    tail -n 40 "$work/server.log" >&2
    die "server did not become ready"
fi

rm -rf "$out_dir/report"
mkdir -p "$out_dir"
st_rc=0
# Runs from $out_dir: schemathesis keeps .hypothesis/ and .schemathesis/ in its working folder.
# One worker, a fixed seed and no example database make a run repeatable.
# --continue-on-failure: keep testing an operation after its first failure, so every problem and
# the full request count show up in one run.
(
    cd "$out_dir"
    "$venv/bin/st" --config-file "$config" run "$base/openapi.json" \
        --header "Authorization: Bearer $key" \
        --checks all \
        --phases examples,coverage,fuzzing,stateful \
        --max-examples "$max_examples" \
        --continue-on-failure \
        --seed "$seed" \
        --workers 1 \
        --generation-database none \
        --request-timeout 10 \
        --no-color \
        --report junit,har \
        --report-dir "$out_dir/report"
) || st_rc=$?

# The HAR report holds one entry per request sent: count them, and the 5xx among them.
har=$(find "$out_dir/report" -name 'har-*.json' 2>/dev/null | head -n 1)
read -r requests server_errors < <(
    "$venv/bin/python" - "${har:-/nonexistent}" <<'EOF'
import json, sys
try:
    entries = json.load(open(sys.argv[1]))["log"]["entries"]
except (OSError, ValueError, KeyError):
    print(0, 0)
    sys.exit()
errors = [e for e in entries if e["response"]["status"] >= 500]
for e in errors:
    print(f'5xx: {e["request"]["method"]} {e["request"]["url"]} -> {e["response"]["status"]}', file=sys.stderr)
print(len(entries), len(errors))
EOF
)

failed=0
echo "schemathesis: $requests requests, $server_errors 5xx responses, exit code $st_rc (reports: $out_dir/report)"
if ((st_rc != 0)); then
    log "schemathesis found problems (exit $st_rc); see FAILURES above"
    failed=1
fi
if ((requests < min_requests)); then
    log "only $requests requests were made, fewer than the $min_requests required"
    failed=1
fi
if ((server_errors > 0)); then
    failed=1
fi
if ((failed)); then
    log "server log (last 40 lines):"
    tail -n 40 "$work/server.log" >&2
    exit 1
fi
