"""Authentication benchmark: requests per second through a real `windsock api-server` for each
way of authenticating, on the same cheap authorized operation (`GET /api/v1/version`).

    python bench/auth.py [--requests 500]

It migrates a temporary WINDSOCK_HOME (SQLite), creates a Viewer, starts the server, then, for
basic auth (the password check is remembered, so the KDF is paid once), an access token, a
personal API token and a login session, sends --requests sequential requests over one
keep-alive connection and prints requests/s and the median and p95 latency. A first column
shows one basic request with a wrong password, the price of the KDF an attacker pays.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.server import api_server  # noqa: E402

USER, PASSWORD = "bench-viewer", "bench-password-0123"


def timed(client: httpx.Client, count: int, **request) -> list[float]:
    latencies = []
    for _ in range(count):
        start = time.perf_counter()
        response = client.get("/api/v1/version", **request)
        latencies.append(time.perf_counter() - start)
        response.raise_for_status()
    return latencies


def report(name: str, latencies: list[float]) -> None:
    ordered = sorted(latencies)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    print(f"{name:<22} {len(latencies) / sum(latencies):8.1f} req/s   "
          f"median {statistics.median(latencies) * 1000:6.1f} ms   p95 {p95 * 1000:6.1f} ms",
          flush=True)


def prepare(env: dict[str, str]) -> None:
    for args in (["db", "migrate"], ["users", "create", "--username", USER, "--password",
                                     PASSWORD, "--role", "Viewer"]):
        subprocess.run([sys.executable, "-m", "windsock.cli", *args], env={**os.environ, **env},
                       check=True, capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    count = parser.parse_args().requests
    with tempfile.TemporaryDirectory() as home:
        env = {"WINDSOCK_HOME": home,
               "WINDSOCK__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/windsock.db",
               "WINDSOCK__API__AUTH_FAILURE_LIMIT": "1000000"}
        prepare(env)
        with api_server(env) as base, httpx.Client(base_url=base, timeout=30) as client:
            basic = (USER, PASSWORD)
            start = time.perf_counter()
            assert client.get("/api/v1/version", auth=(USER, "wrong")).status_code == 401
            print(f"{'wrong password (KDF)':<22} one request: "
                  f"{(time.perf_counter() - start) * 1000:.1f} ms")
            report("basic (remembered)", timed(client, count, auth=basic))
            access = client.post("/api/v1/auth/token", auth=basic).json()["access_token"]
            report("bearer access token", timed(
                client, count, headers={"Authorization": f"Bearer {access}"}))
            personal = client.post("/api/v1/auth/tokens", auth=basic,
                                   json={"name": "bench"}).json()["token"]
            report("bearer personal token", timed(
                client, count, headers={"Authorization": f"Bearer {personal}"}))
            client.post("/api/v1/auth/login", json={"username": USER, "password": PASSWORD})
            report("session cookie", timed(client, count))
    return 0


if __name__ == "__main__":
    sys.exit(main())
