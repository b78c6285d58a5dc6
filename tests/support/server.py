"""A real `windsock api-server` process on a free port, for the end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.ports import free_port


@contextmanager
def api_server(env: dict[str, str], *, output_path: Path | None = None) -> Iterator[str]:
    """Run the server with `env` until the block ends; yields its base URL. Its output (log
    included) goes to `output_path` when given, for the test to read, else to a temporary file."""
    port = free_port()
    cmd = [sys.executable, "-m", "windsock.cli", "api-server", "--port", str(port)]
    # The output goes to a file, not a pipe: nobody reads a pipe while the server runs, and a
    # full one would block the server's access log and with it every request.
    output = open(output_path, "w+") if output_path else tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen(cmd, env={**os.environ, **env}, stdout=output,
                            stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                output.seek(0)
                raise RuntimeError(f"api-server exited with {proc.returncode}:\n{output.read()}")
            try:
                with urllib.request.urlopen(f"{base}/api/v1/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("api-server did not answer /health within 60s") from None
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        output.close()
