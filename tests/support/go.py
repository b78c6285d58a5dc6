"""The Go toolchain, for the tests that run Go test modules (the generated SDK's end-to-end
tests, the published Airflow Go client's)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def go() -> str:
    """The `go` binary; a missing toolchain skips the test, and fails it under CI."""
    found = shutil.which("go") or ("/usr/local/go/bin/go"
                                   if os.path.exists("/usr/local/go/bin/go") else None)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("the go toolchain is not installed")
        pytest.skip("the go toolchain is not installed")
    return found


def run_go(args: list[str], module: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`go ARGS...` in the Go module at `module`."""
    return subprocess.run([go(), *args], cwd=module, env=env, capture_output=True, text=True,
                          timeout=600)


def report(proc: subprocess.CompletedProcess[str]) -> str:
    return f"{' '.join(proc.args)} exited with {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
