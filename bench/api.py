"""API benchmark: requests per second, latency and server CPU per request of a real
`windsock api-server` on large seeded data, endpoint by endpoint.

    python bench/api.py                           # SQLite, 2 workers, the seeded volume below
    python bench/api.py --scale 10                # 10x the runs, task instances, XComs, ...
    python bench/api.py --postgres                # a throwaway PostgreSQL cluster
    python bench/api.py --home /tmp/wsbench       # seed once into that home, reuse it later

It seeds a fresh WINDSOCK_HOME with the volumes of Airflow 2's peer harness (200 DAG files of
10 tasks, parsed by `windsock dags reserialize`; then, in bulk through the models, 100 runs per
DAG of 10 task instances each, 20,000 XComs, 50,000 event log rows, 1,000 variables, 500
connections, 50 pools; all but the DAGs times --scale) and the user admin/admin, starts
`windsock api-server --workers N` in a process group of its own, and drives each endpoint with
a closed loop of --concurrency keep-alive connections (wrk when installed, else Python threads):
--warmup seconds discarded, then --duration seconds measured. Per endpoint it prints req/s, p50,
p99, non-2xx answers, the server's CPU ms per request (utime + stime from /proc over its process
group) and how the connections and that CPU spread over the workers. Names and requests are
those of the peer harness, so the figures compare with Airflow's (see bench/README.md).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scheduling import windsock  # noqa: E402 - the `windsock` command, as that benchmark runs it
from tests.support.ports import free_port  # noqa: E402
from tests.support.sockets import ESTABLISHED, holders, socket_inodes  # noqa: E402

WRK_SCRIPT = Path(__file__).with_name("api_wrk.lua")
USER = PASSWORD = "admin"
AUTH = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
BASE = datetime(2024, 1, 1, tzinfo=timezone.utc)
DAGS, TASKS = 200, 10
VOLUMES = {"runs": 20_000, "xcoms": 20_000, "event_logs": 50_000, "variables": 1_000,
           "connections": 500, "pools": 50}
BATCH = 5_000
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SEEDED_MARK = "bench-seeded.json"
PATCHED_KEY = "bench_var_0000"

DAG_SOURCE = '''\
from datetime import datetime, timezone

from windsock import DAG, ShellTask

with DAG({dag_id!r}, schedule="@daily", start_date=datetime(2024, 1, 1, tzinfo=timezone.utc),
         catchup=False, tags=["bench"]) as dag:
    tasks = [ShellTask(f"task_{{n:02d}}", "true") for n in range({tasks})]
'''


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    target: str
    mode: str = "static"  # static | trigger | patch
    body: str = ""


FIRST_RUN = "scheduled__2024-01-01T00%3A00%3A00%2B00%3A00"
ENDPOINTS = (
    Endpoint("health", "GET", "/api/v1/health"),
    Endpoint("dags_list", "GET", "/api/v1/dags?limit=100"),
    Endpoint("dag_get", "GET", "/api/v1/dags/bench_dag_0000"),
    Endpoint("dagruns_all", "GET", "/api/v1/dags/~/dagRuns?limit=100"),
    Endpoint("dagruns_batch", "POST", "/api/v1/dags/~/dagRuns/list", body='{"page_limit":100}'),
    Endpoint("task_instances", "GET",
             f"/api/v1/dags/bench_dag_0000/dagRuns/{FIRST_RUN}/taskInstances"),
    Endpoint("variables_list", "GET", "/api/v1/variables?limit=100"),
    Endpoint("connections_list", "GET", "/api/v1/connections?limit=100"),
    Endpoint("dagrun_trigger", "POST", "/api/v1/dags/bench_dag_0199/dagRuns", "trigger"),
    Endpoint("variable_patch", "PATCH", f"/api/v1/variables/{PATCHED_KEY}", "patch"),
)
# Measured after `health` on bench/bare_asgi.py's application, served the same way.
BARE = Endpoint("bare_asgi", "GET", "/api/v1/health")


# ---------------------------------------------------------------------------------- seeding

def _insert(model, rows: list[dict]) -> None:
    from sqlalchemy import insert

    from windsock.db.engine import session

    for start in range(0, len(rows), BATCH):
        with session() as sess:
            sess.execute(insert(model), rows[start:start + BATCH])


def _runs_and_tis(dag_ids: list[str], runs: int, rnd: random.Random) -> int:
    """`runs` runs spread over the DAGs, one a day from BASE, each with its 10 task
    instances; the last run of each DAG is running, about 5% failed. Returns the TI count."""
    from windsock.db.models import DagRun, TaskInstance

    per_dag = [runs // len(dag_ids) + (i < runs % len(dag_ids)) for i in range(len(dag_ids))]
    tis = 0
    for dag_id, count in zip(dag_ids, per_dag):
        run_rows, ti_rows = [], []
        for day in range(count):
            logical = BASE + timedelta(days=day)
            start = logical + timedelta(days=1, seconds=rnd.randint(1, 30))
            took = timedelta(seconds=rnd.randint(30, 600))
            state = ("running" if day == count - 1 else
                     "failed" if rnd.random() < 0.05 else "success")
            run_id = f"scheduled__{logical.isoformat()}"
            run_rows.append(dict(
                dag_id=dag_id, run_id=run_id, logical_date=logical, data_interval_start=logical,
                data_interval_end=logical + timedelta(days=1), queued_at=start - timedelta(seconds=1),
                start_date=start, end_date=None if state == "running" else start + took,
                state=state, run_type="scheduled", external_trigger=False, conf="{}",
                last_scheduling_decision=start + took, updated_at=start + took))
            moment = start
            for n in range(TASKS):
                if state == "running" and n >= TASKS // 2:
                    ti_state = "running" if n == TASKS // 2 else None
                else:
                    ti_state = "failed" if state == "failed" and n == TASKS - 1 else "success"
                seconds = rnd.uniform(0.5, 30.0)
                done = ti_state in ("success", "failed")
                ti_rows.append(dict(
                    dag_id=dag_id, run_id=run_id, task_id=f"task_{n:02d}", map_index=-1,
                    state=ti_state, try_number=1 if ti_state else 0, max_tries=1,
                    start_date=moment if ti_state else None,
                    end_date=moment + timedelta(seconds=seconds) if done else None,
                    duration=seconds if done else None,
                    hostname="bench-host" if ti_state else "", unixname="windsock",
                    pool="default_pool", pool_slots=1, queue="default",
                    priority_weight=TASKS - n, operator="ShellTask",
                    queued_dttm=moment - timedelta(seconds=1) if ti_state else None,
                    updated_at=moment + timedelta(seconds=seconds)))
                moment += timedelta(seconds=seconds)
        _insert(DagRun, run_rows)
        _insert(TaskInstance, ti_rows)
        tis += len(ti_rows)
    return tis


def seed(env: dict[str, str], home: Path, scale: float) -> dict:
    """Fill the home's database; returns the volumes and how long each step took."""
    from windsock.db.models import Connection, EventLog, Pool, Variable, XCom
    from windsock.security.users import create_user

    volumes = {name: max(1, round(count * scale)) for name, count in VOLUMES.items()}
    timings = {}
    dags_folder = home / "dags"
    dags_folder.mkdir(exist_ok=True)
    dag_ids = [f"bench_dag_{n:04d}" for n in range(DAGS)]
    for dag_id in dag_ids:
        (dags_folder / f"{dag_id}.py").write_text(DAG_SOURCE.format(dag_id=dag_id, tasks=TASKS))
    windsock(env, "db", "migrate")
    began = time.monotonic()
    summary = windsock(env, "dags", "reserialize").splitlines()[-1]
    timings["parse 200 DAG files (dags reserialize)"] = time.monotonic() - began
    print(f"  dags reserialize: {summary}", flush=True)
    create_user(USER, PASSWORD, "Admin", email="admin@bench.invalid")

    rnd = random.Random(42)
    began = time.monotonic()
    volumes["task_instances"] = _runs_and_tis(dag_ids, volumes["runs"], rnd)
    timings["runs and task instances"] = time.monotonic() - began

    began = time.monotonic()
    runs_per_dag = volumes["runs"] // DAGS or 1
    _insert(XCom, [dict(
        dag_id=dag_ids[i % DAGS], task_id=f"task_{(i // DAGS) % TASKS:02d}", map_index=-1,
        run_id=f"scheduled__{(BASE + timedelta(days=(i // (DAGS * TASKS)) % runs_per_dag)).isoformat()}",
        key="return_value", timestamp=BASE + timedelta(seconds=i),
        value=json.dumps({"rows": rnd.randint(0, 10_000), "path": f"s3://bench/{i}.parquet"}))
        for i in range(volumes["xcoms"])])
    events = ["running", "success", "trigger", "failed", "paused", "post_dag_run"]
    _insert(EventLog, [dict(
        dttm=BASE + timedelta(seconds=i), dag_id=dag_ids[i % DAGS], task_id="task_00",
        run_id=f"scheduled__{(BASE + timedelta(days=(i // DAGS) % runs_per_dag)).isoformat()}",
        event=events[i % len(events)], owner="bench_seed",
        extra=json.dumps({"host_name": "bench-host"})) for i in range(volumes["event_logs"])])
    _insert(Variable, [dict(key=f"bench_var_{i:04d}", description=f"Benchmark variable {i}",
                            val=json.dumps({"index": i, "payload": "x" * rnd.randint(16, 160)}))
                       for i in range(volumes["variables"])])
    types = ["postgres", "mysql", "http", "aws", "sqlite", "ssh", "google_cloud_platform", "redis"]
    _insert(Connection, [dict(
        conn_id=f"bench_conn_{i:04d}", conn_type=types[i % len(types)], login=f"user{i}",
        description=f"Benchmark connection {i}", host=f"host-{i}.bench.invalid",
        password=f"secret-{i}", schema=f"db{i % 7}", port=1000 + i,
        extra=json.dumps({"timeout": 30, "index": i})) for i in range(volumes["connections"])])
    _insert(Pool, [dict(pool=f"bench_pool_{i:02d}", slots=8 + i, description=f"Pool {i}")
                   for i in range(volumes["pools"])])
    timings["XComs, event log, variables, connections, pools"] = time.monotonic() - began
    return {"scale": scale, "volumes": volumes, "seconds": timings}


