#!/usr/bin/env bash
# Run the pinned oasdiff, installing it first into .tools/bin when it is missing or another
# version: `go install` from the Go module proxy (needs the Go toolchain), offline after that.
# Usage: scripts/oasdiff.sh ARG...   (the arguments are oasdiff's own)
set -euo pipefail
version=v1.39.0
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$root/.tools/bin/oasdiff
if [ "$("$bin" --version 2>/dev/null)" != "oasdiff version ${version#v}" ]; then
  echo "installing oasdiff $version into .tools/bin" >&2
  GOBIN=$root/.tools/bin go install "github.com/oasdiff/oasdiff@$version" >&2
fi
exec "$bin" "$@"
