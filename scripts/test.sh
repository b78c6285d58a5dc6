#!/usr/bin/env bash
# Set up and run every test through tox: spec lint, generated-code drift, and the pytest suites
# (api, contract, e2e with both SDKs, unit) on SQLite and on PostgreSQL. Prints the pytest
# summaries at the end and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh "tox>=4.20,<5" || exit 1
# The test environments install python-gssapi (the `kerberos` extra), which has no Linux wheel;
# building it needs MIT Kerberos' headers and krb5-config, from Debian's libkrb5-dev.
if ! command -v krb5-config >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq libkrb5-dev; } || exit 1
fi
log=$(mktemp)
start=$(date +%s)
.venv/bin/tox run "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
echo
echo "==> summary ($(( $(date +%s) - start ))s)"
grep -E '^(=+ .*(passed|failed|error).* =+|  [a-z-]+: (OK|FAIL).*)$' "$log" || true
rm -f "$log"
exit "$status"
