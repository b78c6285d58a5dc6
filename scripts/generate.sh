#!/usr/bin/env bash
# Bundle, lint and validate the OpenAPI contract, then write the API changelog
# (docs/api-changelog.md), generate the server's routing controllers and both SDKs from it, and
# render the API reference and the error catalogue the server serves at /api/v1/docs.
# Idempotent: a second run changes no byte. With --lint-only, stop after bundling and linting.
#
# Needs node_modules (npm ci) for Redocly and Spectral, and openapi-generator-cli plus
# openapi-spec-validator on PATH (the tox environment `generate` provides both).
set -euo pipefail
cd "$(dirname "$0")/.."

here=scripts/generator
bundle=spec/dist/openapi.yaml
log=$(mktemp)
trap 'rm -f "$log"' EXIT

step() { printf '==> %s\n' "$*"; }
quiet() { "$@" >"$log" 2>&1 || { cat "$log"; exit 1; }; }

[ -x node_modules/.bin/redocly ] || quiet npm ci --no-audit --no-fund

step "bundle spec/openapi.yaml -> $bundle"
quiet node_modules/.bin/redocly bundle spec/openapi.yaml --output "$bundle"

step "lint with Redocly (recommended ruleset)"
quiet node_modules/.bin/redocly lint "$bundle" --format=stylish
step "lint with Spectral (spectral:oas)"
quiet node_modules/.bin/spectral lint "$bundle" --ruleset .spectral.yaml --fail-severity=error
step "validate with openapi-spec-validator"
quiet openapi-spec-validator "$bundle"
if [ "${1:-}" = "--lint-only" ]; then
  git diff --quiet -- "$bundle" 2>/dev/null || echo "note: $bundle changed; run scripts/generate.sh and commit it"
  exit 0
fi

step "write the API changelog docs/api-changelog.md (changes since spec/released/)"
quiet scripts/contract.sh changelog

# generate GENERATOR OUTDIR CONFIG [TEMPLATE_DIR]
# Runs openapi-generator, then removes the files the previous run listed in
# OUTDIR/.openapi-generator/FILES that this run no longer produces.
generate() {
  local generator=$1 out=$2 config=$3 templates=${4:-}
  local files=$out/.openapi-generator/FILES before
  before=$(cat "$files" 2>/dev/null || true)
  step "generate $generator -> $out"
  quiet openapi-generator-cli generate --generator-name "$generator" --input-spec "$bundle" \
    --output "$out" --config "$config" ${templates:+--template-dir "$templates"} \
    --skip-validate-spec
  comm -23 <(printf '%s\n' "$before" | sort -u) <(sort -u "$files") | while read -r stale; do
    if [ -n "$stale" ] && [ -f "$out/$stale" ]; then
      echo "    removing stale $out/$stale"
      rm -f "$out/$stale"
    fi
  done
}

generate python-flask server/windsock/generated "$here/server.yaml" "$here/server-templates"
# Authentication is windsock.api.guard's job (the configured auth backends, in order), so the
# generator's per-scheme security handlers are not used.
rm -f server/windsock/generated/security_controller.py
# The SDKs' READMEs come from templates of their own (python-templates/, go-templates/).
generate python clients/python "$here/python.yaml" "$here/python-templates"
generate go clients/go "$here/go.yaml" "$here/go-templates"

step "render the API reference and the error catalogue -> server/windsock/generated/*.html"
quiet node_modules/.bin/redocly build-docs "$bundle" --inlineBundle \
  --output server/windsock/generated/reference.html
python3 scripts/render_errors.py docs/errors.md server/windsock/generated/errors.html

step "format the Go SDK"
quiet gofmt -w clients/go
step "done"
