"""One shell task on each test worker's own queue (`a`: the worker 127.0.0.2, `b`: 127.0.0.3),
then a Python task on the shared `default` queue that prints what its upstreams returned."""

from datetime import datetime, timezone

from windsock import DAG, ShellTask, task

with DAG("celery_queues", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
         tags=["e2e-celery"]) as dag:

    @task
    def report():
        print("both queues done")
        return "reported"

    [ShellTask("on_a", "echo ran on queue a", queue="a"),
     ShellTask("on_b", "echo ran on queue b", queue="b")] >> report()
