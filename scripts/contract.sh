#!/usr/bin/env bash
# The released contract and what may change from it, with the pinned oasdiff (scripts/oasdiff.sh).
# spec/released/ holds each released bundle as openapi-<info.version>.yaml and, beside a version
# that breaks clients, openapi-<info.version>.accepted-breaking-changes.txt listing its breaking
# changes, one per line as `scripts/contract.sh check` prints them.
#
#   scripts/contract.sh check [BUNDLE [RELEASED_DIR]]
#       Fail on any breaking change (oasdiff's ERR and WARN levels) from the latest released
#       contract unless info.version got a major increase and every breaking change is listed
#       in the accepted file named after the new version.
#   scripts/contract.sh changelog
#       Write docs/api-changelog.md: the bundle's changes since the latest release, then each
#       release's changes from the one before.
#   scripts/contract.sh release [--rerecord]
#       Record the bundle as the released contract of its info.version (a new version must pass
#       the check first) and rewrite the changelog. An existing record that differs is replaced
#       only with --rerecord (for a version not yet published).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
oasdiff=$root/scripts/oasdiff.sh
bundle=$root/spec/dist/openapi.yaml
released=$root/spec/released

# info.version of a bundled contract (Redocly writes it as `  version:` in the top-level info).
version_of() {
  awk '/^info:/ { info = 1; next } info && /^[^ ]/ { exit }
       info && /^  version:/ { gsub(/["'\'']/, "", $2); print $2; exit }' "$1"
}

# The released contracts in DIR, oldest first.
releases() { [ ! -d "$1" ] || find "$1" -maxdepth 1 -name 'openapi-*.yaml' | sort -V; }

check() {
  local dir new base version accepted ignore report
  dir=$(realpath "${2:-$released}")
  # oasdiff names the files in each change it prints; relative to DIR, no name starts with a
  # slash, so a printed line pasted into the accepted file matches its change.
  new=$(realpath --relative-to="$dir" "${1:-$bundle}")
  base=$(releases "$dir" | tail -n 1)
  if [ -z "$base" ]; then
    echo "no released contract in $dir: nothing to compare with"
    return 0
  fi
  cd "$dir"
  base=$(basename "$base")
  version=$(version_of "$new")
  accepted=openapi-$version.accepted-breaking-changes.txt
  echo "breaking changes from $base to info.version $version:"
  if ! "$oasdiff" breaking "$base" "$new" --format singleline --fail-on MISSING-VERSION-BUMP; then
    echo "FAIL: a breaking change needs a major increase of info.version in spec/openapi.yaml," \
         "and each breaking change listed in $dir/$accepted"
    return 1
  fi
  ignore=$accepted
  [ -f "$ignore" ] || ignore=/dev/null
  if ! report=$("$oasdiff" breaking "$base" "$new" --format singleline --fail-on WARN \
                  --err-ignore "$ignore" --warn-ignore "$ignore"); then
    echo "FAIL: these breaking changes are not listed in $dir/$accepted:"
    echo "$report"
    return 1
  fi
  echo "OK: no breaking change that is not accepted for $version"
}

# A changelog section: a TITLE heading, then what changed from BASE to REVISION.
section() {
  printf '\n## %s\n' "$1"
  "$oasdiff" changelog "$2" "$3" --format markdown --template "$root/scripts/api-changelog.tmpl"
}

changelog() {
  local -a records
  mapfile -t records < <(releases "$released")
  {
    echo "# API changelog"
    echo
    echo "How the contract changed from one released version to the next, as \`oasdiff changelog\` sees"
    echo "it. Written by \`scripts/generate.sh\` from \`spec/released/\` and the bundle; do not edit."
    if [ "${#records[@]}" -eq 0 ]; then
      printf '\nNo contract has been released yet.\n'
      return
    fi
    local i=$(( ${#records[@]} - 1 ))
    section "Unreleased (since $(version_of "${records[i]}"))" "${records[i]}" "$bundle"
    for (( ; i > 0; i-- )); do
      section "$(version_of "${records[i]}") (since $(version_of "${records[i-1]}"))" \
        "${records[i-1]}" "${records[i]}"
    done
    printf '\n## %s\n\nThe first released contract.\n' "$(version_of "${records[0]}")"
  } | cat -s >"$root/docs/api-changelog.md"
}

release() {
  local version record
  version=$(version_of "$bundle")
  record=$released/openapi-$version.yaml
  if [ -f "$record" ]; then
    if cmp -s "$bundle" "$record"; then
      echo "$record is already the bundle"
      return 0
    fi
    if [ "${1:-}" != --rerecord ]; then
      echo "$record exists and differs from the bundle: bump info.version in spec/openapi.yaml," \
           "or pass --rerecord to replace a version that was never published" >&2
      return 1
    fi
  else
    check
  fi
  mkdir -p "$released"
  cp "$bundle" "$record"
  echo "recorded $record"
  changelog
}

case "${1:-}" in
  check | changelog | release) "$@" ;;
  *) sed -n '2,18s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
esac
