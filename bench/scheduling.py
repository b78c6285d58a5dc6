"""Scheduling benchmark: how fast a real `windsock scheduler` (LocalExecutor, or CeleryExecutor
with two workers) gets many small DAG runs done.

    python bench/scheduling.py                      # SQLite in a temporary WINDSOCK_HOME
    python bench/scheduling.py --postgres           # a throwaway PostgreSQL cluster
    python bench/scheduling.py --database-url postgresql+psycopg://user@host/db
    python bench/scheduling.py --executor celery    # a throwaway redis-server, two workers

It writes --dags DAG files of --tasks no-op tasks each (`ShellTask("true")`, or a Python task
returning None with --kind python; independent tasks, or a chain with --shape chain), parses
them with `windsock dags reserialize`, starts `windsock scheduler`, then unpauses and triggers
every DAG (in the database, as the API would: one transaction per DAG) and waits until every
run has finished. With --executor celery it first starts a throwaway redis-server (as the tests
do) and two `windsock celery worker` processes on this machine (127.0.0.2 and 127.0.0.3, half
of the parallelism each), stopped with SIGTERM at the end. It prints the figures read back
from the database (see bench/README.md) and the CPU time of its processes, and removes what it
created: the temporary home, or, on a database given by URL, the rows of its DAGs (prefixed
`bench_<random>_`) and the scheduler's job row.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

DAG_TEMPLATE = '''\
from datetime import datetime, timezone

from windsock import DAG, ShellTask, task

with DAG({dag_id!r}, schedule=None, start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
         max_active_tasks={tasks}, tags=["bench"]) as dag:
{body}
'''


def dag_source(dag_id: str, tasks: int, kind: str, shape: str) -> str:
    lines = []
    if kind == "python":
        lines.append("    @task\n    def noop():\n        return None\n")
        lines += [f"    t{n} = noop()" for n in range(tasks)]
    else:
        lines += [f"    t{n} = ShellTask('t{n}', 'true')" for n in range(tasks)]
    if shape == "chain" and tasks > 1:
        lines.append("    " + " >> ".join(f"t{n}" for n in range(tasks)))
    return DAG_TEMPLATE.format(dag_id=dag_id, tasks=tasks, body="\n".join(lines))


def windsock(env: dict[str, str], *args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "windsock.cli", *args], env=env,
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise SystemExit(f"windsock {' '.join(args)} exited with {proc.returncode}:\n"
                         f"{proc.stdout}\n{proc.stderr}")
    return proc.stdout.strip()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def spread(values: list[float]) -> str:
    if not values:
        return "n/a"
    return (f"min {min(values):.2f} s, median {statistics.median(values):.2f} s, "
            f"p95 {percentile(values, 0.95):.2f} s, max {max(values):.2f} s")


def trigger_all(dag_ids: list[str]) -> dict[str, tuple[str, datetime]]:
    """Unpause and trigger each DAG, one transaction per DAG as the API does; run per DAG."""
    from sqlalchemy import select, update

    from windsock.db.engine import session
    from windsock.db.models import Dag, SerializedDag
    from windsock.runs import trigger

    runs = {}
    for dag_id in dag_ids:
        with session() as sess:
            sess.execute(update(Dag).where(Dag.dag_id == dag_id).values(is_paused=False))
            data = json.loads(sess.scalar(select(SerializedDag.data)
                                          .where(SerializedDag.dag_id == dag_id)))
            now = datetime.now(timezone.utc)
            run_id = trigger.new_run_id("manual", now)
            run = trigger.create_run(sess, data, run_id=run_id, logical_date=now, conf={},
                                     run_type="manual")
            runs[dag_id] = (run_id, run.queued_at)
    return runs


def progress(dag_ids: list[str]) -> tuple[int, int, dict[str, int]]:
    """(finished runs, all runs, task instances by state) of the benchmark's DAGs."""
    from sqlalchemy import func, select

    from windsock.db.engine import session
    from windsock.db.models import DagRun, TaskInstance

    with session() as sess:
        finished = sess.scalar(select(func.count()).select_from(DagRun).where(
            DagRun.dag_id.in_(dag_ids), DagRun.state.in_(("success", "failed"))))
        total = sess.scalar(select(func.count()).select_from(DagRun).where(
            DagRun.dag_id.in_(dag_ids)))
        states = dict(sess.execute(select(TaskInstance.state, func.count()).where(
            TaskInstance.dag_id.in_(dag_ids)).group_by(TaskInstance.state)).all())
    return finished, total, {str(k): v for k, v in states.items()}


