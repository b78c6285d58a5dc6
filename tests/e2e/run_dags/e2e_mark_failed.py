"""A long task (it writes its process id to the file its param names), and one after it."""

import os
import time
from datetime import datetime, timezone
from pathlib import Path

from windsock import DAG, task

with DAG("e2e_mark_failed", schedule=None,
         start_date=datetime(2026, 1, 1, tzinfo=timezone.utc), tags=["e2e-runs"],
         params={"pid_file": ""}) as dag:

    @task
    def sleeps(params=None):
        Path(params["pid_file"]).write_text(str(os.getpid()))
        print("sleeping for five minutes", flush=True)
        time.sleep(300)

    @task
    def after():
        print("this must not run")

    sleeps() >> after()
