"""A task on the queue `held`, which no test worker takes until the test tells one to: its
message waits in the broker meanwhile (across a broker restart, or until the test loses it)."""

from datetime import datetime, timezone

from windsock import DAG, ShellTask

with DAG("celery_held", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
         tags=["e2e-celery"]) as dag:
    ShellTask("held", "echo released", queue="held")