def figures(dag_ids: list[str], triggered: dict[str, tuple[str, datetime]]) -> dict:
    from sqlalchemy import select

    from windsock.db.engine import session
    from windsock.db.models import DagRun, TaskInstance

    with session() as sess:
        runs = {r.dag_id: r for r in sess.scalars(
            select(DagRun).where(DagRun.dag_id.in_(dag_ids)))}
        tis = list(sess.scalars(select(TaskInstance).where(TaskInstance.dag_id.in_(dag_ids))))
    by_dag: dict[str, list] = {}
    for ti in tis:
        by_dag.setdefault(ti.dag_id, []).append(ti)
    started = [ti for ti in tis if ti.start_date is not None]
    first_trigger = min(at for _, at in triggered.values())
    last_end = max(r.end_date for r in runs.values() if r.end_date is not None)
    starts = sorted(ti.start_date for ti in started)
    to_first_start = [(min(ti.start_date for ti in by_dag[d] if ti.start_date)
                       - triggered[d][1]).total_seconds()
                      for d in dag_ids if any(ti.start_date for ti in by_dag.get(d, []))]
    to_success = [(runs[d].end_date - triggered[d][1]).total_seconds()
                  for d in dag_ids if runs[d].state == "success"]
    queued_to_start = [(ti.start_date - ti.queued_dttm).total_seconds()
                       for ti in started if ti.queued_dttm is not None]
    durations = [ti.duration for ti in started if ti.duration is not None]
    start_window = (starts[-1] - starts[0]).total_seconds() if len(starts) > 1 else 0.0
    wall = (last_end - first_trigger).total_seconds()
    states: dict[str, int] = {}
    for ti in tis:
        states[str(ti.state)] = states.get(str(ti.state), 0) + 1
    run_states: dict[str, int] = {}
    for run in runs.values():
        run_states[run.state] = run_states.get(run.state, 0) + 1
    return {
        "runs": len(runs), "run_states": run_states, "tasks": len(tis), "task_states": states,
        "wall": wall, "start_window": start_window,
        "starts_per_second": len(started) / start_window if start_window else float("nan"),
        "tasks_per_second": len(started) / wall if wall else float("nan"),
        "to_first_start": to_first_start, "to_success": to_success,
        "queued_to_start": queued_to_start, "durations": durations,
    }


def cleanup_rows(prefix: str, scheduler_pid: int | None) -> None:
    """Delete the benchmark's rows from a database that outlives it."""
    from sqlalchemy import delete

    from windsock.db import models
    from windsock.db.engine import session

    like = f"{prefix}%"
    with session() as sess:
        for model in (models.XCom, models.TaskInstanceTry, models.TaskInstance, models.DagRun,
                      models.EventLog, models.DagWarning, models.SerializedDag, models.DagTag,
                      models.Dag):
            sess.execute(delete(model).where(model.dag_id.like(like)))
        if scheduler_pid is not None:
            sess.execute(delete(models.Job).where(models.Job.pid == scheduler_pid,
                                                  models.Job.job_type == "scheduler"))


def start_workers(env: dict[str, str], home: Path, parallelism: int) -> list[subprocess.Popen]:
    """Two `windsock celery worker` processes (127.0.0.2 and .3, their own log folders), each
    with half the parallelism, once both are ready."""
    workers, outputs = [], []
    for n in (2, 3):
        output = home / f"worker{n}.log"
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "windsock.cli", "celery", "worker",
             "--concurrency", str(max(1, parallelism // 2))],
            env={**env, "WINDSOCK__CORE__HOSTNAME": f"127.0.0.{n}",
                 "WINDSOCK__LOGGING__WORKER_LOG_SERVER_HOST": f"127.0.0.{n}",
                 "WINDSOCK__LOGGING__BASE_LOG_FOLDER": str(home / f"logs{n}")},
            stdout=output.open("ab"), stderr=subprocess.STDOUT, start_new_session=True))
        outputs.append(output)
    deadline = time.monotonic() + 60
    while not all(" ready." in output.read_text(errors="replace") for output in outputs):
        if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
            raise SystemExit("the Celery workers did not start:\n" + "\n".join(
                output.read_text(errors="replace")[-3000:] for output in outputs))
        time.sleep(0.2)
    return workers


