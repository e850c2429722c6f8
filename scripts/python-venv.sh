#!/usr/bin/env bash
# The Python packages the tests use as reference implementations, in a private venv (.build/pyvenv), pinned:
#   standardwebhooks — the Standard Webhooks reference verifier (the webhook end-to-end test's receiver).
# A second call costs one `pip show`. Prints nothing but its log line.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

readonly venv=$PWD/.build/pyvenv
readonly packages=("standardwebhooks==1.1.0")

if ! "$venv/bin/python" -c 'import standardwebhooks' 2>/dev/null ||
    [[ $("$venv/bin/python" -m pip show standardwebhooks 2>/dev/null | sed -n 's/^Version: //p') != 1.1.0 ]]; then
    log "installing ${packages[*]} into $venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${packages[@]}"
fi
log "ok: $venv (${packages[*]})"
