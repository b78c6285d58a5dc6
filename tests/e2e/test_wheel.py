"""The server as a wheel: built from server/ once, installed into a fresh virtual environment in
a temporary folder, and run there as `windsock standalone`, with no checkout beside it. The
bundled contract, the reference pages, the migrations and the example DAGs must all come from
inside the wheel.

The wheel's dependencies come from this test environment (see tests/support/venv.py), so
`windsock` itself can only be the installed wheel.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.ports import free_port
from tests.support.venv import run, venv_with

SERVER = Path(__file__).resolve().parents[2] / "server"
EXAMPLES = {"example_branch", "example_shell", "example_xcom_chain"}


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The `windsock` command of a fresh virtual environment holding only the wheel."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "server"  # a copy, so the build writes nothing into the checkout
    shutil.copytree(SERVER, source, ignore=shutil.ignore_patterns(
        "*.egg-info", "__pycache__", "build"))  # links (the contract) are copied as files
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", root / "dist", source])
    wheel = next((root / "dist").glob("windsock-*.whl"))
    return venv_with(wheel, root / "venv") / "windsock"


def get(url: str, auth: tuple[str, str] | None = None):
    request = urllib.request.Request(url)
    if auth:
        token = base64.b64encode(":".join(auth).encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, response.read().decode()


def test_standalone_from_the_wheel(installed, tmp_path):
    home, port = tmp_path / "home", free_port()
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "WINDSOCK_HOME": str(home),
           "WINDSOCK__API__PORT": str(port),
           "WINDSOCK__DAG_PROCESSOR__REFRESH_INTERVAL": "1"}
    proc = subprocess.Popen([installed, "standalone"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                status, _ = get(f"{base}/health")
                break
            except OSError:
                assert time.monotonic() < deadline, "standalone did not answer in 90 s"
                time.sleep(0.5)
        password = (home / "standalone_admin_password.txt").read_text().strip()
        status, body = get(f"{base}/dags?limit=100", ("admin", password))
        assert {d["dag_id"] for d in json.loads(body)["dags"]} >= EXAMPLES
        status, page = get(f"{base}/docs")
        assert status == 200 and "<title>Windsock API</title>" in page
        status, body = get(f"{base}/openapi.json")
        assert json.loads(body)["paths"]["/dags"]
        where = run([installed.with_name("python"), "-c",
                     "import windsock.app as a; print(a.__file__, a.SPEC_PATH.is_symlink())"],
                    env=env, cwd=tmp_path).stdout.split()
        assert where[0].startswith(str(installed.parents[1])) and where[1] == "False"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