def seeded_home(home: Path, url: str | None, scale: float, *, reuse: bool) -> tuple[dict, dict]:
    """Point Windsock (this process and the environment returned) at `home` and the database
    `url` (default SQLite in `home`), seeded at `scale`; a home seeded before is reused when
    `reuse`, migrated to the current schema. Returns the environment and what was seeded."""
    url = url or f"sqlite:///{home}/windsock.db"
    os.environ.update({"WINDSOCK_HOME": str(home), "WINDSOCK__DATABASE__SQL_ALCHEMY_CONN": url,
                       "WINDSOCK__CORE__DAGS_FOLDER": str(home / "dags"),
                       "WINDSOCK__CORE__LOAD_EXAMPLES": "False"})
    env = dict(os.environ)
    mark = home / SEEDED_MARK
    if mark.exists() and reuse:
        seeded = json.loads(mark.read_text())
        print(f"Reusing the seeded home {home} (scale {seeded['scale']})", flush=True)
        windsock(env, "db", "migrate")
    else:
        print(f"Seeding {home} ({url.split(':', 1)[0]}, scale {scale}) ...", flush=True)
        seeded = seed(env, home, scale)
        mark.write_text(json.dumps(seeded, indent=2))
    print(json.dumps(seeded), flush=True)
    return env, seeded


