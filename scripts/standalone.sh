#!/usr/bin/env bash
# Set up Windsock in .venv and run `windsock standalone`: migrate the SQLite database in
# $WINDSOCK_HOME (default ~/windsock), create the admin user (its password is printed once) and
# serve the API on http://127.0.0.1:8080/api/v1 with Swagger UI at /api/v1/ui/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh -e ./server
exec .venv/bin/windsock standalone "$@"