def stop_workers(workers: list[subprocess.Popen]) -> None:
    """SIGTERM (a warm shutdown), then SIGKILL to what is left of each worker."""
    for worker in workers:
        if worker.poll() is None:
            worker.terminate()
    for worker in workers:
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(worker.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        worker.wait()
    workers.clear()


def reap_descendants(timeout: float = 30) -> None:
    """Wait for the processes left behind (a local executor's warm workers finish their task
    instance and exit after the scheduler), so that their CPU time counts."""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not os.waitpid(-1, os.WNOHANG)[0]:
                time.sleep(0.05)
    except ChildProcessError:
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dags", type=int, default=100, help="DAG files (default 100)")
    parser.add_argument("--tasks", type=int, default=10, help="tasks per DAG (default 10)")
    parser.add_argument("--kind", choices=("shell", "python"), default="shell",
                        help="no-op task kind: ShellTask 'true' (default) or a Python task")
    parser.add_argument("--shape", choices=("parallel", "chain"), default="parallel",
                        help="independent tasks (default) or one chain per DAG")
    db = parser.add_mutually_exclusive_group()
    db.add_argument("--database-url", help="a migrated-or-empty database to use instead of "
                                           "SQLite (e.g. postgresql+psycopg://user@host/db)")
    db.add_argument("--postgres", action="store_true",
                    help="start a throwaway PostgreSQL cluster (as the test suite does)")
    parser.add_argument("--parallelism", type=int, default=None,
                        help="[core] parallelism of the scheduler (default: the config's, 32)")
    parser.add_argument("--loop-interval", default=None,
                        help="[scheduler] loop_interval (default: the config's)")
    parser.add_argument("--executor", choices=("local", "celery"), default="local",
                        help="[core] executor (default local); celery starts a redis-server "
                             "and two workers")
    parser.add_argument("--timeout", type=float, default=900,
                        help="seconds to wait for every run to finish (default 900)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary WINDSOCK_HOME (DAGs, logs, scheduler output)")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="windsock-bench-"))
    prefix = f"bench_{secrets.token_hex(3)}_"
    cluster = None
    broker = None
    scheduler = None
    workers: list[subprocess.Popen] = []
    url = args.database_url
    try:
        sys.path.insert(0, str(ROOT))
        if args.postgres:
            from tests.support.postgres import start_cluster

            cluster = start_cluster()
            url = cluster.create_database("windsock_bench")
        url = url or f"sqlite:///{home}/windsock.db"
        dags_folder = home / "dags"
        dags_folder.mkdir()
        settings = {
            "WINDSOCK_HOME": str(home),
            "WINDSOCK__DATABASE__SQL_ALCHEMY_CONN": url,
            "WINDSOCK__CORE__DAGS_FOLDER": str(dags_folder),
            "WINDSOCK__CORE__LOAD_EXAMPLES": "False",
        }
        if args.parallelism is not None:
            settings["WINDSOCK__CORE__PARALLELISM"] = str(args.parallelism)
        if args.loop_interval is not None:
            settings["WINDSOCK__SCHEDULER__LOOP_INTERVAL"] = args.loop_interval
        if args.executor == "celery":
            from tests.support.ports import free_port
            from tests.support.brokers import RedisServer

            broker = RedisServer()
            settings.update({"WINDSOCK__CORE__EXECUTOR": "celery",
                             "WINDSOCK__CELERY__BROKER_URL": broker.url,
                             "WINDSOCK__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port())})
        os.environ.update(settings)
        env = dict(os.environ)

        from windsock import config

        backend = url.split(":", 1)[0]
        print(f"Database: {backend}; executor {args.executor}; "
              f"{args.dags} DAGs x {args.tasks} {args.kind} tasks "
              f"({args.shape}); parallelism {config.get('core', 'parallelism')}, "
              f"loop_interval {config.get('scheduler', 'loop_interval')} s; home {home}",
              flush=True)

        dag_ids = [f"{prefix}{n:04d}" for n in range(args.dags)]
        for dag_id in dag_ids:
            (dags_folder / f"{dag_id}.py").write_text(
                dag_source(dag_id, args.tasks, args.kind, args.shape))
        windsock(env, "db", "migrate")
        began = time.monotonic()
        summary = windsock(env, "dags", "reserialize").splitlines()[-1]
        print(f"Reserialize: {summary} ({time.monotonic() - began:.1f} s wall)", flush=True)

        from windsock.scheduler.process_group import adopt_orphans

        adopt_orphans()  # what the scheduler and workers leave is reaped here, its CPU counted
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        if broker is not None:
            workers = start_workers(env, home, config.get_int("core", "parallelism"))
        log = (home / "scheduler.log").open("ab")
        scheduler = subprocess.Popen([sys.executable, "-m", "windsock.cli", "scheduler"],
                                     env=env, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        time.sleep(1.0)  # let it start its loop; startup is not what is measured
        if scheduler.poll() is not None:
            raise SystemExit(f"the scheduler exited with {scheduler.returncode}:\n"
                             f"{(home / 'scheduler.log').read_text()}")

        began = time.monotonic()
        triggered = trigger_all(dag_ids)
        print(f"Triggered {len(triggered)} runs in {time.monotonic() - began:.2f} s", flush=True)

        deadline = time.monotonic() + args.timeout
        last_report = 0.0
        while True:
            finished, total, states = progress(dag_ids)
            if finished == total:
                break
            if scheduler.poll() is not None:
                raise SystemExit(f"the scheduler died ({scheduler.returncode}):\n"
                                 f"{(home / 'scheduler.log').read_text()[-5000:]}")
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out: {finished}/{total} runs finished; tasks {states}")
            if time.monotonic() - last_report > 10:
                print(f"  ... {finished}/{total} runs finished; tasks {states}", flush=True)
                last_report = time.monotonic()
            time.sleep(0.2)

        load = os.getloadavg()[0]
        scheduler.send_signal(signal.SIGTERM)
        try:
            code = scheduler.wait(timeout=60)
        except subprocess.TimeoutExpired:
            scheduler.kill()
            code = "killed after 60 s"
        log.close()
        stop_workers(workers)
        if broker is not None:
            broker.stop()
        reap_descendants()
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (cpu_after.ru_utime + cpu_after.ru_stime
               - cpu_before.ru_utime - cpu_before.ru_stime)

        f = figures(dag_ids, triggered)
        print()
        print(f"Runs:                      {f['runs']} {f['run_states']}")
        print(f"Total tasks:               {f['tasks']} {f['task_states']}")
        print(f"Wall time:                 {f['wall']:.2f} s (first trigger -> last run end)")
        print(f"Tasks started per second:  {f['starts_per_second']:.1f} "
              f"(over the {f['start_window']:.2f} s from first to last task start); "
              f"{f['tasks_per_second']:.1f} over the wall time")
        print(f"Trigger -> first task start, per DAG: {spread(f['to_first_start'])}")
        print(f"Trigger -> run success, per DAG:      {spread(f['to_success'])}")
        print(f"Queued -> task start, per task:       {spread(f['queued_to_start'])}")
        print(f"Task duration (runner), per task:     {spread(f['durations'])}")
        print(f"CPU (scheduler, workers, tasks{', broker' if broker else ''}): {cpu:.1f} s, "
              f"{cpu / max(f['tasks'], 1):.3f} s per task; load average (1 min) at the end "
              f"{load:.2f} on {os.cpu_count()} CPUs")
        print(f"Scheduler exit after SIGTERM: {code}")
        ok = f["run_states"] == {"success": f["runs"]} and code == 0
        return 0 if ok else 1
    finally:
        if scheduler is not None and scheduler.poll() is None:
            scheduler.kill()
            scheduler.wait()
        if args.database_url and not args.keep:
            try:
                cleanup_rows(prefix, scheduler.pid if scheduler else None)
            except Exception as exc:  # noqa: BLE001 - report, still remove the home
                print(f"could not delete the benchmark's rows: {exc}", file=sys.stderr)
        stop_workers(workers)
        if broker is not None:
            broker.close()
        if cluster is not None:
            cluster.stop()
        if args.keep:
            print(f"Kept {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