def forget_triggered_runs() -> None:
    """Delete the runs an earlier measurement triggered, so every one starts from the seed."""
    from sqlalchemy import delete

    from windsock.db.engine import session
    from windsock.db.models import DagRun

    with session() as sess:
        sess.execute(delete(DagRun).where(DagRun.run_id.like("bench_trig_%")))


# ------------------------------------------------------------------------------- the server

def group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(fields[2]) == pgid:
                pids.append(int(entry))
    return pids


def cpu_ms(pid: int) -> float:
    """utime + stime of a process, in milliseconds (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) * 1000 / CLOCK_TICKS


def machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


# The bare application, served as windsock.cli's api-server serves Windsock's.
BARE_SERVER = (
    "from windsock.api import workers; "
    "workers.serve('bare_asgi:create', host='127.0.0.1', port={port}, workers={workers}, "
    "http='windsock.api.http_protocol:HttpProtocol', log_level='info')")


class Server:
    """`windsock api-server` in a process group of its own."""

    def __init__(self, env: dict[str, str], home: Path, workers: int, bare: bool = False) -> None:
        """`bare`: serve bench/bare_asgi.py's application instead, the same way."""
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.output = (home / "api-server.log").open("ab")
        command = [sys.executable, "-m", "windsock.cli", "api-server", "--port", str(self.port),
                   "--workers", str(workers)]
        if bare:
            env = {**env, "PYTHONPATH": os.pathsep.join(filter(None, (
                str(Path(__file__).parent), env.get("PYTHONPATH"))))}
            command = [sys.executable, "-c", BARE_SERVER.format(port=self.port, workers=workers)]
        self.proc = subprocess.Popen(command, env=env, stdout=self.output,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 120
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"api-server exited with {self.proc.returncode}; see "
                                 f"{home / 'api-server.log'}")
            try:
                with urllib.request.urlopen(f"{self.base}/api/v1/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("api-server did not answer /health within 120 s") from None
                time.sleep(0.3)

    def workers(self) -> list[int]:
        """The processes of the group that are not the supervising one (nor helpers)."""
        return [pid for pid in group_pids(self.proc.pid) if pid != self.proc.pid
                and b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()]

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.output.close()


# ---------------------------------------------------------------------------- load generation

def request_body(endpoint: Endpoint, nonce: str, counter: int) -> str:
    if endpoint.mode == "trigger":
        return json.dumps({"dag_run_id": f"bench_trig_{nonce}_{counter}", "conf": {}})
    if endpoint.mode == "patch":
        return json.dumps({"key": PATCHED_KEY, "value": f"bench value {nonce} {counter}"})
    return endpoint.body


def load_wrk(base: str, endpoint: Endpoint, seconds: float, concurrency: int) -> dict:
    env = {**os.environ, "BENCH_METHOD": endpoint.method, "BENCH_BODY": endpoint.body,
           "BENCH_MODE": endpoint.mode, "BENCH_AUTH": AUTH, "BENCH_NONCE": secrets.token_hex(4)}
    proc = subprocess.run(
        ["wrk", "-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--timeout", "30s",
         "-s", str(WRK_SCRIPT), base + endpoint.target],
        env=env, capture_output=True, text=True, timeout=seconds + 120)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("BENCHJSON ")), None)
    if line is None:
        raise SystemExit(f"wrk gave no figures:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(line.removeprefix("BENCHJSON "))


def load_python(base: str, endpoint: Endpoint, seconds: float, concurrency: int) -> dict:
    """A closed loop of `concurrency` threads, each on one keep-alive connection."""
    host, port = base.removeprefix("http://").split(":")
    nonce = secrets.token_hex(4)
    latencies: list[float] = []
    counts = {"non2xx": 0, "socket_errors": 0}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(index: int) -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        counter = 0
        headers = {"Authorization": AUTH, "Accept": "application/json",
                   "Content-Type": "application/json"}
        while time.monotonic() < deadline:
            counter += 1
            body = request_body(endpoint, f"{nonce}_{index}", counter) or None
            began = time.perf_counter()
            try:
                conn.request(endpoint.method, endpoint.target, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
            except OSError:
                conn.close()
                with lock:
                    counts["socket_errors"] += 1
                continue
            took = (time.perf_counter() - began) * 1000
            with lock:
                latencies.append(took)
                counts["non2xx"] += not 200 <= response.status < 300
        conn.close()

    began = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    latencies.sort()

    def pct(fraction: float) -> float:
        return latencies[min(len(latencies) - 1, int(fraction * len(latencies)))] if latencies else 0

    return {"requests": len(latencies), "seconds": elapsed, "p50_ms": pct(0.5),
            "p99_ms": pct(0.99), **counts}


def measure(server: Server, endpoint: Endpoint, args: argparse.Namespace) -> dict:
    load = load_wrk if args.loadgen == "wrk" else load_python
    if args.warmup:
        load(server.base, endpoint, args.warmup, args.concurrency)
    workers = server.workers()
    group_before = sum(cpu_ms(pid) for pid in group_pids(server.proc.pid))
    per_worker_before = {pid: cpu_ms(pid) for pid in workers}
    busy_before = machine_busy()
    sample: dict[int, int] = {}

    def sample_connections() -> None:
        time.sleep(min(2.0, args.duration / 2))
        sample.update(holders(socket_inodes(server.port, ESTABLISHED), workers))

    sampler = threading.Thread(target=sample_connections)
    sampler.start()
    result = load(server.base, endpoint, args.duration, args.concurrency)
    sampler.join()
    busy_after = machine_busy()
    group_ms = sum(cpu_ms(pid) for pid in group_pids(server.proc.pid)) - group_before
    per_worker = {pid: cpu_ms(pid) - per_worker_before[pid] for pid in workers}
    spent = sum(per_worker.values()) or 1
    requests = max(result["requests"], 1)
    return {**result, "endpoint": endpoint.name, "rps": result["requests"] / result["seconds"],
            "cpu_ms_per_request": group_ms / requests,
            "machine_busy_percent": 100 * (busy_after[0] - busy_before[0])
            / max(busy_after[1] - busy_before[1], 1),
            "connections_per_worker": [sample.get(pid, 0) for pid in workers],
            "cpu_share_per_worker": [round(100 * per_worker[pid] / spent) for pid in workers]}


def preflight(base: str) -> None:
    for endpoint in ENDPOINTS:
        request = urllib.request.Request(
            base + endpoint.target, method=endpoint.method,
            data=request_body(endpoint, "preflight", 0).encode() or None,
            headers={"Authorization": AUTH, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60):
                pass
        except urllib.error.HTTPError as exc:
            raise SystemExit(f"preflight: {endpoint.name} answered {exc.code}: "
                             f"{exc.read()[:300]!r}") from None


def table(results: list[dict]) -> str:
    lines = ["| endpoint | req/s | p50 ms | p99 ms | non-2xx | CPU ms/req | machine busy "
             "| connections per worker | CPU % per worker |",
             "|---|---:|---:|---:|---:|---:|---:|---|---|"]
    for r in results:
        lines.append(
            f"| {r['endpoint']} | {r['rps']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} "
            f"| {r['non2xx'] + r['socket_errors']} | {r['cpu_ms_per_request']:.2f} "
            f"| {r['machine_busy_percent']:.0f}% "
            f"| {'/'.join(map(str, r['connections_per_worker']))} "
            f"| {'/'.join(map(str, r['cpu_share_per_worker']))} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply the seeded runs, task instances, XComs, event log rows, "
                             "variables, connections and pools (default 1)")
    parser.add_argument("--workers", type=int, default=2, help="API worker processes (2)")
    parser.add_argument("--concurrency", type=int, default=8, help="connections (8)")
    parser.add_argument("--duration", type=float, default=15, help="seconds measured (15)")
    parser.add_argument("--warmup", type=float, default=3, help="seconds discarded first (3)")
    parser.add_argument("--only", default="",
                        help="comma-separated endpoint names (default: all): "
                             + ", ".join(e.name for e in ENDPOINTS))
    parser.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--home", type=Path, default=None,
                        help="WINDSOCK_HOME to seed once and reuse (kept); default a temporary one")
    db = parser.add_mutually_exclusive_group()
    db.add_argument("--database-url", help="an empty database to seed instead of SQLite")
    db.add_argument("--postgres", action="store_true",
                    help="start a throwaway PostgreSQL cluster (as the test suite does)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    if args.loadgen == "auto":
        args.loadgen = "wrk" if shutil.which("wrk") else "python"
    only = {name for name in args.only.split(",") if name}
    endpoints = [e for e in ENDPOINTS if not only or e.name in only]

    home = args.home or Path(tempfile.mkdtemp(prefix="windsock-bench-api-"))
    home.mkdir(parents=True, exist_ok=True)
    cluster = server = None
    try:
        url = args.database_url
        if args.postgres:
            from tests.support.postgres import start_cluster

            cluster = start_cluster()
            url = cluster.create_database("windsock_bench_api")
        env, seeded = seeded_home(home, url, args.scale, reuse=not args.postgres)
        forget_triggered_runs()

        server = Server(env, home, args.workers)
        preflight(server.base)
        print(f"Server: {args.workers} workers on {server.base}; load: {args.loadgen}, "
              f"{args.concurrency} connections, {args.warmup:g} s warm-up + {args.duration:g} s "
              f"per endpoint; {os.cpu_count()} CPUs; load average "
              f"{' '.join(Path('/proc/loadavg').read_text().split()[:3])}", flush=True)
        results = []
        for endpoint in endpoints:
            results.append(measure(server, endpoint, args))
            r = results[-1]
            print(f"  {endpoint.name}: {r['rps']:.0f} req/s, p50 {r['p50_ms']:.1f} ms, "
                  f"p99 {r['p99_ms']:.1f} ms, CPU {r['cpu_ms_per_request']:.2f} ms/req, "
                  f"connections {r['connections_per_worker']}", flush=True)
        if any(e.name == "health" for e in endpoints):
            server.stop()
            server = Server(env, home, args.workers, bare=True)
            results.append(measure(server, BARE, args))
            r = results[-1]
            health = next(r for r in results if r["endpoint"] == "health")
            print(f"  {BARE.name}: {r['rps']:.0f} req/s, p50 {r['p50_ms']:.1f} ms; health does "
                  f"{health['rps'] / r['rps']:.0%} of it", flush=True)
        print()
        print(table(results))
        print(f"\nload average after: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
        if args.json:
            args.json.write_text(json.dumps({"seed": seeded, "results": results}, indent=2))
        crowded = [r["endpoint"] for r in results if 0 in r["connections_per_worker"]]
        if crowded and args.workers > 1:
            print(f"\nA worker held no connection during: {', '.join(crowded)}")
        return 0
    finally:
        if server is not None:
            server.stop()
        if cluster is not None:
            cluster.stop()
        if args.home is None:
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
