#!/usr/bin/env bash
# History window benchmark (part of `make bench`): window-check (Benchmarks/WindowCheck, release build) serves bare
# repositories over smart HTTP on loopback and compares, for each, `git log --since` on the full repository, a plain
# `git clone --shallow-since` and RepoWatch's clone (shallow clone + repair of the merges it cuts off): commits in the
# window, bytes on disk, bytes sent, time, and what the repair took.
#
#   scripts/bench-window.sh [BARE_REPO …]
#
# Without arguments it runs on generated histories with long-lived branches (MergeHistory); with paths of full bare
# repositories (e.g. mirrors of public projects) it runs on those. Writes Benchmarks/results/window-<date>.md.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

scripts/install-deps.sh bench
ensure_swift_on_path

swift build -c release --product window-check
bin_dir=$(swift build -c release --show-bin-path)
out=.build/bench
mkdir -p "$out"

log "window-check ${*:-(generated histories)}"
"$bin_dir/window-check" --runs 3 "$@" | tee "$out/window.txt"

result=Benchmarks/results/window-$(date -u +%Y-%m-%d).md
{
    echo "# History window benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo
    echo "Each repository served over smart HTTP on loopback (git-http-backend). 'git log --since (full)' is the number of"
    echo "commits the tool of record lists on the full repository; the plain shallow clone and RepoWatch's clone are"
    echo "counted with the same \`git log --since\`. Disk = the clone folder (work tree included); sent = bytes the server"
    echo "wrote; repair = the rounds, bytes and time RepoWatch spent bringing in what --shallow-since cut off. Medians of 3."
    echo
    cat "$out/window.txt"
    echo
    echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo);"
    echo "$(. /etc/os-release && echo "$PRETTY_NAME"), $(git --version), $(swift --version 2>/dev/null | head -1); commit $(git rev-parse --short HEAD)."
} >"$result"
log "wrote $result"
