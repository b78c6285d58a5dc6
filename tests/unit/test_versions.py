"""One version for the contract, the server and both SDKs (docs/releasing.md)."""

from __future__ import annotations

from pathlib import Path

import yaml
import windsock

ROOT = Path(__file__).resolve().parents[2]


def test_server_and_sdks_carry_the_contracts_version():
    version = yaml.safe_load((ROOT / "spec" / "openapi.yaml").read_text())["info"]["version"]
    assert windsock.__version__ == version
    for options in ("python.yaml", "go.yaml"):
        generator = yaml.safe_load((ROOT / "scripts" / "generator" / options).read_text())
        assert generator["packageVersion"] == version, options
