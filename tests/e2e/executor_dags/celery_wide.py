"""Twelve independent shell tasks, for two schedulers at once to hand over to the workers."""

from datetime import datetime, timezone

from windsock import DAG, ShellTask

with DAG("celery_wide", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
         tags=["e2e-celery"]) as dag:
    for number in range(12):
        ShellTask(f"t{number:02d}", f"echo wide {number}")
