"""`windsock dags backfill`: create a backfill (as `POST /backfills` does) or list its logical
dates (`--dry-run`), and with `--wait` follow it until it completes, printing each run that
finishes with its duration, then a summary. The running scheduler creates and runs the
backfill's runs; this command only watches the database.

Only the standard library is imported up front: every task runner process imports the command
line, which registers this command's arguments."""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime

REPROCESS_BEHAVIORS = ("none", "failed", "completed")  # the contract's ReprocessBehavior


def add_parser(dags: argparse._SubParsersAction) -> None:
    """The command's arguments, below `windsock dags`."""
    text = ("Backfill a DAG: create a backfill whose runs the scheduler creates and runs, for "
            "the logical dates from --from to --to (both included); see docs/dags.md.")
    parser = dags.add_parser("backfill", help=text, description=text)
    parser.set_defaults(func=run)
    parser.add_argument("dag_id")
    parser.add_argument("--from", dest="from_date", required=True, type=_moment,
                        help="The earliest logical date, ISO 8601 (UTC when it has no offset).")
    parser.add_argument("--to", dest="to_date", required=True, type=_moment,
                        help="The latest logical date, ISO 8601 (UTC when it has no offset).")
    parser.add_argument("--reprocess-behavior", choices=REPROCESS_BEHAVIORS,
                        default="none", help="Which existing runs to rerun (default: none).")
    parser.add_argument("--max-active-runs", type=int, default=10,
                        help="How many of its runs may be queued or running at once (1 to "
                             "1000, default 10).")
    parser.add_argument("--run-backwards", action="store_true",
                        help="Run the latest logical date first.")
    parser.add_argument("--conf", type=json.loads, default={},
                        help="The runs' configuration, a JSON object.")
    parser.add_argument("--dry-run", action="store_true",
                        help="Print the logical dates it would run; create nothing.")
    parser.add_argument("--wait", action="store_true",
                        help="Follow the backfill until it completes; exit 1 if a run failed.")
    parser.add_argument("--poll-interval", type=float, default=2.0,
                        help="Seconds between looks at the backfill while waiting.")


def _moment(text: str) -> datetime:
    from windsock.dags.schedules import as_utc

    return as_utc(datetime.fromisoformat(text))


def run(args: argparse.Namespace) -> None:
    from windsock.db import migrate
    from windsock.db.engine import write_session
    from windsock.db.models import Dag, utcnow
    from windsock.runs import backfills
    from windsock.scheduler.runs import serialized

    migrate.check_current()
    if not 1 <= args.max_active_runs <= 1000:
        raise ValueError("--max-active-runs must be between 1 and 1000.")
    if not isinstance(args.conf, dict):
        raise ValueError("--conf must be a JSON object.")
    request = backfills.Request(
        dag_id=args.dag_id, from_date=args.from_date, to_date=args.to_date,
        run_backwards=args.run_backwards, dag_run_conf=args.conf,
        reprocess_behavior=args.reprocess_behavior, max_active_runs=args.max_active_runs)
    now = utcnow()
    with write_session() as sess:
        dag = sess.get(Dag, args.dag_id)
        data = serialized(sess, [args.dag_id]).get(args.dag_id)
        if dag is None or data is None:
            raise ValueError(f"DAG {args.dag_id!r} does not exist (or is not parsed yet).")
        planned = backfills.plan(sess, dag, data, request, now)
        if args.dry_run:
            for moment in planned:
                print(moment.isoformat())
            print(f"{len(planned)} logical dates to run.")
            return
        backfill_id = backfills.create(sess, dag, data, request, now).id
        paused = dag.is_paused
    print(f"Backfill {backfill_id} of DAG {args.dag_id} created: {len(planned)} runs to go, "
          f"at most {args.max_active_runs} at once.", flush=True)
    if paused:
        print(f"DAG {args.dag_id} is paused: its runs start once it is unpaused.", flush=True)
    if args.wait:
        raise SystemExit(_follow(backfill_id, len(planned), args.poll_interval))


def _follow(backfill_id: int, planned: int, poll_interval: float) -> int:
    """Print each run of the backfill that finishes and, once it completes, a summary; the exit
    code: 0 when every run succeeded."""
    from sqlalchemy import select

    from windsock.db.engine import session
    from windsock.db.models import Backfill, DagRun
    from windsock.runs.states import FINISHED_RUN_STATES

    started = time.monotonic()
    reported: set[str] = set()
    outcomes = {"success": 0, "failed": 0}
    while True:
        with session() as sess:
            completed = sess.scalar(select(Backfill.completed_at)
                                    .where(Backfill.id == backfill_id))
            finished = sess.scalars(select(DagRun).where(
                DagRun.backfill_id == backfill_id, DagRun.state.in_(FINISHED_RUN_STATES))
                .order_by(DagRun.end_date, DagRun.id)).all()
        for run in finished:
            if run.run_id in reported:
                continue
            reported.add(run.run_id)
            outcomes[run.state] += 1
            took = (run.end_date - run.start_date).total_seconds() if run.start_date else 0.0
            print(f"[{time.monotonic() - started:8.1f} s] {run.logical_date.isoformat()} "
                  f"{run.state} in {took:.1f} s ({len(reported)} of {planned} done)", flush=True)
        if completed is not None:
            break
        time.sleep(poll_interval)
    print(f"Backfill {backfill_id} completed in {time.monotonic() - started:.1f} s: "
          f"{outcomes['success']} runs succeeded, {outcomes['failed']} failed.", flush=True)
    return 1 if outcomes["failed"] else 0
