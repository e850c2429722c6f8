#!/usr/bin/env bash
# The Python packages the tests use, in a private venv (.build/pyvenv), pinned:
#   standardwebhooks — the Standard Webhooks reference verifier (the webhook end-to-end test's receiver);
#   selenium         — drives Debian's headless Chromium (through chromedriver) in the dashboard's browser test.
# A second call costs one `pip show`. Prints nothing but its log line.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

readonly venv=$PWD/.build/pyvenv
readonly packages=("standardwebhooks==1.1.0" "selenium==4.27.1")

# What is installed now, as NAME==VERSION lines in the order of `packages` (one `pip show` for all of them; a missing
# package is simply absent from its output, so the comparison below fails and the install runs).
installed() {
    "$venv/bin/python" -m pip show "${packages[@]%%==*}" 2>/dev/null |
        awk -F': ' '/^Name: /{name=tolower($2)} /^Version: /{print name "==" $2}'
}
wanted=$(printf '%s\n' "${packages[@]}")

if [[ ! -x $venv/bin/python ]] || [[ $(installed) != "$wanted" ]]; then
    log "installing ${packages[*]} into $venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${packages[@]}"
    [[ $(installed) == "$wanted" ]] || die "after the install, $venv holds: $(installed | tr '\n' ' ')(expected ${packages[*]})"
fi
log "ok: $venv (${packages[*]})"
