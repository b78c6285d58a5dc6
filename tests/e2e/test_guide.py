"""docs/using-the-api.md, run: its curl examples with bash, its Python examples as one script
with the SDK, its Go program with the Go SDK, each against a live api-server and scheduler in the
order the guide gives them, so that the guide cannot rot."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ADMIN
from tests.support.go import go

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "using-the-api.md"
GO_SDK = Path(__file__).resolve().parents[2] / "clients" / "go"
TIMEOUT = 300


def blocks(language: str) -> str:
    """The guide's code blocks in `language`, in order, joined."""
    return "\n".join(re.findall(rf"^```{language}\n(.*?)^```", GUIDE.read_text(),
                                re.DOTALL | re.MULTILINE))


@pytest.fixture
def guide_env(live_server, live_scheduler) -> dict[str, str]:
    return {**os.environ, "WINDSOCK_URL": live_server, "WINDSOCK_USER": ADMIN[0],
            "WINDSOCK_PASSWORD": ADMIN[1]}


def run(args: list[str], env: dict[str, str], cwd: Path | None = None) -> str:
    proc = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert proc.returncode == 0, (f"{args[0]} exited {proc.returncode}:\n{proc.stdout}\n"
                                  f"{proc.stderr}")
    return proc.stdout


def test_the_curl_examples(guide_env):
    out = run(["bash", "-euo", "pipefail", "-c", blocks("sh")], guide_env).splitlines()
    assert "304" in out and "412" in out and "eu-north-1" in out
    assert "success" in out  # the run finished
    assert '{"state":"success","results":{"transform":{"count":3,"total":49.75}}}' in out
    assert "2024-01-02T00:00:00+00:00" in out  # the backfill's dry run
    assert "backfill runs: success,success" in out
    assert "distinct runs: 1" in out and "another body: 422" in out  # Idempotency-Key
    assert out[out.index("transform,load") + 1:][:2] == ["extract", "null"]  # cursor pages
    assert "transform return_value" in out
    assert ('{"created":["guide_bucket"],"skipped":["guide_region"],'
            '"failed":["guide_missing 404"]}') in out
    assert '{"name":"guide"}' in out and '{"name":"guide","approved":true}' in out
    assert "204" in out
    assert '{"count":3,"total":49.75}' in out
    assert out[-4:-2] == ["404", "/api/v1/docs/errors#not-found"] and out[-1] == "1"


def test_the_python_examples(guide_env):
    out = run([sys.executable, "-c", blocks("python")], guide_env).splitlines()
    assert "bulk created: ['guide_python', 'guide_python_bulk']" in out
    assert "xcom set: {'name': 'guide'}" in out
    assert "success" in out and "now success" in out
    assert "transform returned {'count': 3, 'total': 49.75}" in out
    assert "{'count': 3, 'total': 49.75}" in out
    assert "['load']" in out
    assert "would run ['2024-01-03', '2024-01-02', '2024-01-01']" in out  # a backfill plan
    assert out[-1].startswith("404 /api/v1/docs/errors#not-found ")


def test_the_go_program(guide_env, tmp_path):
    (tmp_path / "main.go").write_text(blocks("go"))
    (tmp_path / "go.mod").write_text(
        "module guide\n\ngo 1.23\n\nrequire github.com/windsock/windsock-go v0.0.0\n\n"
        f"replace github.com/windsock/windsock-go => {GO_SDK}\n")
    env = {**guide_env, "GOFLAGS": "-mod=mod", "GOPROXY": "off", "GOTOOLCHAIN": "local"}
    out = run([go(), "run", "."], env, cwd=tmp_path).splitlines()
    assert "stale ETag: 412" in out and "run: success" in out
    assert 'transform returned: {"count":3,"total":49.75}' in out
    total = next(line for line in out if line.startswith("example DAGs: "))
    assert total.replace(":", ", page by page:", 1) in out
    assert "log mentions orders: true" in out
    assert 'summary: {"count":3,"total":49.75}' in out and "would clear: 1" in out
    assert out[-1].startswith("404 /api/v1/docs/errors#not-found ")
