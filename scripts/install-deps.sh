#!/usr/bin/env bash
# Install the Debian packages RepoWatch needs, for the groups named as arguments:
#   run    what `repowatch serve` needs at run time (SQLite is compiled in)
#   test   run + a PostgreSQL server for the store tests, Python for schemathesis, pgrep, and Chromium with its
#          WebDriver for the dashboard's browser test (Debian's chromium, chromium-driver: /usr/bin/chromium, chromedriver)
#   bench  test + wrk
# Only missing packages are installed, so a second call costs a few dpkg-query calls.
# Usage: scripts/install-deps.sh run|test|bench ...
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

(($# > 0)) || die "usage: $0 run|test|bench ..."

# libgit2-dev + pkg-config: the CLibGit2 system-library target (GitHistory) builds and links against Debian's libgit2.
# zlib1g-dev: compress-nio's zlib (gzip answers; libgit2-dev pulls it in too, named here for what uses it).
run_pkgs=(git curl ca-certificates libgit2-dev pkg-config zlib1g-dev)
# postgresql pulls in the server binaries (initdb, pg_ctl under /usr/lib/postgresql/<ver>/bin).
# chromium + chromium-driver: the dashboard's real-browser test (selenium, headless) and its screenshots;
# fonts-wqy-microhei: CJK glyphs for those screenshots (the test repository has an author named 陈伟; 1.6 MB).
test_pkgs=("${run_pkgs[@]}" postgresql python3-venv python3-pip procps chromium chromium-driver fonts-wqy-microhei)
bench_pkgs=("${test_pkgs[@]}" wrk)

wanted=()
for group in "$@"; do
    case $group in
        run) wanted+=("${run_pkgs[@]}") ;;
        test) wanted+=("${test_pkgs[@]}") ;;
        bench) wanted+=("${bench_pkgs[@]}") ;;
        *) die "unknown group '$group' (expected run, test or bench)" ;;
    esac
done

missing=()
declare -A seen=()
for pkg in "${wanted[@]}"; do
    # Groups overlap: look each package up once.
    [[ -n ${seen[$pkg]:-} ]] && continue
    seen[$pkg]=1
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]} > 0)); then
    if ((EUID == 0)); then
        sudo=()
    elif command -v sudo >/dev/null 2>&1; then
        sudo=(sudo)
    else
        die "missing packages (${missing[*]}) and not root, and sudo is not installed"
    fi
    log "installing: ${missing[*]}"
    # update only when something is missing: it is the slow part and needs the network.
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The Swift toolchain cannot come from apt: check it is there and say so clearly if not.
ensure_swift_on_path
log "ok: ${*} (swift: $(command -v swift))"
