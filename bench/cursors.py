"""Cursor pages against offset pages: what one page of DAG runs and of task instances costs at
10,000 and at 2,000,000 task instances.

    python bench/cursors.py                              # SQLite, both sizes, temporary homes
    python bench/cursors.py --home-prefix /tmp/wscursors # seed /tmp/wscursors-<scale> once, reuse
    python bench/cursors.py --postgres                   # a throwaway PostgreSQL cluster

For each --scales value it seeds a home as bench/api.py does (its `seeded_home`: 200 DAGs of 10
tasks, 20,000 runs of 10 task instances each times the scale, so 0.05 gives 10,000 task
instances and 10 gives 2,000,000), starts `windsock api-server` (one worker) and times, one
request at a time on a keep-alive connection (--repeat requests after 3 discarded), four pages
of 100 of `GET /dags/~/dagRuns` and of `GET /dags/~/dagRuns/~/taskInstances`: the first offset
page and one in the middle (`offset`, each with its COUNT), and the first cursor page
(`cursor=`) and one in the middle (a cursor naming the middle row, as the server would have
issued it after reading that far: signed with the `[api] secret_key` this script gives the
server). It prints the median and 90th percentile latency of each.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from api import AUTH, Server, seeded_home  # bench/api.py: its seeding and server

LISTS = {"runs": "/api/v1/dags/~/dagRuns",
         "task instances": "/api/v1/dags/~/dagRuns/~/taskInstances"}
LIMIT = 100


def middle_row(kind: str, rows: int) -> list:
    """The sort values (default order: the primary key) of the middle row of a list."""
    from sqlalchemy import select

    from windsock.db.engine import session
    from windsock.db.models import DagRun, TaskInstance

    columns = ([DagRun.id] if kind == "runs" else
               [TaskInstance.dag_id, TaskInstance.run_id, TaskInstance.task_id,
                TaskInstance.map_index])
    with session() as sess:
        return list(sess.execute(select(*columns).order_by(*columns)
                                 .offset(rows // 2).limit(1)).one())


def cursor_at(first_cursor: str, values: list) -> str:
    """A forward cursor from the row with `values`, for the query `first_cursor` was issued for
    (its digest is in its payload), signed with the key the server signs with."""
    from windsock.api import cursors

    payload = first_cursor.split(".")[0]
    digest = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["q"]
    return cursors.encode(cursors.Position(values, backward=False), digest)


def timed(conn: http.client.HTTPConnection, target: str, repeat: int) -> dict:
    samples = []
    for n in range(3 + repeat):
        began = time.perf_counter()
        conn.request("GET", target, headers={"Authorization": AUTH})
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"{target}: {response.status} {body[:300]!r}")
        if n >= 3:
            samples.append((time.perf_counter() - began) * 1000)
    deciles = statistics.quantiles(samples, n=10)
    return {"median_ms": statistics.median(samples), "p90_ms": deciles[-1],
            "items": len(next(v for v in json.loads(body).values() if isinstance(v, list)))}


def measure(base: str, seeded: dict, repeat: int) -> list[dict]:
    conn = http.client.HTTPConnection(urlsplit(base).netloc, timeout=600)
    results = []
    for kind, path in LISTS.items():
        rows = seeded["volumes"]["runs" if kind == "runs" else "task_instances"]
        conn.request("GET", f"{path}?limit={LIMIT}&cursor=", headers={"Authorization": AUTH})
        first = json.loads(conn.getresponse().read())["next_cursor"]
        middle = cursor_at(first, middle_row(kind, rows))
        pages = {"offset 0 (+ COUNT)": "offset=0",
                 f"offset {rows // 2:,} (+ COUNT)": f"offset={rows // 2}",
                 "cursor, first page": "cursor=",
                 "cursor, middle page": f"cursor={middle}"}
        for page, query in pages.items():
            figures = timed(conn, f"{path}?limit={LIMIT}&{query}", repeat)
            results.append({"list": kind, "rows": rows, "page": page, **figures})
            print(f"  {kind} ({rows:,}), {page}: median {figures['median_ms']:.1f} ms, "
                  f"p90 {figures['p90_ms']:.1f} ms", flush=True)
    conn.close()
    return results


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="0.05,10",
                        help="bench/api.py scales to seed (0.05,10: 10,000 and 2,000,000 task "
                             "instances)")
    parser.add_argument("--repeat", type=int, default=30, help="timed requests per page (30)")
    parser.add_argument("--home-prefix", type=Path, default=None,
                        help="seed <prefix>-<scale> once and reuse it (kept); default temporary")
    parser.add_argument("--postgres", action="store_true",
                        help="start a throwaway PostgreSQL cluster (as the test suite does)")
    args = parser.parse_args()
    # The key the servers sign cursors with, which this process signs its middle cursors with.
    os.environ["WINDSOCK__API__SECRET_KEY"] = secrets.token_urlsafe(32)
    cluster = None
    table = []
    try:
        if args.postgres:
            from tests.support.postgres import start_cluster

            cluster = start_cluster()
        for scale in (float(s) for s in args.scales.split(",")):
            home = (Path(f"{args.home_prefix}-{scale:g}") if args.home_prefix
                    else Path(tempfile.mkdtemp(prefix="windsock-bench-cursors-")))
            home.mkdir(parents=True, exist_ok=True)
            url = (cluster.create_database(f"windsock_bench_cursors_{str(scale).replace('.', '_')}")
                   if cluster else None)
            try:
                env, seeded = seeded_home(home, url, scale, reuse=not args.postgres)
                server = Server(env, home, 1)
                try:
                    print(f"scale {scale:g}: {seeded['volumes']['task_instances']:,} task "
                          f"instances; load average {loadavg()}", flush=True)
                    table += measure(server.base, seeded, args.repeat)
                finally:
                    server.stop()
            finally:
                if not args.home_prefix:
                    shutil.rmtree(home, ignore_errors=True)
    finally:
        if cluster is not None:
            cluster.stop()
    print("\n| list | rows | page | median ms | p90 ms |\n|---|---:|---|---:|---:|")
    for r in table:
        print(f"| {r['list']} | {r['rows']:,} | {r['page']} | {r['median_ms']:.1f} | "
              f"{r['p90_ms']:.1f} |")
    print(f"\n{os.cpu_count()} CPUs; load average after: {loadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
