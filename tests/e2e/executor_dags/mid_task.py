"""A task for the fault tests to kill or stop mid-task, then `after`.

The first try of `work` starts a grandchild that ignores SIGTERM (`sh` running `sleep`, for
the `seconds` param), writes its own pid and the grandchild's to the file the `marker` param
names, and waits for the grandchild. A later try finds the file and ends at once.
"""

import os
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

from windsock import DAG, ShellTask, task

with DAG("mid_task", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
         tags=["e2e-executors"], params={"marker": "", "seconds": 300}) as dag:

    @task(retries=1, retry_delay=timedelta(seconds=1))
    def work(params=None):
        marker = Path(params["marker"])
        if marker.exists():
            print("a later try: done")
            return "later"
        grandchild = subprocess.Popen(["sh", "-c", f"trap '' TERM; sleep {params['seconds']}"])
        marker.write_text(f"{os.getpid()} {grandchild.pid}")
        print("first try: working", flush=True)
        grandchild.wait()
        print("first try: done")
        return "first"

    work() >> ShellTask("after", "echo after")
