"""Routing controllers generated from the OpenAPI contract by scripts/generate.sh; do not edit."""
