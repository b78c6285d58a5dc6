"""A fresh virtual environment holding one wheel, for the tests of the distributions (the
server's, the Python SDK's).

The wheel's dependencies are not downloaded (CI may have no index): the new environment reads
them from this test environment's site-packages, listed after its own (a `.pth` line), so the
wheel's own packages can only come from the wheel.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path


def run(args: list, **kwargs) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs)
    assert proc.returncode == 0, f"{args} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def venv_with(wheel: Path, venv: Path) -> Path:
    """Make the virtual environment `venv` holding `wheel`; its `bin` folder."""
    run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / "bin" / "python"
    run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "-q", wheel])
    site = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
                .stdout.strip())
    (site / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return venv / "bin"
