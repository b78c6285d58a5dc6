"""Wait benchmark: what 500 concurrent waits for DAG runs (GET .../dagRuns/{id}/wait) cost one
`windsock api-server` process, and whether other requests notice them.

    python bench/wait.py                       # SQLite, 500 waits, one worker
    python bench/wait.py --waiters 1000 --postgres

In a fresh WINDSOCK_HOME it parses one DAG file and triggers --waiters runs of the DAG, which
stays paused so that the runs stay queued, then starts `windsock api-server --workers 1`. It
measures a closed loop of --concurrency connections reading one run (GET .../dagRuns/{id}) for
--duration seconds: once alone, once while one wait per run (timeout an hour) is open on a
connection of its own. Between the two it reports the server's memory (VmRSS), threads and CPU
while only the waits are open (the poller's cost: one query per [api] wait_poll_interval for
all of them). Last, it marks every run `success` in one UPDATE and reports how long each wait
took to write its last line. The machine's load average and busy share are printed throughout.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api import AUTH, PASSWORD, USER, Endpoint, Server, cpu_ms, load_python, machine_busy  # noqa: E402
from scheduling import percentile, windsock  # noqa: E402

DAG_ID = "bench_wait"
DAG_SOURCE = '''\
from datetime import datetime, timezone

from windsock import DAG, ShellTask

with DAG("bench_wait", schedule=None, start_date=datetime(2024, 1, 1, tzinfo=timezone.utc)) as dag:
    ShellTask("noop", "true")
'''


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def status_of(pid: int) -> dict[str, str]:
    return dict(line.split(":\t", 1) for line in Path(f"/proc/{pid}/status").read_text()
                .splitlines() if ":\t" in line)


def prepare(home: Path, url: str | None, runs: int) -> dict[str, str]:
    """A migrated home with the admin, the DAG (paused) and `runs` queued runs of it."""
    (home / "dags").mkdir()
    (home / "dags" / f"{DAG_ID}.py").write_text(DAG_SOURCE)
    os.environ.update({"WINDSOCK_HOME": str(home),
                       "WINDSOCK__DATABASE__SQL_ALCHEMY_CONN":
                           url or f"sqlite:///{home}/windsock.db",
                       "WINDSOCK__CORE__DAGS_FOLDER": str(home / "dags"),
                       "WINDSOCK__CORE__LOAD_EXAMPLES": "False"})
    env = dict(os.environ)
    windsock(env, "db", "migrate")
    print(f"  {windsock(env, 'dags', 'reserialize').splitlines()[-1]}", flush=True)
    # Windsock's modules read the environment just set.
    from windsock.api import lookups
    from windsock.db.engine import write_session
    from windsock.runs import trigger
    from windsock.security.users import create_user

    create_user(USER, PASSWORD, "Admin", email="admin@bench.invalid")
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    with write_session() as sess:
        _, serialized = lookups.serialized_dag(sess, DAG_ID)
        for n in range(runs):
            trigger.create_run(sess, serialized, run_id=f"wait_{n:05d}",
                               logical_date=start + timedelta(minutes=n), conf={},
                               run_type="manual", note=None)
    return env


class Waiters:
    """`count` waits, each on a connection of its own, read by one asyncio loop on a thread."""

    def __init__(self, base: str, count: int) -> None:
        self.host, port = base.removeprefix("http://").split(":")
        self.port = int(port)
        self.count = count
        self.first_lines = 0
        self.ended: list[float] = []  # when each wait wrote its last line (time.monotonic())
        self.failed: list[str] = []
        self.started = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._all()), daemon=True)
        self.thread.start()

    async def _one(self, n: int) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        writer.write((f"GET /api/v1/dags/{DAG_ID}/dagRuns/wait_{n:05d}/wait?timeout=3600 "
                      f"HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: {AUTH}\r\n\r\n").encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            self.failed.append(head.split(b"\r\n", 1)[0].decode())
            return
        lines = 0
        while True:  # chunked: one JSON line per chunk
            size = int((await reader.readline()).strip(), 16)
            if size == 0:
                break
            await reader.readexactly(size + 2)
            lines += 1
            if lines == 1:
                self.first_lines += 1
                if self.first_lines == self.count:
                    self.started.set()
        self.ended.append(time.monotonic())
        writer.close()

    async def _all(self) -> None:
        results = await asyncio.gather(*(self._one(n) for n in range(self.count)),
                                       return_exceptions=True)
        self.failed += [repr(r) for r in results if isinstance(r, BaseException)]
        self.started.set()


def figures(label: str, result: dict, busy: float) -> str:
    return (f"  {label}: {result['requests'] / result['seconds']:.0f} req/s, "
            f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, "
            f"non-2xx {result['non2xx']}, machine busy {busy:.0f}%")


def measured(server: Server, endpoint: Endpoint, args: argparse.Namespace) -> tuple[dict, float]:
    load_python(server.base, endpoint, args.warmup, args.concurrency)
    before = machine_busy()
    result = load_python(server.base, endpoint, args.duration, args.concurrency)
    after = machine_busy()
    return result, 100 * (after[0] - before[0]) / max(after[1] - before[1], 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--waiters", type=int, default=500, help="concurrent waits (500)")
    parser.add_argument("--concurrency", type=int, default=8,
                        help="connections of the other requests' load (8)")
    parser.add_argument("--duration", type=float, default=15, help="seconds measured (15)")
    parser.add_argument("--warmup", type=float, default=3, help="seconds discarded first (3)")
    parser.add_argument("--idle", type=float, default=10,
                        help="seconds the server's CPU is measured with only the waits (10)")
    parser.add_argument("--postgres", action="store_true",
                        help="a throwaway PostgreSQL cluster (as the test suite starts)")
    args = parser.parse_args()

    with ExitStack() as cleanup:
        home = Path(tempfile.mkdtemp(prefix="windsock-bench-wait-"))
        cleanup.callback(shutil.rmtree, home, ignore_errors=True)
        url = None
        if args.postgres:
            from tests.support.postgres import start_cluster

            cluster = start_cluster()
            cleanup.callback(cluster.stop)
            url = cluster.create_database("windsock_bench_wait")
        print(f"Preparing {args.waiters} queued runs in {home} ...", flush=True)
        env = prepare(home, url, args.waiters)
        server = Server(env, home, 1)
        cleanup.callback(server.stop)
        [worker] = server.workers() or [server.proc.pid]
        print(f"Server on {server.base} ({'PostgreSQL' if url else 'SQLite'}), one worker; "
              f"{os.cpu_count()} CPUs; load average {load_average()}", flush=True)
        endpoint = Endpoint("get_dag_run", "GET", f"/api/v1/dags/{DAG_ID}/dagRuns/wait_00000")

        alone, busy = measured(server, endpoint, args)
        print(figures("other requests, no waits", alone, busy), flush=True)
        rss_before = status_of(worker)["VmRSS"].strip()
        threads_before = status_of(worker)["Threads"].strip()

        began = time.monotonic()
        waiters = Waiters(server.base, args.waiters)
        waiters.started.wait(120)
        if waiters.failed or waiters.first_lines != args.waiters:
            raise SystemExit(f"{waiters.first_lines} waits started; failures: "
                             f"{waiters.failed[:5]}")
        print(f"  {args.waiters} waits open in {time.monotonic() - began:.1f} s; server "
              f"VmRSS {rss_before} -> {status_of(worker)['VmRSS'].strip()}, threads "
              f"{threads_before} -> {status_of(worker)['Threads'].strip()}", flush=True)
        cpu_before, busy_before = cpu_ms(worker), machine_busy()
        time.sleep(args.idle)
        busy_after = machine_busy()
        print(f"  with only the waits open: server CPU "
              f"{(cpu_ms(worker) - cpu_before) / args.idle / 10:.1f}% of a core over "
              f"{args.idle:g} s; machine busy {100 * (busy_after[0] - busy_before[0]) / max(busy_after[1] - busy_before[1], 1):.0f}%",
              flush=True)

        loaded, busy = measured(server, endpoint, args)
        print(figures(f"other requests, {args.waiters} waits open", loaded, busy), flush=True)

        from sqlalchemy import update
        from windsock.db.engine import write_session
        from windsock.db.models import DagRun

        with write_session() as sess:
            sess.execute(update(DagRun).where(DagRun.dag_id == DAG_ID).values(state="success"))
        finished = time.monotonic()
        waiters.thread.join(60)
        took = [end - finished for end in waiters.ended]
        print(f"  all runs marked success: {len(took)} waits ended, after "
              f"p50 {statistics.median(took):.2f} s, p99 {percentile(took, 0.99):.2f} s, "
              f"max {max(took):.2f} s (poll interval 1 s)", flush=True)
        print(f"load average after: {load_average()}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
