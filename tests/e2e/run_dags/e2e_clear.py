"""A task that fails on its first try and succeeds once cleared (it leaves a marker file, named
by the `marker` param, on its first try), and a downstream task that prints what it got."""

from datetime import datetime, timezone
from pathlib import Path

from windsock import DAG, task

with DAG("e2e_clear", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
         tags=["e2e-runs"], params={"marker": ""}) as dag:

    @task
    def fails_once(params=None):
        marker = Path(params["marker"])
        if not marker.exists():
            marker.write_text("tried once\n")
            raise RuntimeError("the first try fails")
        return {"try": "second", "ok": True}

    @task
    def downstream(value):
        print(f"downstream received {value!r}")
        return value

    downstream(fails_once())
