#!/usr/bin/env bash
# Compares the bundled repowatch-scorecard with published official Scorecard results, check by check.
#
#   scorecard/parity.sh DIR [COMMAND]
#
# DIR holds, for each scored repository NAME, a checkout of the scored commit in DIR/src/NAME and the official
# result in DIR/results/NAME.json (JSON v2: `checks[].name/score`, as `scorecard --format=json` prints it).
# COMMAND defaults to .build/debug/repowatch-scorecard. Prints one Markdown row per repository: for each of the
# 11 checks of local mode, `official/ours` and ✓ when equal, `—/ours` when the published result lacks the check.
# The 7 other checks need the GitHub API and have no local counterpart. Nothing is fetched: the checkouts and
# results are yours to provide (see scorecard/PARITY.md for the ones compared there).
set -euo pipefail

dir=${1:?usage: scorecard/parity.sh DIR [COMMAND]}
command=${2:-.build/debug/repowatch-scorecard}
checks=(Binary-Artifacts Dangerous-Workflow Dependency-Update-Tool Fuzzing License Packaging Pinned-Dependencies
        SAST Security-Policy Token-Permissions Vulnerabilities)

printf '| repository | commit |'; printf ' %s |' "${checks[@]}"; printf '\n'
printf '|---|---|'; printf '%s' "${checks[@]/*/---|}"; printf '\n'
for result in "$dir"/results/*.json; do
    name=$(basename "$result" .json)
    tree="$dir/src/$name"
    [[ -d $tree ]] || { echo "parity.sh: no checkout $tree for $result" >&2; exit 1; }
    # Exit 1 with JSON is a check that errored (score -1): still a result to compare.
    ours=$("$command" --local="$tree" --format=json --show-details) || [[ $? -eq 1 && -n ${ours:-} ]]
    row="| $(jq -r '.repo.name' "$result") | $(jq -r '.repo.commit[0:8]' "$result") |"
    for check in "${checks[@]}"; do
        official=$(jq -r --arg c "$check" '[.checks[] | select(.name == $c) | .score][0] // "—"' "$result")
        mine=$(jq -r --arg c "$check" '[.checks[] | select(.name == $c) | .score][0] // "—"' <<<"$ours")
        mark=""
        [[ $official == "$mine" ]] && mark=" ✓"
        row+=" $official/$mine$mark |"
    done
    echo "$row"
done
