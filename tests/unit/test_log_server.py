"""The worker log server (a real forked server on a free port): it serves the base log folder
only to requests signed with the shared key for the file asked for, and `fetch` reads a log
from it as logs.read reads a local file."""

from __future__ import annotations

import os
import signal
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

from tests.support.ports import free_port
from windsock import log_server, logs
from windsock.security import keys

RELATIVE = "dag_id=d/run_id=r/task_id=t/attempt=1.log"
TEXT = "first line\nsecond line, naïve\n" * 3


@pytest.fixture
def served(tmp_path, monkeypatch) -> Iterator[Path]:
    """A log server on a free port serving tmp_path/logs, which holds one log; that log."""
    folder = tmp_path / "logs"
    path = folder / RELATIVE
    path.parent.mkdir(parents=True)
    path.write_text(TEXT)
    (tmp_path / "secret.log").write_text("not served")
    for key, value in {"LOGGING__BASE_LOG_FOLDER": str(folder),
                       "LOGGING__WORKER_LOG_SERVER_HOST": "127.0.0.1",
                       "LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
                       "API__SECRET_KEY": "the key the API servers and workers share"}.items():
        monkeypatch.setenv(f"WINDSOCK__{key}", value)
    keys.signing_key.cache_clear()
    pid = log_server.start()
    try:
        yield path
    finally:
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
        keys.signing_key.cache_clear()


def _get(path: str, token: str | None) -> int:
    """The status of a raw request for `path`."""
    port = os.environ["WINDSOCK__LOGGING__WORKER_LOG_SERVER_PORT"]
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/log/{urllib.parse.quote(path)}",
        headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_fetch_reads_pieces_as_a_local_read_does(served):
    worker_log = logs.WorkerLog("127.0.0.1", RELATIVE)
    for offset, max_bytes in ((0, None), (0, 12), (12, 15), (len(TEXT.encode()), 10)):
        assert log_server.fetch(worker_log, offset, max_bytes) == logs.read(served, offset,
                                                                             max_bytes)
    with pytest.raises(ValueError, match="past the end"):
        log_server.fetch(worker_log, len(TEXT.encode()) + 1, None)
    assert _get(RELATIVE, log_server.token(RELATIVE)) == 200


def test_only_a_token_signed_for_the_file_reads_it(served):
    now = int(time.time())
    claims = {"aud": log_server.AUDIENCE, "filename": RELATIVE, "iat": now, "exp": now + 30}
    assert _get(RELATIVE, None) == 403
    other_key = "another key, not the one they share"
    assert _get(RELATIVE, jwt.encode(claims, other_key, algorithm="HS256")) == 403
    assert _get(RELATIVE, jwt.encode({**claims, "exp": now - 1}, keys.signing_key(),
                                     algorithm="HS256")) == 403
    assert _get(RELATIVE, jwt.encode({**claims, "aud": "windsock"}, keys.signing_key(),
                                     algorithm="HS256")) == 403
    assert _get(RELATIVE, log_server.token("dag_id=d/run_id=r/task_id=t/attempt=2.log")) == 403
    # A token for a path outside the folder, or for a file that is not a log, reads nothing.
    assert _get("../secret.log", log_server.token("../secret.log")) == 404
    assert _get("dag_id=d", log_server.token("dag_id=d")) == 404


def test_a_worker_that_cannot_be_reached_is_log_unavailable(served, monkeypatch):
    monkeypatch.setenv("WINDSOCK__LOGGING__WORKER_LOG_SERVER_PORT", str(free_port()))
    with pytest.raises(logs.LogUnavailable, match="on worker '127.0.0.1'.*cannot be read"):
        log_server.fetch(logs.WorkerLog("127.0.0.1", RELATIVE), 0, None)
