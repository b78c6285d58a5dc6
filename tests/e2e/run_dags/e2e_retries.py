"""A task that always fails: retried twice, a second apart, then failed; its downstream never
runs."""

from datetime import datetime, timedelta, timezone

from windsock import DAG, task

with DAG("e2e_retries", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
         tags=["e2e-runs"]) as dag:

    @task(retries=2, retry_delay=timedelta(seconds=1))
    def always_fails():
        print("about to fail")
        raise RuntimeError("this task always fails")

    @task
    def never_runs():
        print("this must not run")

    always_fails() >> never_runs()
