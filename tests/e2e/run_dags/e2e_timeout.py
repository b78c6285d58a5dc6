"""Tasks that run past their execution_timeout: a Python one and a shell one. Each writes the
id of the process doing the work to the file its param names, so a test can check it is gone."""

import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from windsock import DAG, ShellTask, task

with DAG("e2e_timeout", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
         tags=["e2e-runs"], params={"python_pid_file": "", "shell_pid_file": ""}) as dag:

    @task(execution_timeout=timedelta(seconds=2))
    def python_sleeps(params=None):
        Path(params["python_pid_file"]).write_text(str(os.getpid()))
        print("sleeping for two minutes", flush=True)
        time.sleep(120)

    python_sleeps()
    ShellTask("shell_sleeps", 'echo $$ > "$WINDSOCK_PARAM_SHELL_PID_FILE"; exec sleep 120',
              execution_timeout=timedelta(seconds=2))
